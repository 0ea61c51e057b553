//! A throwaway Dovecot IMAP server for the IMAP tests: its own config, users, maildirs and
//! loopback port in a temp dir, killed on drop. Plain text unless started with a certificate
//! ([`Dovecot::start_tls`]). Fails loudly when Dovecot is missing.

use super::support::free_port;
use futures::TryStreamExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub const USER: &str = "support@switchboard.example";
pub const PASSWORD: &str = "imap secret";

pub struct Dovecot {
    child: Child,
    pub port: u16,
    /// The implicit-TLS (IMAPS) listener; 0 without TLS.
    pub imaps_port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

const BINARY: &str = "/usr/sbin/dovecot";

impl Dovecot {
    pub async fn start() -> Dovecot {
        Dovecot::start_with(None).await
    }

    /// With TLS (`ssl = required`): STARTTLS on [`Dovecot::port`], implicit TLS on
    /// [`Dovecot::imaps_port`], serving the PEM certificate chain and key at the given paths.
    /// (Dovecot counts loopback connections as secure, so plain logins still work.)
    pub async fn start_tls(cert: &Path, key: &Path) -> Dovecot {
        Dovecot::start_with(Some((cert, key))).await
    }

    async fn start_with(tls: Option<(&Path, &Path)>) -> Dovecot {
        assert!(
            Path::new(BINARY).exists(),
            "Dovecot is not installed: install dovecot-imapd (apt-get install -y dovecot-imapd)"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        // Who runs the mail processes: ourselves, unless we are root (Dovecot refuses uid 0
        // for mail and for login processes), then `nobody`.
        let probe = d.join("probe");
        std::fs::write(&probe, b"").unwrap();
        let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&probe).unwrap());
        let me_gid = std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&probe).unwrap());
        let (internal, login, uid, gid) = if me == 0 {
            ("root".to_string(), "nobody".to_string(), 65534, 65534)
        } else {
            let name = std::env::var("USER").expect("USER is set");
            (name.clone(), name, me, me_gid)
        };
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(d.join("mail"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let port = free_port();
        let (ssl, imaps_port, imaps) = match tls {
            Some((cert, key)) => {
                let imaps_port = free_port();
                (
                    format!(
                        "ssl = required\nssl_cert = <{}\nssl_key = <{}\n",
                        cert.display(),
                        key.display()
                    ),
                    imaps_port,
                    format!("address = 127.0.0.1\n    port = {imaps_port}\n    ssl = yes"),
                )
            }
            None => ("ssl = no\n".to_string(), 0, "port = 0".to_string()),
        };
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n{ssl}disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\ndefault_internal_user = {internal}\n\
             default_internal_group = {internal}\ndefault_login_user = {login}\n\
             first_valid_uid = 0\nmail_location = maildir:{d}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/mail/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
               inet_listener imaps {{\n    {imaps}\n  }}\n}}\n",
            d = d.display()
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(BINARY)
            .arg("-F")
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("dovecot starts");
        let dovecot = Dovecot {
            child,
            port,
            imaps_port,
            dir,
        };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return dovecot;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log =
            std::fs::read_to_string(dovecot.dir.path().join("dovecot.log")).unwrap_or_default();
        panic!("Dovecot did not start listening on {port}: {log}");
    }

    async fn session(&self) -> async_imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        let mut s = client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        s.select("INBOX").await.unwrap();
        s
    }

    /// Deliver messages into the INBOX over IMAP APPEND.
    pub async fn deliver(&self, messages: &[Vec<u8>]) {
        let mut s = self.session().await;
        for m in messages {
            s.append("INBOX", None, None, m).await.unwrap();
        }
        s.logout().await.unwrap();
    }

    /// (uid, seen) for every message in the INBOX.
    pub async fn flags(&self) -> Vec<(u32, bool)> {
        let mut s = self.session().await;
        let fetches: Vec<_> = s
            .uid_fetch("1:*", "(UID FLAGS)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        // A flag change made meanwhile by another session (the server's worker) may come as an
        // unsolicited FETCH, without a UID or as a second answer for one: one entry per UID,
        // the latest.
        let out: std::collections::BTreeMap<u32, bool> = fetches
            .iter()
            .filter_map(|f| {
                let seen = f.flags().any(|fl| fl == async_imap::types::Flag::Seen);
                Some((f.uid?, seen))
            })
            .collect();
        s.logout().await.unwrap();
        out.into_iter().collect()
    }

    /// Mark the messages of `set` (UIDs) unread, as a person in a mail client would.
    pub async fn mark_unread(&self, set: &str) {
        let mut s = self.session().await;
        let _: Vec<_> = s
            .uid_store(set, "-FLAGS.SILENT (\\Seen)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        s.logout().await.unwrap();
    }
}

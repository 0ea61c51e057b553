//! TLS for real: a throwaway CA (made with rcgen at test time) signs a certificate for
//! `localhost`/127.0.0.1. Dovecot serves IMAPS, and STARTTLS on its plain port; aiosmtpd serves
//! SMTPS, or requires STARTTLS before `MAIL`. That the handshakes really happen shows in the
//! refusals: with the CA unknown, every path fails on the certificate.
//! Trusting the CA through `email.extra_ca_file`, mail comes in and replies go out on all
//! four paths; without it, the same servers are refused and nothing is sent or stored.
//! Transport only, so one storage backend suffices.

use super::dovecot::{self, Dovecot};
use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use switchboard::channels::email::{ImapWorker, OutboxWorker};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_rustls::rustls;

/// A throwaway CA and a server certificate it signed, as PEM files in a temp dir.
pub struct TestPki {
    pub dir: tempfile::TempDir,
    ca_der: Vec<u8>,
}

impl TestPki {
    pub fn new() -> TestPki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let name = format!("Switchboard test CA {}", uuid::Uuid::new_v4().simple());
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let mut leaf =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.use_authority_key_identifier_extension = true;
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), leaf_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), leaf_key.serialize_pem()).unwrap();
        // Dovecot's unprivileged processes read nothing here, but keep the dir traversable.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        TestPki {
            dir,
            ca_der: ca_cert.der().to_vec(),
        }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// A TLS client trusting only this CA (the tests' own IMAP client).
    fn connector(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone().into()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// Deliver messages into the INBOX of a TLS-only Dovecot, over IMAPS.
async fn deliver_tls(server: &Dovecot, pki: &TestPki, messages: &[Vec<u8>]) {
    let tcp = TcpStream::connect(("127.0.0.1", server.imaps_port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = pki.connector().connect(name, tcp).await.unwrap();
    let mut client = async_imap::Client::new(tls);
    client.read_response().await.unwrap().unwrap();
    let mut s = client
        .login(dovecot::USER, dovecot::PASSWORD)
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    for m in messages {
        s.append("INBOX", None, None, m).await.unwrap();
    }
    s.logout().await.unwrap();
}

/// Which TLS an [`SmtpTlsSink`] speaks.
#[derive(Clone, Copy)]
enum SmtpTls {
    /// SMTPS: TLS from the first byte.
    Implicit,
    /// STARTTLS offered and required before `MAIL`.
    StartTls,
}

/// aiosmtpd's own command line with TLS, storing accepted mail in a Maildir.
struct SmtpTlsSink {
    _child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpTlsSink {
    async fn start(pki: &TestPki, mode: SmtpTls) -> SmtpTlsSink {
        let port = free_port();
        let maildir = tempfile::tempdir().unwrap();
        let (cert_flag, key_flag) = match mode {
            SmtpTls::Implicit => ("--smtpscert", "--smtpskey"),
            SmtpTls::StartTls => ("--tlscert", "--tlskey"),
        };
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(cert_flag)
            .arg(pki.cert())
            .arg(key_flag)
            .arg(pki.key())
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 must be installed to run the SMTP tests");
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return SmtpTlsSink {
                    _child: child,
                    port,
                    maildir,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "aiosmtpd with TLS did not listen on {port} (install aiosmtpd: `pip install aiosmtpd`)"
        );
    }

    fn received(&self) -> Vec<String> {
        let new = self.maildir.path().join("box/new");
        let Ok(dir) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        dir.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }
}

async fn spawn(pki: Option<&TestPki>) -> TestApp {
    let ca = pki.map(|p| p.ca().display().to_string());
    spawn_app_with(Backend::Sqlite, move |s| {
        // The tests drive the IMAP worker themselves.
        s.email.imap_poll_secs = 0;
        if let Some(ca) = ca {
            s.email.extra_ca_file = ca;
        }
    })
    .await
}

async fn set_mailbox(app: &TestApp, id: &str, body: serde_json::Value) {
    let (s, m) = app
        .patch(
            &format!("/api/v1/channels/email/mailboxes/{id}"),
            &app.admin_token,
            body,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
}

fn customer_mail(n: u32) -> Vec<u8> {
    eml(
        &[
            &format!("From: Customer {n} <customer{n}@example.com>"),
            "To: support@switchboard.example",
            &format!("Subject: Over TLS {n}"),
            &format!("Message-ID: <tls-{n}@example.com>"),
        ],
        &format!("Message number {n} travelled encrypted."),
    )
}

/// Run the outbox until the newest row of `conv_id` is no longer pending; its status and error.
async fn send(app: &TestApp, conv_id: &str) -> (String, Option<String>) {
    for _ in 0..100 {
        OutboxWorker::new(app.state.clone())
            .run_once()
            .await
            .unwrap();
        let rows = outbox(app, conv_id).await;
        let last = rows.last().expect("an outbox row");
        if last.1 != "pending" || last.2 > 0 {
            return (last.1.clone(), last.4.clone());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the reply was never attempted");
}

async fn reply(app: &TestApp, conv_id: &str, body: &str) {
    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{conv_id}/messages"),
            &app.admin_token,
            json!({"body": body}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
}

async fn mail_is_fetched_over_imaps_and_over_starttls() {
    let pki = TestPki::new();
    let server = Dovecot::start_tls(&pki.cert(), &pki.key()).await;
    let app = spawn(Some(&pki)).await;
    let mb = mailbox(
        &app,
        json!({"imap_host": "localhost", "imap_port": server.imaps_port, "imap_tls": "tls",
               "imap_user": dovecot::USER, "imap_password": dovecot::PASSWORD}),
    )
    .await;
    let worker = ImapWorker::new(app.state.clone());
    deliver_tls(&server, &pki, &[customer_mail(1)]).await;
    let report = worker.run_once(&mb).await.unwrap();
    assert_eq!((report.fetched, report.stored), (1, 1), "IMAPS: {report:?}");
    // STARTTLS on the plain port.
    set_mailbox(
        &app,
        &mb,
        json!({"imap_tls": "starttls", "imap_port": server.port,
               "imap_password": dovecot::PASSWORD}),
    )
    .await;
    deliver_tls(&server, &pki, &[customer_mail(2)]).await;
    let report = worker.run_once(&mb).await.unwrap();
    assert_eq!(
        (report.fetched, report.stored),
        (1, 1),
        "STARTTLS: {report:?}"
    );
    let (_, list) = app
        .get("/api/v1/conversations?channel=email", &app.admin_token)
        .await;
    let mut subjects: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Over TLS 1", "Over TLS 2"]);
}

async fn replies_are_sent_over_smtps_and_over_starttls() {
    let pki = TestPki::new();
    let smtps = SmtpTlsSink::start(&pki, SmtpTls::Implicit).await;
    let starttls = SmtpTlsSink::start(&pki, SmtpTls::StartTls).await;
    let app = spawn(Some(&pki)).await;
    let mb = mailbox(
        &app,
        json!({"smtp_host": "localhost", "smtp_port": smtps.port, "smtp_tls": "tls"}),
    )
    .await;
    let out = stored(&app, &customer_mail(1), &format!("?mailbox={mb}")).await;
    let conv_id = out["conversation_id"].as_str().unwrap().to_string();
    reply(&app, &conv_id, "Sent over SMTPS.").await;
    assert_eq!(send(&app, &conv_id).await, ("sent".to_string(), None));
    let got = smtps.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("Sent over SMTPS."), "{}", got[0]);
    assert!(
        got[0].contains("<tls-1@example.com>"),
        "threaded: {}",
        got[0]
    );
    set_mailbox(
        &app,
        &mb,
        json!({"smtp_tls": "starttls", "smtp_port": starttls.port}),
    )
    .await;
    reply(&app, &conv_id, "Sent after STARTTLS.").await;
    assert_eq!(send(&app, &conv_id).await, ("sent".to_string(), None));
    let got = starttls.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("Sent after STARTTLS."), "{}", got[0]);
    assert_eq!(smtps.received().len(), 1);
    // This server requires STARTTLS: without TLS it refuses the mail (5xx, so no retry).
    set_mailbox(&app, &mb, json!({"smtp_tls": "none"})).await;
    reply(&app, &conv_id, "Never sent in clear.").await;
    let (status, error) = send(&app, &conv_id).await;
    assert_eq!(status, "failed", "{error:?}");
    assert!(
        error.as_deref().unwrap_or("").contains("STARTTLS"),
        "{error:?}"
    );
    assert_eq!(starttls.received().len(), 1);
}

async fn certificates_from_an_unknown_ca_are_refused_on_every_path() {
    let pki = TestPki::new();
    let server = Dovecot::start_tls(&pki.cert(), &pki.key()).await;
    let smtps = SmtpTlsSink::start(&pki, SmtpTls::Implicit).await;
    let starttls = SmtpTlsSink::start(&pki, SmtpTls::StartTls).await;
    // Trusting another CA (a valid bundle, just not the signer) is the same as trusting none.
    let other = TestPki::new();
    let app = spawn(Some(&other)).await;
    let mb = mailbox(
        &app,
        json!({"imap_host": "localhost", "imap_port": server.imaps_port, "imap_tls": "tls",
               "imap_user": dovecot::USER, "imap_password": dovecot::PASSWORD,
               "smtp_host": "localhost", "smtp_port": smtps.port, "smtp_tls": "tls"}),
    )
    .await;
    deliver_tls(&server, &pki, &[customer_mail(1)]).await;
    let worker = ImapWorker::new(app.state.clone());
    for (tls, port) in [("tls", server.imaps_port), ("starttls", server.port)] {
        let body = json!({"imap_tls": tls, "imap_port": port, "imap_password": dovecot::PASSWORD});
        set_mailbox(&app, &mb, body).await;
        let err = format!("{:#}", worker.run_once(&mb).await.unwrap_err());
        assert!(err.contains("TLS handshake"), "{tls}: {err}");
        assert!(
            err.contains("invalid peer certificate: UnknownIssuer"),
            "{tls}: {err}"
        );
    }
    let out = stored(&app, &customer_mail(2), &format!("?mailbox={mb}")).await;
    let conv_id = out["conversation_id"].as_str().unwrap().to_string();
    for (tls, port) in [("tls", smtps.port), ("starttls", starttls.port)] {
        set_mailbox(&app, &mb, json!({"smtp_tls": tls, "smtp_port": port})).await;
        reply(&app, &conv_id, "Must not leave.").await;
        let (status, error) = send(&app, &conv_id).await;
        // A bad certificate may be fixed later: retried, not failed.
        assert_eq!(status, "pending", "{tls}: {error:?}");
        let error = error.unwrap_or_default();
        assert!(error.contains("UnknownIssuer"), "{tls}: {error}");
    }
    assert!(smtps.received().is_empty());
    assert!(starttls.received().is_empty());
    let (_, list) = app
        .get("/api/v1/conversations?channel=email", &app.admin_token)
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the pushed one"
    );
}

async fn an_unreadable_ca_bundle_fails_tls_connections_loudly() {
    let pki = TestPki::new();
    let server = Dovecot::start_tls(&pki.cert(), &pki.key()).await;
    let missing = pki.dir.path().join("missing.pem");
    let path = missing.display().to_string();
    let app = spawn_app_with(Backend::Sqlite, move |s| {
        s.email.imap_poll_secs = 0;
        s.email.extra_ca_file = path;
    })
    .await;
    let mb = mailbox(
        &app,
        json!({"imap_host": "localhost", "imap_port": server.imaps_port, "imap_tls": "tls",
               "imap_user": dovecot::USER, "imap_password": dovecot::PASSWORD}),
    )
    .await;
    let err = format!(
        "{:#}",
        ImapWorker::new(app.state.clone())
            .run_once(&mb)
            .await
            .unwrap_err()
    );
    assert!(
        err.contains("extra_ca_file") && err.contains("missing.pem"),
        "{err}"
    );
    // Not a PEM bundle at all.
    std::fs::write(&missing, "not a certificate").unwrap();
    let err = format!(
        "{:#}",
        ImapWorker::new(app.state.clone())
            .run_once(&mb)
            .await
            .unwrap_err()
    );
    assert!(err.contains("no PEM certificate"), "{err}");
    // Replies wait for the bundle to be fixed instead of failing.
    let sink = SmtpTlsSink::start(&pki, SmtpTls::Implicit).await;
    set_mailbox(
        &app,
        &mb,
        json!({"smtp_host": "localhost", "smtp_port": sink.port, "smtp_tls": "tls"}),
    )
    .await;
    let out = stored(&app, &customer_mail(1), &format!("?mailbox={mb}")).await;
    let conv_id = out["conversation_id"].as_str().unwrap().to_string();
    reply(&app, &conv_id, "Waits for the CA bundle.").await;
    let (status, error) = send(&app, &conv_id).await;
    assert_eq!(status, "pending", "{error:?}");
    assert!(error.unwrap_or_default().contains("no PEM certificate"));
    assert!(sink.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_and_imap_starttls_fetch_mail_from_a_server_signed_by_the_extra_ca() {
    mail_is_fetched_over_imaps_and_over_starttls().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtps_and_smtp_starttls_deliver_replies_to_a_server_signed_by_the_extra_ca() {
    replies_are_sent_over_smtps_and_over_starttls().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_server_certificates_are_refused_for_imap_and_smtp() {
    certificates_from_an_unknown_ca_are_refused_on_every_path().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_invalid_extra_ca_file_is_reported() {
    an_unreadable_ca_bundle_fails_tls_connections_loudly().await
}

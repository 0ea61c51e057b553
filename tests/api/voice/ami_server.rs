//! A scripted Asterisk Manager Interface server: it speaks the real protocol (banner, `Login`
//! answered `Success` or `Error` by its secret, `Ping`, `Originate`, `Logoff`), remembers every
//! action it received, and sends what a test tells it to the logged-in event sessions —
//! usually event blocks read from `tests/fixtures/ami/`, written out from Asterisk's documented
//! event layouts.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_ami::{Decoder, Frame, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::rustls;

pub const BANNER: &str = "Asterisk Call Manager/5.0.3\r\n";

enum Cmd {
    Send(String),
    Close,
}

#[derive(Default)]
struct Inner {
    actions: Vec<Message>,
    logins_ok: usize,
    logins_failed: usize,
    sessions: Vec<mpsc::UnboundedSender<Cmd>>,
    /// What `DeviceStateList` reports: (device, state).
    devices: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct AmiServer {
    pub port: u16,
    secret: String,
    inner: Arc<Mutex<Inner>>,
}

/// The event blocks of a fixture, each ending with its blank line, in `\r\n` form.
pub fn blocks(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ami")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty() && !b.starts_with('#'))
        .map(|b| {
            let lines: Vec<&str> = b.lines().filter(|l| !l.starts_with('#')).collect();
            format!("{}\r\n\r\n", lines.join("\r\n"))
        })
        .collect()
}

/// Blocks of `all` whose `Event:` is `event`, the first of them and everything before it.
pub fn until(all: &[String], event: &str, nth: usize) -> (Vec<String>, Vec<String>) {
    let mut seen = 0;
    for (i, b) in all.iter().enumerate() {
        if b.starts_with(&format!("Event: {event}\r\n")) {
            seen += 1;
            if seen == nth {
                return (all[..=i].to_vec(), all[i + 1..].to_vec());
            }
        }
    }
    panic!("no {event} #{nth} in the fixture");
}

impl AmiServer {
    pub async fn start(secret: &str) -> AmiServer {
        Self::listen(secret, None).await
    }

    /// Over TLS (`amis://`), with the certificate and key of `pki`.
    pub async fn start_tls(secret: &str, pki: &crate::email::tls::TestPki) -> AmiServer {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(pki.cert())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(pki.key()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        Self::listen(
            secret,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    async fn listen(secret: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> AmiServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = AmiServer {
            port: listener.local_addr().unwrap().port(),
            secret: secret.to_string(),
            inner: Arc::default(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                match &tls {
                    None => drop(tokio::spawn(s.clone().session(sock))),
                    Some(acceptor) => {
                        let (s, acceptor) = (s.clone(), acceptor.clone());
                        tokio::spawn(async move {
                            // A client that does not trust the certificate ends here.
                            if let Ok(tls) = acceptor.accept(sock).await {
                                s.session(tls).await;
                            }
                        });
                    }
                }
            }
        });
        server
    }

    /// `ami://crm:<secret>@127.0.0.1:<port>`.
    pub fn url(&self, secret: &str) -> String {
        format!("ami://crm:{secret}@127.0.0.1:{}", self.port)
    }

    /// `amis://crm:<secret>@localhost:<port>` (the certificate names localhost).
    pub fn tls_url(&self, secret: &str) -> String {
        format!("amis://crm:{secret}@localhost:{}", self.port)
    }

    async fn session<S: AsyncRead + AsyncWrite + Unpin>(self, mut sock: S) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        sock.write_all(BANNER.as_bytes()).await.unwrap();
        let mut decoder = Decoder::new();
        // The decoder reads what a client reads: a banner first.
        decoder.push(BANNER.as_bytes());
        let _ = decoder.next_frame();
        let mut buf = [0u8; 4096];
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Send(text)) => {
                        if sock.write_all(text.as_bytes()).await.is_err() { return; }
                    }
                    Some(Cmd::Close) | None => return,
                },
                n = sock.read(&mut buf) => {
                    let Ok(n) = n else { return };
                    if n == 0 { return; }
                    decoder.push(&buf[..n]);
                    while let Ok(Some(Frame::Message(action))) = decoder.next_frame() {
                        if !self.answer(&mut sock, &action, &tx).await { return; }
                    }
                }
            }
        }
    }

    /// Answer one action; false closes the session.
    async fn answer<S: AsyncWrite + Unpin>(
        &self,
        sock: &mut S,
        action: &Message,
        tx: &mpsc::UnboundedSender<Cmd>,
    ) -> bool {
        let id = action.get("ActionID").unwrap_or("").to_string();
        let name = action.get("Action").unwrap_or("").to_ascii_lowercase();
        self.inner.lock().unwrap().actions.push(action.clone());
        let (reply, keep) = match name.as_str() {
            "login"
                if action.get("Secret") == Some(self.secret.as_str())
                    && action.get("Username") == Some("crm") =>
            {
                let mut inner = self.inner.lock().unwrap();
                inner.logins_ok += 1;
                if action.get("Events").is_none_or(|e| e != "off") {
                    inner.sessions.push(tx.clone());
                }
                (
                    "Response: Success\r\nMessage: Authentication accepted".to_string(),
                    true,
                )
            }
            "login" => {
                self.inner.lock().unwrap().logins_failed += 1;
                (
                    "Response: Error\r\nMessage: Authentication failed".to_string(),
                    false,
                )
            }
            "devicestatelist" => {
                let devices = self.inner.lock().unwrap().devices.clone();
                let mut list = String::new();
                for (device, state) in &devices {
                    list.push_str(&format!(
                        "Event: DeviceStateChange\r\nActionID: {id}\r\nEventList: \r\nDevice: {device}\r\nState: {state}\r\n\r\n"
                    ));
                }
                list.push_str(&format!(
                    "Event: DeviceStateListComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n",
                    devices.len()
                ));
                let head = format!(
                    "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Device State Changes will follow\r\n\r\n"
                );
                let _ = sock.write_all((head + &list).as_bytes()).await;
                return true;
            }
            "ping" => (
                "Response: Success\r\nPing: Pong\r\nTimestamp: 1740812400.000000".to_string(),
                true,
            ),
            "originate" => (
                "Response: Success\r\nMessage: Originate successfully queued".to_string(),
                true,
            ),
            "logoff" => (
                "Response: Goodbye\r\nMessage: Thanks for all the fish.".to_string(),
                false,
            ),
            _ => (
                "Response: Error\r\nMessage: Invalid/unknown command".to_string(),
                true,
            ),
        };
        // As Asterisk writes it: the Response line, then the ActionID, then the rest.
        let (first, rest) = reply.split_once("\r\n").unwrap_or((&reply, ""));
        let text = format!("{first}\r\nActionID: {id}\r\n{rest}\r\n\r\n");
        let _ = sock.write_all(text.as_bytes()).await;
        keep
    }

    fn live(&self) -> Vec<mpsc::UnboundedSender<Cmd>> {
        let mut inner = self.inner.lock().unwrap();
        inner.sessions.retain(|s| !s.is_closed());
        inner.sessions.clone()
    }

    /// Logged-in event sessions still open.
    pub fn sessions(&self) -> usize {
        self.live().len()
    }

    /// Successful and refused logins so far.
    pub fn logins(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap();
        (inner.logins_ok, inner.logins_failed)
    }

    /// Every action received named `name`.
    pub fn actions(&self, name: &str) -> Vec<Message> {
        let inner = self.inner.lock().unwrap();
        inner
            .actions
            .iter()
            .filter(|a| {
                a.get("Action")
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .cloned()
            .collect()
    }

    /// Send raw text to every event session.
    pub fn send(&self, text: &str) {
        for s in self.live() {
            let _ = s.send(Cmd::Send(text.to_string()));
        }
    }

    /// Send blocks to every event session.
    pub fn send_all(&self, blocks: &[String]) {
        self.send(&blocks.concat());
    }

    /// What `DeviceStateList` answers from now on.
    pub fn set_devices(&self, devices: &[(&str, &str)]) {
        self.inner.lock().unwrap().devices = devices
            .iter()
            .map(|(d, s)| (d.to_string(), s.to_string()))
            .collect();
    }

    /// Close every event session (the PBX restarting, a network cut).
    pub fn drop_sessions(&self) {
        let mut inner = self.inner.lock().unwrap();
        for s in inner.sessions.drain(..) {
            let _ = s.send(Cmd::Close);
        }
    }

    /// Wait until `pred` holds (10 s at most).
    pub async fn wait(&self, what: &str, pred: impl Fn(&AmiServer) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !pred(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited 10 s for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait for `n` logged-in event sessions.
    pub async fn wait_sessions(&self, n: usize) {
        self.wait(&format!("{n} AMI session(s)"), |s| s.sessions() == n)
            .await;
    }
}

//! One AMI connection: TCP or TLS (`amis://`), the banner, `Login`, actions correlated with
//! their responses by `ActionID`, and the events in between.

use anyhow::{anyhow, Context};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use switchboard_ami::{Action, AmiUrl, Decoder, Frame, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Longest wait for the connection, the banner or a response.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A byte stream AMI runs over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Why a connection ended or could not start.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The PBX refused the user or secret (its `Message`).
    #[error("the PBX refused the AMI login: {0}")]
    Refused(String),
    /// Anything else: unreachable, TLS, protocol, closed.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A logged-in AMI session.
pub struct Connection {
    stream: Box<dyn Stream>,
    decoder: Decoder,
    /// Events read while waiting for a response.
    pending: VecDeque<Message>,
    next_id: u64,
    /// The banner, e.g. `Asterisk Call Manager/5.0.1`.
    pub banner: String,
}

impl Connection {
    /// Connect, read the banner and log in (with events on or off).
    pub async fn open(
        url: &AmiUrl,
        extra_roots: &[CertificateDer<'static>],
        events: bool,
    ) -> Result<Connection, LinkError> {
        let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect((url.host.as_str(), url.port)))
            .await
            .map_err(|_| anyhow!("connecting to {}:{} timed out", url.host, url.port))?
            .with_context(|| format!("connecting to {}:{}", url.host, url.port))?;
        let stream: Box<dyn Stream> = if url.tls {
            tls(tcp, &url.host, extra_roots).await?
        } else {
            Box::new(tcp)
        };
        let mut conn = Connection {
            stream,
            decoder: Decoder::new(),
            pending: VecDeque::new(),
            next_id: 0,
            banner: String::new(),
        };
        match tokio::time::timeout(TIMEOUT, conn.read_frame()).await {
            Ok(Ok(Frame::Banner(b))) => conn.banner = b,
            Ok(Ok(Frame::Message(_))) => return Err(anyhow!("the PBX sent no banner").into()),
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(anyhow!("no AMI banner within {TIMEOUT:?}").into()),
        }
        let login = Action::new("Login")
            .field("Username", &url.user)
            .and_then(|a| a.field("Secret", &url.secret))
            // Only the call and queue (agent) classes: not the dialplan's torrent of Newexten
            // and VarSet events.
            .and_then(|a| a.field("Events", if events { "call,agent" } else { "off" }))
            .map_err(|e| anyhow!(e))?;
        let answer = conn.request(&login).await?;
        if !answer.is_success() {
            let why = answer.get("Message").unwrap_or("Authentication failed");
            return Err(LinkError::Refused(why.to_string()));
        }
        Ok(conn)
    }

    async fn read_frame(&mut self) -> anyhow::Result<Frame> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(frame);
            }
            let n = self
                .stream
                .read(&mut buf)
                .await
                .context("reading from the PBX")?;
            if n == 0 {
                return Err(anyhow!("the PBX closed the AMI connection"));
            }
            self.decoder.push(&buf[..n]);
        }
    }

    /// The next message (event or unsolicited response); waits as long as it takes.
    pub async fn next_message(&mut self) -> anyhow::Result<Message> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(m);
        }
        loop {
            if let Frame::Message(m) = self.read_frame().await? {
                return Ok(m);
            }
        }
    }

    /// Send `action` and wait for its response; events read meanwhile are kept for
    /// [`Self::next_message`].
    pub async fn request(&mut self, action: &Action) -> anyhow::Result<Message> {
        self.next_id += 1;
        let id = format!("sb-{}", self.next_id);
        let text = action.encode(&id);
        let work = async {
            self.stream
                .write_all(text.as_bytes())
                .await
                .context("writing to the PBX")?;
            self.stream.flush().await.context("writing to the PBX")?;
            loop {
                let Frame::Message(m) = self.read_frame().await? else {
                    continue;
                };
                if m.response().is_some() && m.action_id() == Some(id.as_str()) {
                    return Ok(m);
                }
                if m.event().is_some() {
                    self.pending.push_back(m);
                }
            }
        };
        tokio::time::timeout(TIMEOUT, work).await.map_err(|_| {
            anyhow!(
                "no answer to the AMI {} action within {TIMEOUT:?}",
                action.name()
            )
        })?
    }

    /// Say goodbye (best effort).
    pub async fn logoff(mut self) {
        let _ = self.request(&Action::new("Logoff")).await;
    }
}

async fn tls(
    tcp: TcpStream,
    host: &str,
    extra: &[CertificateDer<'static>],
) -> anyhow::Result<Box<dyn Stream>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra {
        roots
            .add(cert.clone())
            .context("an extra CA certificate cannot be a trust root")?;
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| anyhow!("`{host}` is not a valid TLS server name"))?;
    let stream = tokio::time::timeout(
        TIMEOUT,
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .map_err(|_| anyhow!("TLS handshake with {host} timed out"))?
    .with_context(|| format!("TLS handshake with {host}"))?;
    Ok(Box::new(stream))
}

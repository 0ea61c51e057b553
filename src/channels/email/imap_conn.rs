//! Opening an authenticated IMAP session for a mailbox: plain TCP, implicit TLS (IMAPS) or
//! STARTTLS, with certificates checked against the Mozilla root store (`webpki-roots`) and the
//! extra roots of `email.extra_ca_file` (see [`super::tls`]).

use super::mailboxes::Mailbox;
use crate::settings::EmailSettings;
use anyhow::{anyhow, Context};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Any byte stream an IMAP session can run over.
pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapStream for T {}

/// An IMAP session over plain TCP or TLS.
pub type Session = async_imap::Session<Box<dyn ImapStream>>;

/// Connect, secure (per `imap_tls`), read the greeting and log in.
pub async fn connect(
    settings: &EmailSettings,
    mailbox: &Mailbox,
    password: &str,
) -> anyhow::Result<Session> {
    let host = mailbox
        .imap_host
        .as_deref()
        .ok_or_else(|| anyhow!("the mailbox has no IMAP server configured"))?;
    let tls = mailbox.imap_tls.as_str();
    let default_port = if tls == "tls" { 993 } else { 143 };
    let port = mailbox.imap_port.unwrap_or(default_port) as u16;
    let timeout = super::NETWORK_TIMEOUT;
    let extra = if tls == "none" {
        Vec::new()
    } else {
        super::tls::extra_roots(settings)?
    };
    let work = async {
        let tcp = TcpStream::connect((host, port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        let client = match tls {
            "tls" => {
                let mut c = async_imap::Client::new(wrap(tcp, host, &extra).await?);
                greeting(&mut c).await?;
                c
            }
            "starttls" => {
                let mut plain = async_imap::Client::new(Box::new(tcp) as Box<dyn ImapStream>);
                greeting(&mut plain).await?;
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .context("the server refused STARTTLS")?;
                async_imap::Client::new(wrap(plain.into_inner(), host, &extra).await?)
            }
            _ => {
                let mut c = async_imap::Client::new(Box::new(tcp) as Box<dyn ImapStream>);
                greeting(&mut c).await?;
                c
            }
        };
        let user = mailbox.imap_user.as_deref().unwrap_or(&mailbox.address);
        client
            .login(user, password)
            .await
            .map_err(|(e, _)| anyhow!("IMAP login failed: {e}"))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| anyhow!("IMAP connection to {host}:{port} timed out"))?
}

async fn greeting(client: &mut async_imap::Client<Box<dyn ImapStream>>) -> anyhow::Result<()> {
    client
        .read_response()
        .await
        .context("reading the IMAP greeting")?
        .ok_or_else(|| anyhow!("the IMAP server closed the connection"))?;
    Ok(())
}

async fn wrap<S: ImapStream + 'static>(
    tcp: S,
    host: &str,
    extra: &[CertificateDer<'static>],
) -> anyhow::Result<Box<dyn ImapStream>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra {
        roots
            .add(cert.clone())
            .context("email.extra_ca_file holds a certificate that cannot be a trust root")?;
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| anyhow!("`{host}` is not a valid TLS server name"))?;
    let stream = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS handshake with {host}"))?;
    Ok(Box::new(stream))
}

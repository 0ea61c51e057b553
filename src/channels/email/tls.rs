//! Which certificates the email channel trusts on its TLS connections (IMAPS, IMAP STARTTLS,
//! SMTPS, SMTP STARTTLS): the Mozilla root store (`webpki-roots`), plus the certificates in
//! `email.extra_ca_file` when set (a PEM bundle, e.g. the company CA that signed an internal
//! mail server's certificate). The file is read on every connection, so a replaced bundle
//! applies without a restart; an unreadable or empty bundle fails the connection loudly
//! rather than silently trusting less.

use crate::settings::EmailSettings;
use anyhow::{anyhow, Context};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;

/// The additional trusted roots from `email.extra_ca_file` (none when the setting is empty).
pub fn extra_roots(settings: &EmailSettings) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let path = settings.extra_ca_file.trim();
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let pem = std::fs::read(path).with_context(|| format!("reading email.extra_ca_file {path}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("email.extra_ca_file {path} is not a PEM bundle: {e}"))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "email.extra_ca_file {path} holds no PEM certificate"
        ));
    }
    Ok(certs)
}

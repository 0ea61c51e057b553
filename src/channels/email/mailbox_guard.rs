//! Where a mailbox's stored passwords may go. A password is only ever sent to the server it
//! was entered for: changing a mailbox's IMAP or SMTP host, port or TLS mode without giving
//! the password again is refused (`422 password_required`). And, like webhooks, mailboxes only
//! reach public addresses unless `email.allow_private_hosts` is set (`422 private_host`).

use super::mailboxes::{Mailbox, MailboxInput};
use crate::error::{ApiError, ApiResult};
use crate::webhooks::targets::is_public;
use std::net::IpAddr;
use std::time::Duration;

/// Host, port and TLS mode of one side (IMAP or SMTP).
type Endpoint = (Option<String>, Option<i64>, String);

/// The servers a mailbox's passwords are sent to, before a change is applied.
pub struct Endpoints {
    imap: Endpoint,
    smtp: Endpoint,
}

impl Endpoints {
    pub fn of(m: &Mailbox) -> Self {
        Endpoints {
            imap: (m.imap_host.clone(), m.imap_port, m.imap_tls.clone()),
            smtp: (m.smtp_host.clone(), m.smtp_port, m.smtp_tls.clone()),
        }
    }

    /// `422 password_required` when `m` (changed by `input`) would send a stored password
    /// to another server than the one it was entered for.
    pub fn check_passwords(&self, m: &Mailbox, input: &MailboxInput) -> ApiResult<()> {
        let after = Endpoints::of(m);
        let sides = [
            (
                "imap",
                &self.imap,
                &after.imap,
                &m.imap_password,
                &input.imap_password,
            ),
            (
                "smtp",
                &self.smtp,
                &after.smtp,
                &m.smtp_password,
                &input.smtp_password,
            ),
        ];
        for (side, before, now, stored, given) in sides {
            if before != now && stored.is_some() && given.is_none() {
                return Err(ApiError::invalid(
                    "password_required",
                    format!(
                        "changing the {side} host, port or TLS mode needs `{side}_password` again"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `422 private_host` when a host of `m` is a local or private address, or resolves to one.
pub async fn check_hosts(m: &Mailbox, allow_private: bool) -> ApiResult<()> {
    if allow_private {
        return Ok(());
    }
    for (field, host) in [("imap_host", &m.imap_host), ("smtp_host", &m.smtp_host)] {
        let Some(host) = host else { continue };
        if let Some(why) = refuse(host).await {
            return Err(ApiError::invalid(
                "private_host",
                format!("`{field}` names {why}; mailboxes only reach public addresses"),
            ));
        }
    }
    Ok(())
}

async fn refuse(host: &str) -> Option<&'static str> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return (!is_public(ip)).then_some("a private or local address");
    }
    let d = bare.trim_end_matches('.').to_ascii_lowercase();
    if d == "localhost" || d.ends_with(".localhost") {
        return Some("a local host name");
    }
    // A name resolving inward is refused too; one that does not resolve now is left to the
    // connection attempt (and its error to the mailbox's status).
    let lookup = tokio::net::lookup_host((d.as_str(), 0));
    let Ok(Ok(addrs)) = tokio::time::timeout(Duration::from_secs(3), lookup).await else {
        return None;
    };
    let mut addrs = addrs.peekable();
    addrs.peek()?;
    addrs
        .any(|a| !is_public(a.ip()))
        .then_some("a host resolving to a private address")
}

//! Mailboxes: one support address with its IMAP (fetch) and SMTP (send) accounts.
//!
//! Passwords are write-only through the API: responses only say whether one is set. They are
//! stored encrypted (see [`crate::secrets`]).

use crate::error::{ApiError, ApiResult};
use crate::secrets::SecretBox;
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

/// Transport security modes for IMAP and SMTP.
pub const TLS_MODES: &[&str] = &["none", "starttls", "tls"];

/// A mailbox as stored, secrets included (never serialised).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Mailbox {
    pub id: String,
    pub name: String,
    pub address: String,
    pub imap_host: Option<String>,
    pub imap_port: Option<i64>,
    pub imap_tls: String,
    pub imap_user: Option<String>,
    pub imap_password: Option<String>,
    pub imap_folder: String,
    pub queue_id: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i64>,
    pub smtp_tls: String,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub ack_enabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, name, address, imap_host, imap_port, imap_tls, imap_user, imap_password, \
    imap_folder, queue_id, smtp_host, smtp_port, smtp_tls, smtp_user, smtp_password, ack_enabled, \
    created_at, updated_at";

impl Mailbox {
    /// The IMAP password in clear (empty when none is set).
    pub fn imap_secret(&self, secrets: &SecretBox) -> anyhow::Result<String> {
        match &self.imap_password {
            Some(p) => secrets.open(p),
            None => Ok(String::new()),
        }
    }

    /// The SMTP password in clear, if one is set.
    pub fn smtp_secret(&self, secrets: &SecretBox) -> anyhow::Result<Option<String>> {
        match &self.smtp_password {
            Some(p) => secrets.open(p).map(Some),
            None => Ok(None),
        }
    }

    /// The domain part of the address, for our `Message-ID`s.
    pub fn domain(&self) -> String {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| super::FALLBACK_DOMAIN.to_string())
    }
}

/// Bus event published after a mailbox is created, changed or deleted (`data`: `mailbox_id`,
/// `change`). Every node's IMAP worker reconciles on it at once instead of at its next poll.
pub const MAILBOX_CHANGED: &str = "mailbox.changed";

/// The [`MAILBOX_CHANGED`] event for mailbox `id`; `change` is `created`, `updated` or
/// `deleted`.
pub fn changed_event(id: &str, change: &str) -> crate::bus::Event {
    crate::events::new_event(
        MAILBOX_CHANGED,
        serde_json::json!({ "mailbox_id": id, "change": change }),
    )
}

/// Load one mailbox.
pub async fn load(conn: &mut AnyConnection, id: &str) -> StoreResult<Mailbox> {
    sqlx::query_as(&format!("SELECT {COLS} FROM email_mailboxes WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(StoreError::from_sqlx)?
        .ok_or(StoreError::NotFound)
}

/// Every mailbox, oldest first.
pub async fn load_all(conn: &mut AnyConnection) -> StoreResult<Vec<Mailbox>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM email_mailboxes ORDER BY created_at, id"
    ))
    .fetch_all(conn)
    .await
    .map_err(StoreError::from_sqlx)
}

/// A mailbox as the API shows it: no passwords.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxView {
    pub id: String,
    pub name: String,
    pub address: String,
    pub imap_host: Option<String>,
    pub imap_port: Option<i64>,
    /// `none`, `starttls` or `tls`.
    pub imap_tls: String,
    pub imap_user: Option<String>,
    pub imap_has_password: bool,
    pub imap_folder: String,
    pub queue_id: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i64>,
    pub smtp_tls: String,
    pub smtp_user: Option<String>,
    pub smtp_has_password: bool,
    /// Send an automatic acknowledgement for new conversations.
    pub ack_enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Mailbox> for MailboxView {
    fn from(m: Mailbox) -> Self {
        MailboxView {
            id: m.id,
            name: m.name,
            address: m.address,
            imap_host: m.imap_host,
            imap_port: m.imap_port,
            imap_tls: m.imap_tls,
            imap_user: m.imap_user,
            imap_has_password: m.imap_password.is_some_and(|p| !p.is_empty()),
            imap_folder: m.imap_folder,
            queue_id: m.queue_id,
            smtp_host: m.smtp_host,
            smtp_port: m.smtp_port,
            smtp_tls: m.smtp_tls,
            smtp_user: m.smtp_user,
            smtp_has_password: m.smtp_password.is_some_and(|p| !p.is_empty()),
            ack_enabled: m.ack_enabled == 1,
            created_at: ms_to_rfc3339(m.created_at),
            updated_at: ms_to_rfc3339(m.updated_at),
        }
    }
}

/// Create or change a mailbox; on `PATCH` every field is optional and an empty password
/// clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxInput {
    pub name: Option<String>,
    pub address: Option<String>,
    pub imap_host: Option<String>,
    pub imap_port: Option<i64>,
    pub imap_tls: Option<String>,
    pub imap_user: Option<String>,
    pub imap_password: Option<String>,
    pub imap_folder: Option<String>,
    pub queue_id: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i64>,
    pub smtp_tls: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub ack_enabled: Option<bool>,
}

fn opt_text(field: &'static str, v: &Option<String>, max: usize) -> ApiResult<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => crate::validate::name(field, s, max).map(Some),
    }
}

/// Apply `input` over `m` and check the result.
pub(super) async fn apply(state: &AppState, m: &mut Mailbox, input: MailboxInput) -> ApiResult<()> {
    if let Some(n) = &input.name {
        m.name = crate::validate::name("name", n, 200)?;
    }
    if let Some(a) = &input.address {
        m.address = crate::customers::normalise_identity("email", a, "")?;
    }
    for (field, value, target) in [
        ("imap_tls", &input.imap_tls, &mut m.imap_tls),
        ("smtp_tls", &input.smtp_tls, &mut m.smtp_tls),
    ] {
        if let Some(v) = value {
            if !TLS_MODES.contains(&v.as_str()) {
                return Err(ApiError::invalid(
                    "invalid_field",
                    format!("`{field}` must be none, starttls or tls"),
                ));
            }
            *target = v.clone();
        }
    }
    for (field, value, target) in [
        ("imap_port", input.imap_port, &mut m.imap_port),
        ("smtp_port", input.smtp_port, &mut m.smtp_port),
    ] {
        if let Some(p) = value {
            if !(1..=65535).contains(&p) {
                return Err(ApiError::invalid(
                    "invalid_field",
                    format!("`{field}` must be 1–65535"),
                ));
            }
            *target = Some(p);
        }
    }
    let texts = [
        ("imap_host", &input.imap_host, &mut m.imap_host),
        ("imap_user", &input.imap_user, &mut m.imap_user),
        ("smtp_host", &input.smtp_host, &mut m.smtp_host),
        ("smtp_user", &input.smtp_user, &mut m.smtp_user),
    ];
    for (field, value, target) in texts {
        if value.is_some() {
            *target = opt_text(field, value, 255)?;
        }
    }
    let secret_box = &state.secrets;
    for (value, target) in [
        (&input.imap_password, &mut m.imap_password),
        (&input.smtp_password, &mut m.smtp_password),
    ] {
        if let Some(p) = value {
            if p.chars().count() > 1024 {
                return Err(ApiError::invalid("too_long", "password too long"));
            }
            *target = if p.is_empty() {
                None
            } else {
                Some(secret_box.seal(p).map_err(ApiError::Internal)?)
            };
        }
    }
    if let Some(f) = &input.imap_folder {
        m.imap_folder = crate::validate::name("imap_folder", f, 255)?;
    }
    if let Some(q) = &input.queue_id {
        if q.is_empty() {
            m.queue_id = None;
        } else {
            crate::queues::get(&state.store, q)
                .await
                .map_err(|_| ApiError::NotFound("queue"))?;
            m.queue_id = Some(q.clone());
        }
    }
    if let Some(a) = input.ack_enabled {
        m.ack_enabled = a as i64;
    }
    Ok(())
}

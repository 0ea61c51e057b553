//! Mailboxes: one support address with its IMAP (fetch) and SMTP (send) accounts.
//!
//! Passwords are write-only through the API: responses only say whether one is set. They are
//! stored as given in the database (protect the database like the data directory).

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, new_id, now_ms, StoreError, StoreResult};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    /// The domain part of the address, for our `Message-ID`s.
    pub fn domain(&self) -> String {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| super::FALLBACK_DOMAIN.to_string())
    }
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mailboxes, create_mailbox))
        .routes(routes!(get_mailbox, update_mailbox, delete_mailbox))
}

fn opt_text(field: &'static str, v: &Option<String>, max: usize) -> ApiResult<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => crate::validate::name(field, s, max).map(Some),
    }
}

/// Apply `input` over `m` and check the result.
async fn apply(state: &AppState, m: &mut Mailbox, input: MailboxInput) -> ApiResult<()> {
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
    for (value, target) in [
        (&input.imap_password, &mut m.imap_password),
        (&input.smtp_password, &mut m.smtp_password),
    ] {
        if let Some(p) = value {
            if p.chars().count() > 1024 {
                return Err(ApiError::invalid("too_long", "password too long"));
            }
            *target = (!p.is_empty()).then(|| p.clone());
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

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => {
            ApiError::Conflict("a mailbox with this address already exists".into())
        }
        o => o.into(),
    }
}

/// Mailboxes (admin).
#[utoipa::path(get, path = "/channels/email/mailboxes", tag = "email", responses((status = 200, body = Vec<MailboxView>)))]
async fn list_mailboxes(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<MailboxView>>> {
    caller.require_role(Role::Admin)?;
    let mut conn = state.store.pool().acquire().await?;
    let all = load_all(&mut conn).await?;
    Ok(Json(all.into_iter().map(MailboxView::from).collect()))
}

/// Add a mailbox (admin).
#[utoipa::path(post, path = "/channels/email/mailboxes", tag = "email", request_body = MailboxInput, responses((status = 201, body = MailboxView)))]
async fn create_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<MailboxInput>,
) -> ApiResult<(StatusCode, Json<MailboxView>)> {
    caller.require_role(Role::Admin)?;
    if input.name.is_none() || input.address.is_none() {
        return Err(ApiError::invalid(
            "invalid_field",
            "`name` and `address` are required",
        ));
    }
    let now = now_ms();
    let mut m = Mailbox {
        id: new_id(),
        name: String::new(),
        address: String::new(),
        imap_host: None,
        imap_port: None,
        imap_tls: "tls".into(),
        imap_user: None,
        imap_password: None,
        imap_folder: "INBOX".into(),
        queue_id: None,
        smtp_host: None,
        smtp_port: None,
        smtp_tls: "starttls".into(),
        smtp_user: None,
        smtp_password: None,
        ack_enabled: 0,
        created_at: now,
        updated_at: now,
    };
    apply(&state, &mut m, input).await?;
    let mut tx = state.store.begin().await?;
    save(&mut tx, &m, true).await.map_err(conflict)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

async fn save(tx: &mut crate::store::Tx, m: &Mailbox, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        "INSERT INTO email_mailboxes (name, address, imap_host, imap_port, imap_tls, imap_user, \
           imap_password, imap_folder, queue_id, smtp_host, smtp_port, smtp_tls, smtp_user, \
           smtp_password, ack_enabled, updated_at, id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $16)"
    } else {
        "UPDATE email_mailboxes SET name = $1, address = $2, imap_host = $3, imap_port = $4, \
           imap_tls = $5, imap_user = $6, imap_password = $7, imap_folder = $8, queue_id = $9, \
           smtp_host = $10, smtp_port = $11, smtp_tls = $12, smtp_user = $13, smtp_password = $14, \
           ack_enabled = $15, updated_at = $16 WHERE id = $17"
    };
    sqlx::query(sql)
        .bind(&m.name)
        .bind(&m.address)
        .bind(&m.imap_host)
        .bind(m.imap_port)
        .bind(&m.imap_tls)
        .bind(&m.imap_user)
        .bind(&m.imap_password)
        .bind(&m.imap_folder)
        .bind(&m.queue_id)
        .bind(&m.smtp_host)
        .bind(m.smtp_port)
        .bind(&m.smtp_tls)
        .bind(&m.smtp_user)
        .bind(&m.smtp_password)
        .bind(m.ack_enabled)
        .bind(m.updated_at)
        .bind(&m.id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// One mailbox (admin).
#[utoipa::path(get, path = "/channels/email/mailboxes/{id}", tag = "email", responses((status = 200, body = MailboxView)))]
async fn get_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<MailboxView>> {
    caller.require_role(Role::Admin)?;
    let mut conn = state.store.pool().acquire().await?;
    let m = load(&mut conn, &id)
        .await
        .map_err(|_| ApiError::NotFound("mailbox"))?;
    Ok(Json(m.into()))
}

/// Change a mailbox (admin).
#[utoipa::path(patch, path = "/channels/email/mailboxes/{id}", tag = "email", request_body = MailboxInput, responses((status = 200, body = MailboxView)))]
async fn update_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<MailboxInput>,
) -> ApiResult<Json<MailboxView>> {
    caller.require_role(Role::Admin)?;
    let mut conn = state.store.pool().acquire().await?;
    let mut m = load(&mut conn, &id)
        .await
        .map_err(|_| ApiError::NotFound("mailbox"))?;
    drop(conn);
    let old_folder = m.imap_folder.clone();
    apply(&state, &mut m, input).await?;
    m.updated_at = now_ms();
    let mut tx = state.store.begin().await?;
    save(&mut tx, &m, false).await.map_err(conflict)?;
    if old_folder != m.imap_folder {
        // A different folder has its own UIDs.
        sqlx::query("DELETE FROM email_imap_state WHERE mailbox_id = $1")
            .bind(&id)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(Json(m.into()))
}

/// Remove a mailbox (admin). Stored mail stays.
#[utoipa::path(delete, path = "/channels/email/mailboxes/{id}", tag = "email", responses((status = 204)))]
async fn delete_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Admin)?;
    let mut tx = state.store.begin().await?;
    sqlx::query("DELETE FROM email_imap_state WHERE mailbox_id = $1")
        .bind(&id)
        .execute(tx.conn())
        .await?;
    let done = sqlx::query("DELETE FROM email_mailboxes WHERE id = $1")
        .bind(&id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound("mailbox"));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

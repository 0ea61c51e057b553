//! `/channels/email/mailboxes` routes (admin only). Every change is announced on the bus
//! ([`super::mailboxes::MAILBOX_CHANGED`]) so IMAP workers on all nodes pick it up at once.

use super::mailbox_guard::{check_hosts, Endpoints};
use super::mailboxes::{apply, changed_event, load, load_all, Mailbox, MailboxInput, MailboxView};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms, StoreError, StoreResult};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Mailbox administration routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mailboxes, create_mailbox))
        .routes(routes!(get_mailbox, update_mailbox, delete_mailbox))
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
    check_hosts(&m, state.settings.email.allow_private_hosts).await?;
    let mut tx = state.store.begin().await?;
    save(&mut tx, &m, true).await.map_err(conflict)?;
    tx.commit().await?;
    state.bus.publish(changed_event(&m.id, "created")).await;
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
    let before = Endpoints::of(&m);
    let passwords = MailboxInput {
        imap_password: input.imap_password.clone(),
        smtp_password: input.smtp_password.clone(),
        ..Default::default()
    };
    apply(&state, &mut m, input).await?;
    before.check_passwords(&m, &passwords)?;
    check_hosts(&m, state.settings.email.allow_private_hosts).await?;
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
    state.bus.publish(changed_event(&m.id, "updated")).await;
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
    state.bus.publish(changed_event(&id, "deleted")).await;
    Ok(StatusCode::NO_CONTENT)
}

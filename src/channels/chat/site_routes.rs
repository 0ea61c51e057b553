//! Admin routes for chat sites: list, create, read and change.

use super::sites::{by_id, normalise_origin, BusinessHours, Site, SiteRow, COLS, PRECHAT_FIELDS};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Create or change a site (every field optional on PATCH; `null` clears a nullable one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub queue_id: Option<Option<String>>,
    pub prechat_fields: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<BusinessHours>)]
    pub business_hours: Option<Option<BusinessHours>>,
    /// A business-hours calendar id (`null` clears); when set it decides open/offline.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub business_hours_id: Option<Option<String>>,
    /// Secret for `hello.identity.hash` (HMAC-SHA256 of the user id); write-only.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub identity_secret: Option<Option<String>>,
}

fn apply(site: &mut Site, input: SiteInput) -> ApiResult<()> {
    if let Some(n) = input.name {
        site.name = validate::name("name", &n, 100)?;
    }
    if let Some(list) = input.allowed_origins {
        let mut out = Vec::new();
        for o in list {
            let o = normalise_origin(&o).map_err(|e| ApiError::invalid("invalid_origin", e))?;
            if !out.contains(&o) {
                out.push(o);
            }
        }
        site.allowed_origins = out;
    }
    if let Some(q) = input.queue_id {
        site.queue_id = q;
    }
    if let Some(fields) = input.prechat_fields {
        let mut out: Vec<String> = Vec::new();
        for f in fields {
            if !PRECHAT_FIELDS.contains(&f.as_str()) {
                return Err(ApiError::invalid(
                    "invalid_prechat_field",
                    format!("unknown pre-chat field `{f}` (name, email)"),
                ));
            }
            if !out.contains(&f) {
                out.push(f);
            }
        }
        site.prechat_fields = out;
    }
    if let Some(h) = input.business_hours {
        if let Some(h) = &h {
            h.validate()?;
        }
        site.business_hours = h;
    }
    if let Some(b) = input.business_hours_id {
        site.business_hours_id = b.filter(|b| !b.trim().is_empty());
    }
    if let Some(s) = input.identity_secret {
        if let Some(s) = &s {
            if s.len() < 16 || s.len() > 200 {
                return Err(ApiError::invalid(
                    "invalid_identity_secret",
                    "identity_secret must be 16–200 bytes",
                ));
            }
        }
        site.identity_secret = s;
    }
    Ok(())
}

async fn save(state: &AppState, site: &Site, insert: bool) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    if let Some(q) = &site.queue_id {
        let found: Option<(String,)> = sqlx::query_as("SELECT id FROM queues WHERE id = $1")
            .bind(q)
            .fetch_optional(tx.conn())
            .await?;
        if found.is_none() {
            return Err(ApiError::invalid(
                "invalid_queue",
                "queue_id: no such queue",
            ));
        }
    }
    if let Some(b) = &site.business_hours_id {
        crate::business_hours::require(tx.conn(), b).await?;
    }
    let sql = if insert {
        "INSERT INTO chat_sites (id, name, site_key, allowed_origins, queue_id, prechat_fields, \
           business_hours, identity_secret, created_at, updated_at, business_hours_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)"
    } else {
        "UPDATE chat_sites SET name = $2, site_key = $3, allowed_origins = $4, queue_id = $5, \
           prechat_fields = $6, business_hours = $7, identity_secret = $8, updated_at = $9, \
           business_hours_id = $10 WHERE id = $1"
    };
    // The identity secret is kept sealed like every stored secret (`crate::secrets`).
    let identity_secret = match site.identity_secret.as_deref() {
        Some(s) if !crate::secrets::SecretBox::is_sealed(s) => {
            Some(state.secrets.seal(s).map_err(ApiError::Internal)?)
        }
        other => other.map(str::to_string),
    };
    sqlx::query(sql)
        .bind(&site.id)
        .bind(&site.name)
        .bind(&site.site_key)
        .bind(serde_json::to_string(&site.allowed_origins)?)
        .bind(&site.queue_id)
        .bind(serde_json::to_string(&site.prechat_fields)?)
        .bind(
            site.business_hours
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
        )
        .bind(&identity_secret)
        .bind(now_ms())
        .bind(&site.business_hours_id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn load(state: &AppState, id: &str) -> ApiResult<Site> {
    let mut conn = state.store.pool().acquire().await?;
    by_id(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("site"))
}

/// List chat sites (admin).
#[utoipa::path(get, path = "/channels/chat/sites", tag = "chat", responses((status = 200, body = Vec<Site>)))]
pub async fn list_sites(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<Site>>> {
    caller.require_role(Role::Admin)?;
    let rows: Vec<SiteRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM chat_sites ORDER BY created_at, id"
    ))
    .fetch_all(state.store.pool())
    .await?;
    Ok(Json(rows.into_iter().map(Site::from).collect()))
}

/// Create a chat site (admin); the site key is generated.
#[utoipa::path(post, path = "/channels/chat/sites", tag = "chat", request_body = SiteInput, responses((status = 201, body = Site)))]
pub async fn create_site(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<SiteInput>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    caller.require_role(Role::Admin)?;
    if input.name.is_none() {
        return Err(ApiError::invalid("invalid_field", "`name` is required"));
    }
    let key: [u8; 18] = rand::random();
    let mut site = Site {
        id: new_id(),
        name: String::new(),
        site_key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key),
        allowed_origins: Vec::new(),
        queue_id: None,
        prechat_fields: Vec::new(),
        business_hours: None,
        business_hours_id: None,
        calendar: None,
        identity_verification: false,
        identity_secret: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    apply(&mut site, input)?;
    save(&state, &site, true).await?;
    Ok((StatusCode::CREATED, Json(load(&state, &site.id).await?)))
}

/// One chat site (admin).
#[utoipa::path(get, path = "/channels/chat/sites/{id}", tag = "chat", responses((status = 200, body = Site), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_site(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Site>> {
    caller.require_role(Role::Admin)?;
    Ok(Json(load(&state, &id).await?))
}

/// Change a chat site (admin).
#[utoipa::path(patch, path = "/channels/chat/sites/{id}", tag = "chat", request_body = SiteInput, responses((status = 200, body = Site)))]
pub async fn update_site(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<SiteInput>,
) -> ApiResult<Json<Site>> {
    caller.require_role(Role::Admin)?;
    let mut site = load(&state, &id).await?;
    apply(&mut site, input)?;
    save(&state, &site, false).await?;
    Ok(Json(load(&state, &id).await?))
}

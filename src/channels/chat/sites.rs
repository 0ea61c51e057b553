//! Chat sites: one per website embedding the widget, with its public key, allowed origins,
//! target queue, pre-chat fields, business hours and optional identity-verification secret.

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, new_id, now_ms, StoreError};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

/// Pre-chat fields a site may ask for.
pub const PRECHAT_FIELDS: &[&str] = &["name", "email"];

/// Opening hours in the site's local time: one `[start, end]` range in minutes after midnight
/// per weekday (absent = closed that day).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Local time minus UTC, in minutes (Tehran: 210).
    pub utc_offset_minutes: i32,
    pub mon: Option<[u32; 2]>,
    pub tue: Option<[u32; 2]>,
    pub wed: Option<[u32; 2]>,
    pub thu: Option<[u32; 2]>,
    pub fri: Option<[u32; 2]>,
    pub sat: Option<[u32; 2]>,
    pub sun: Option<[u32; 2]>,
}

impl BusinessHours {
    fn days(&self) -> [Option<[u32; 2]>; 7] {
        [
            self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun,
        ]
    }

    fn validate(&self) -> ApiResult<()> {
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(ApiError::invalid(
                "invalid_business_hours",
                "utc_offset_minutes must be between -720 and 840",
            ));
        }
        if self
            .days()
            .iter()
            .flatten()
            .any(|[s, e]| s >= e || *e > 1440)
        {
            return Err(ApiError::invalid(
                "invalid_business_hours",
                "each day is [start, end] minutes after midnight with start < end <= 1440",
            ));
        }
        Ok(())
    }

    /// Whether the site is open at `now_ms` (Unix milliseconds).
    pub fn is_open(&self, now_ms: i64) -> bool {
        let local = now_ms / 60_000 + self.utc_offset_minutes as i64;
        let minute = local.rem_euclid(1440) as u32;
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let weekday = ((local.div_euclid(1440) + 3).rem_euclid(7)) as usize;
        matches!(self.days()[weekday], Some([s, e]) if minute >= s && minute < e)
    }
}

/// A website that embeds the widget.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Site {
    pub id: String,
    pub name: String,
    /// Public key used in the embed tag (`data-site`).
    pub site_key: String,
    /// Page origins allowed to open the visitor socket (`https://shop.example`); empty = none.
    pub allowed_origins: Vec<String>,
    pub queue_id: Option<String>,
    pub prechat_fields: Vec<String>,
    pub business_hours: Option<BusinessHours>,
    /// True when an identity secret is set (the secret itself is never returned).
    pub identity_verification: bool,
    #[serde(skip)]
    pub identity_secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct SiteRow {
    id: String,
    name: String,
    site_key: String,
    allowed_origins: String,
    queue_id: Option<String>,
    prechat_fields: String,
    business_hours: Option<String>,
    identity_secret: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const COLS: &str =
    "id, name, site_key, allowed_origins, queue_id, prechat_fields, business_hours, \
                    identity_secret, created_at, updated_at";

impl From<SiteRow> for Site {
    fn from(r: SiteRow) -> Self {
        Site {
            id: r.id,
            name: r.name,
            site_key: r.site_key,
            allowed_origins: serde_json::from_str(&r.allowed_origins).unwrap_or_default(),
            queue_id: r.queue_id,
            prechat_fields: serde_json::from_str(&r.prechat_fields).unwrap_or_default(),
            business_hours: r.business_hours.and_then(|b| serde_json::from_str(&b).ok()),
            identity_verification: r.identity_secret.is_some(),
            identity_secret: r.identity_secret,
            created_at: ms_to_rfc3339(r.created_at),
            updated_at: ms_to_rfc3339(r.updated_at),
        }
    }
}

impl Site {
    /// Whether a handshake `Origin` header value is one of the allowed origins.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        let Some(o) = origin.and_then(|o| normalise_origin(o).ok()) else {
            return false;
        };
        self.allowed_origins.iter().any(|a| *a == o)
    }

    /// Open now: inside business hours (if any) and at least one agent is available.
    pub async fn online(&self, conn: &mut AnyConnection) -> Result<bool, StoreError> {
        if let Some(h) = &self.business_hours {
            if !h.is_open(now_ms()) {
                return Ok(false);
            }
        }
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM agents WHERE active = 1 AND presence = 'available'",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(n > 0)
    }
}

/// `scheme://host[:port]`, lower-cased, for `http` and `https` only, without path.
pub fn normalise_origin(s: &str) -> Result<String, String> {
    let t = s.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .ok_or_else(|| format!("`{s}` is not an http(s) origin"))?;
    let ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if ok {
        Ok(t)
    } else {
        Err(format!(
            "`{s}` is not an origin (scheme://host[:port], no path)"
        ))
    }
}

/// Load a site by id.
pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Site>, StoreError> {
    let row: Option<SiteRow> =
        sqlx::query_as(&format!("SELECT {COLS} FROM chat_sites WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.map(Site::from))
}

/// Load a site by its public key.
pub async fn by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<Site>, StoreError> {
    let row: Option<SiteRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM chat_sites WHERE site_key = $1"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.map(Site::from))
}

/// Whether any site allows `origin` (for CORS preflights, which carry no visitor token).
pub async fn any_allows(conn: &mut AnyConnection, origin: &str) -> Result<bool, StoreError> {
    let Ok(o) = normalise_origin(origin) else {
        return Ok(false);
    };
    let rows: Vec<(String,)> = sqlx::query_as("SELECT allowed_origins FROM chat_sites")
        .fetch_all(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows.iter().any(|(a,)| {
        serde_json::from_str::<Vec<String>>(a)
            .unwrap_or_default()
            .contains(&o)
    }))
}

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
    let sql = if insert {
        "INSERT INTO chat_sites (id, name, site_key, allowed_origins, queue_id, prechat_fields, \
           business_hours, identity_secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
    } else {
        "UPDATE chat_sites SET name = $2, site_key = $3, allowed_origins = $4, queue_id = $5, \
           prechat_fields = $6, business_hours = $7, identity_secret = $8, updated_at = $9 WHERE id = $1"
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
        .bind(&site.identity_secret)
        .bind(now_ms())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_hours_follow_the_local_weekday_and_minute() {
        let h = BusinessHours {
            utc_offset_minutes: 210,
            mon: Some([540, 1020]),
            tue: None,
            wed: None,
            thu: None,
            fri: None,
            sat: None,
            sun: None,
        };
        // 2024-01-01 (a Monday) 06:00 UTC = 09:30 Tehran: open.
        let monday_0600 = 1_704_088_800_000;
        assert!(h.is_open(monday_0600));
        // 05:00 UTC = 08:30 Tehran: closed.
        assert!(!h.is_open(monday_0600 - 3_600_000));
        // Tuesday at the same time: closed.
        assert!(!h.is_open(monday_0600 + 86_400_000));
    }

    #[test]
    fn origins_are_normalised_and_paths_refused() {
        assert_eq!(
            normalise_origin("HTTPS://Shop.Example:8443/").unwrap(),
            "https://shop.example:8443"
        );
        assert!(normalise_origin("https://shop.example/path").is_err());
        assert!(normalise_origin("ftp://x").is_err());
        assert!(normalise_origin("null").is_err());
    }
}

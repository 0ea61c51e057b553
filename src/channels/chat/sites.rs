//! Chat sites: one per website embedding the widget, with its public key, allowed origins,
//! target queue, pre-chat fields, business hours and optional identity-verification secret.

use crate::error::{ApiError, ApiResult};
use crate::store::{ms_to_rfc3339, now_ms, StoreError};
use serde::{Deserialize, Serialize};
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

    pub(super) fn validate(&self) -> ApiResult<()> {
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
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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
    /// A business-hours calendar (`/business-hours`); when set it decides open/offline instead
    /// of `business_hours`.
    pub business_hours_id: Option<String>,
    #[serde(skip)]
    pub calendar: Option<switchboard_hours::Calendar>,
    /// True when an identity secret is set (the secret itself is never returned).
    pub identity_verification: bool,
    #[serde(skip)]
    pub identity_secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct SiteRow {
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
    business_hours_id: Option<String>,
    bh_time_zone: Option<String>,
    bh_weekly: Option<String>,
    bh_holidays: Option<String>,
}

pub(super) const COLS: &str =
    "id, name, site_key, allowed_origins, queue_id, prechat_fields, business_hours, \
                    identity_secret, created_at, updated_at, business_hours_id, \
     (SELECT time_zone FROM business_hours b WHERE b.id = chat_sites.business_hours_id) AS bh_time_zone, \
     (SELECT weekly FROM business_hours b WHERE b.id = chat_sites.business_hours_id) AS bh_weekly, \
     (SELECT holidays FROM business_hours b WHERE b.id = chat_sites.business_hours_id) AS bh_holidays";

impl From<SiteRow> for Site {
    fn from(r: SiteRow) -> Self {
        let calendar = match (
            &r.business_hours_id,
            &r.bh_time_zone,
            &r.bh_weekly,
            &r.bh_holidays,
        ) {
            (Some(id), Some(tz), Some(w), Some(h)) => {
                crate::business_hours::from_columns(id, tz, w, h)
            }
            _ => None,
        };
        Site {
            business_hours_id: r.business_hours_id,
            calendar,
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
        self.allowed_origins.contains(&o)
    }

    /// Open now: inside business hours (if any) and at least one agent is available.
    pub async fn online(&self, conn: &mut AnyConnection) -> Result<bool, StoreError> {
        if !self.in_hours() {
            return Ok(false);
        }
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM agents WHERE active = 1 AND presence = 'available'",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(n > 0)
    }

    /// True unless business hours are set and the site is closed now (the calendar when the
    /// site has one, else the inline `business_hours`).
    pub fn in_hours(&self) -> bool {
        if let Some(c) = &self.calendar {
            return c.is_open(now_ms());
        }
        self.business_hours
            .as_ref()
            .is_none_or(|h| h.is_open(now_ms()))
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

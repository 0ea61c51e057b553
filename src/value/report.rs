//! The key-customers report for supervisors: top customers by value, by lifetime value, or
//! valuable customers at risk (of no longer buying, a low rating, repeated contacts), as JSON
//! or CSV (figures as of the last refit for CLV and P(alive); totals current).

use super::e4;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::store::now_ms;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyParams {
    /// `value` (net total, the default), `clv` (expected value over the horizon) or `at_risk`
    /// (at risk for any of the profile's reasons, each row with its `at_risk_reasons`; highest
    /// total first).
    pub by: Option<String>,
    /// Only customers of this RFM segment (e.g. `Champions`, `cant_lose_them`).
    pub segment: Option<String>,
    /// Rows, default 100, at most 10,000.
    pub limit: Option<usize>,
    /// `csv` for a CSV file.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct KeyCustomer {
    pub customer_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub segment: Option<String>,
    pub orders: i64,
    #[sqlx(rename = "total_e4")]
    #[serde(serialize_with = "e4")]
    pub total: i64,
    #[sqlx(rename = "clv_e4")]
    #[serde(serialize_with = "opt_e4")]
    pub clv: Option<i64>,
    #[sqlx(rename = "p_alive_e6")]
    #[serde(serialize_with = "opt_e6")]
    pub p_alive: Option<i64>,
    /// With `by=at_risk`: why, as on the profile (`p_alive`, `negative_csat`,
    /// `repeated_contacts`).
    #[sqlx(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_risk_reasons: Option<Vec<String>>,
    #[serde(skip)]
    risks: i32,
}

/// The at-risk reasons of `risks`, bit by bit in the order of [`risk_flags`]' flags.
fn reasons(risks: i32) -> Vec<String> {
    ["p_alive", "negative_csat", "repeated_contacts"]
        .iter()
        .enumerate()
        .filter(|(i, _)| risks & (1 << i) != 0)
        .map(|(_, r)| r.to_string())
        .collect()
}

// Amounts are stored in ten-thousandths (`super::e4`), P(alive) in millionths.

fn opt_e4<S: serde::Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_f64(*v as f64 / 1e4),
        None => s.serialize_none(),
    }
}

fn opt_e6<S: serde::Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_f64(*v as f64 / 1e6),
        None => s.serialize_none(),
    }
}

/// Key customers (supervisor, or an API token with `stats`).
#[utoipa::path(get, path = "/insights/key-customers", tag = "insights", params(KeyParams), responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
pub async fn key_customers(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<KeyParams>,
) -> ApiResult<Response> {
    caller.require(Role::Supervisor, "stats")?;
    let by = p.by.as_deref().unwrap_or("value");
    // The at-risk flags are read for the at-risk view only.
    let risks = match by {
        "at_risk" => risk_flags(&state.settings.value, now_ms()),
        _ => "0".to_string(),
    };
    let (filter, order) = match by {
        "value" => ("1 = 1".to_string(), "v.total_e4 DESC"),
        "clv" => ("v.clv_e4 IS NOT NULL".to_string(), "v.clv_e4 DESC"),
        "at_risk" => (format!("({risks}) > 0"), "v.total_e4 DESC"),
        o => {
            return Err(ApiError::invalid(
                "invalid_by",
                format!("unknown `by` {o} (value, clv, at_risk)"),
            ))
        }
    };
    let segment = super::segment_param(p.segment.as_deref())?;
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(o) => {
            return Err(ApiError::invalid(
                "invalid_format",
                format!("unknown format {o} (json, csv)"),
            ))
        }
    };
    let limit = p.limit.unwrap_or(100).clamp(1, 10_000) as i64;
    let identity = |kind: &str| {
        format!(
            "(SELECT i.value FROM identities i WHERE i.customer_id = c.id AND i.kind = '{kind}' \
             ORDER BY i.id LIMIT 1)"
        )
    };
    let mut rows: Vec<KeyCustomer> = sqlx::query_as(&format!(
        "SELECT c.id AS customer_id, c.name, {} AS email, {} AS phone, v.segment, v.orders, \
           v.total_e4, v.clv_e4, v.p_alive_e6, {risks} AS risks \
         FROM customer_values v JOIN customers c ON c.id = v.customer_id \
         WHERE c.merged_into IS NULL AND v.orders > 0 AND ($2 = '' OR v.segment = $2) \
           AND {filter} \
         ORDER BY {order}, c.id LIMIT $1",
        identity("email"),
        identity("phone"),
    ))
    .bind(limit)
    .bind(&segment)
    .fetch_all(state.store.pool())
    .await?;
    if by == "at_risk" {
        for r in &mut rows {
            r.at_risk_reasons = Some(reasons(r.risks));
        }
    }
    if !csv {
        let currency = &state.settings.value.default_currency;
        return Ok(
            Json(serde_json::json!({"by": by, "currency": currency, "items": rows}))
                .into_response(),
        );
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let as_text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let write = |out: &mut csv::Writer<Vec<u8>>, r: &KeyCustomer| {
        out.write_record(
            [
                r.customer_id.clone(),
                r.name.clone().unwrap_or_default(),
                r.email.clone().unwrap_or_default(),
                r.phone.clone().unwrap_or_default(),
                r.segment.clone().unwrap_or_default(),
                r.orders.to_string(),
                (r.total as f64 / 1e4).to_string(),
                as_text(r.clv.map(|v| v as f64 / 1e4)),
                as_text(r.p_alive.map(|v| v as f64 / 1e6)),
            ]
            .into_iter()
            .chain(r.at_risk_reasons.as_ref().map(|v| v.join(" "))),
        )
    };
    let header = [
        "customer_id",
        "name",
        "email",
        "phone",
        "segment",
        "orders",
        "total",
        "clv",
        "p_alive",
    ];
    let reasons_column = (by == "at_risk").then_some("at_risk_reasons");
    out.write_record(header.into_iter().chain(reasons_column))
        .map_err(|e| ApiError::Internal(e.into()))?;
    for r in &rows {
        write(&mut out, r).map_err(|e| ApiError::Internal(e.into()))?;
    }
    let body = out
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"key-customers.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The at-risk test of a row of `customer_values v JOIN customers c`, as on the profile
/// (`super::profile`): 1 when P(alive) is below `value.at_risk_p_alive`, + 2 when the customer
/// rated a conversation at or below `value.at_risk_csat_max` within `value.at_risk_days`, + 4
/// when they sent `value.at_risk_repeat_contacts` messages or more on one conversation in that
/// time. The settings are numbers, written into the text; the two contact tests each read
/// their window once (conversations by `updated_at`, which every message moves).
fn risk_flags(s: &super::ValueSettings, now: i64) -> String {
    let since = now - s.at_risk_days.max(0) * super::DAY_MS;
    let threshold = (s.at_risk_p_alive * 1e6).round() as i64;
    let low = format!(
        "SELECT c2.customer_id FROM chat_ratings r JOIN conversations c2 \
           ON c2.id = r.conversation_id WHERE r.score <= {} AND r.updated_at >= {since}",
        s.at_risk_csat_max
    );
    let repeated = if s.at_risk_repeat_contacts > 0 {
        format!(
            "CASE WHEN c.id IN (SELECT c3.customer_id FROM conversations c3 \
               JOIN messages m ON m.conversation_id = c3.id \
               WHERE c3.updated_at >= {since} AND m.author_kind = 'customer' \
                 AND m.created_at >= {since} \
               GROUP BY c3.id, c3.customer_id HAVING COUNT(*) >= {}) THEN 4 ELSE 0 END",
            s.at_risk_repeat_contacts
        )
    } else {
        "0".into()
    };
    format!(
        "CASE WHEN v.p_alive_e6 < {threshold} THEN 1 ELSE 0 END \
         + CASE WHEN c.id IN ({low}) THEN 2 ELSE 0 END + {repeated}"
    )
}

//! The key-customers report for supervisors: top customers by value, by lifetime value, or
//! valuable customers at risk of no longer buying, as JSON or CSV (figures as of the last
//! refit for CLV and P(alive); totals current).

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::AppState;
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
    /// (P(alive) below `value.at_risk_p_alive`, highest total first).
    pub by: Option<String>,
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
}

/// Amounts are stored in ten-thousandths, P(alive) in millionths.
fn e4<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*v as f64 / 1e4)
}

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
    let (filter, order) = match by {
        "value" => ("1 = 1", "v.total_e4 DESC"),
        "clv" => ("v.clv_e4 IS NOT NULL", "v.clv_e4 DESC"),
        "at_risk" => ("v.p_alive_e6 < $2", "v.total_e4 DESC"),
        o => {
            return Err(ApiError::invalid(
                "invalid_by",
                format!("unknown `by` {o} (value, clv, at_risk)"),
            ))
        }
    };
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
    let threshold = (state.settings.value.at_risk_p_alive * 1e6).round() as i64;
    // Every variant binds the same two parameters; `$2` (the P(alive) threshold) is only
    // read by `at_risk`, so the others compare it with itself.
    let filter = format!("{filter} AND $2 = $2");
    let rows: Vec<KeyCustomer> = sqlx::query_as(&format!(
        "SELECT c.id AS customer_id, c.name, {} AS email, {} AS phone, v.segment, v.orders, \
           v.total_e4, v.clv_e4, v.p_alive_e6 \
         FROM customer_values v JOIN customers c ON c.id = v.customer_id \
         WHERE c.merged_into IS NULL AND v.orders > 0 AND {filter} \
         ORDER BY {order}, c.id LIMIT $1",
        identity("email"),
        identity("phone"),
    ))
    .bind(limit)
    .bind(threshold)
    .fetch_all(state.store.pool())
    .await?;
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
        out.write_record([
            r.customer_id.clone(),
            r.name.clone().unwrap_or_default(),
            r.email.clone().unwrap_or_default(),
            r.phone.clone().unwrap_or_default(),
            r.segment.clone().unwrap_or_default(),
            r.orders.to_string(),
            (r.total as f64 / 1e4).to_string(),
            as_text(r.clv.map(|v| v as f64 / 1e4)),
            as_text(r.p_alive.map(|v| v as f64 / 1e6)),
        ])
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
    out.write_record(header)
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

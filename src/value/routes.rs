//! `GET /insights/customer-value`, `POST /insights/customer-value/refit` and customer lists
//! by value (`GET /customers?segment=…&sort=-value`).

use super::{fit, segment_param, Model, DAY_MS};
use crate::auth::{Caller, Role};
use crate::customers::{Customer, CustomerRow, ListParams, COLS};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::orders::parse;
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::ms_to_rfc3339;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(customer_value_insights))
        .routes(routes!(refit_now))
        .routes(routes!(super::report::key_customers))
}

/// A model as the API shows it.
pub fn model_json(m: &Model, stored: bool) -> Value {
    let date = |day: f64| ms_to_rfc3339(day as i64 * DAY_MS)[..10].to_string();
    json!({
        "as_of": date(m.as_of_day as f64),
        "currency": m.currency,
        "started_at": ms_to_rfc3339(m.started_at),
        "fitted_at": ms_to_rfc3339(m.fitted_at),
        "stored": stored,
        "customers": m.customers,
        "repeat_customers": m.repeat_customers,
        "orders": m.purchases,
        "bg_nbd": m.bg_nbd.map(|b| json!({"r": b.r, "alpha": b.alpha, "a": b.a, "b": b.b})),
        "gamma_gamma": m.gamma_gamma.map(|g| json!({"p": g.p, "q": g.q, "v": g.v})),
        "fit_error": m.fit_error,
        "median_total": m.median_total,
        "rfm": {
            "window_days": m.rfm_window_days,
            "recency_boundaries": m.rfm.recency.0.iter().map(|d| date(*d)).collect::<Vec<_>>(),
            "frequency_boundaries": m.rfm.frequency.0,
            "monetary_boundaries": m.rfm.monetary.0.iter().map(|v| v / 1e4).collect::<Vec<_>>(),
        },
        "segments": m.segments,
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InsightParams {
    /// Fit on orders up to this day (YYYY-MM-DD); default: the newest stored model.
    pub as_of: Option<String>,
}

/// The customer-value model (supervisor, or an API token with `stats`): BG/NBD `r, alpha,
/// a, b` (alpha per day), Gamma-Gamma `p, q, v`, RFM boundaries, segment sizes and revenue
/// shares. With `as_of` the models are fitted on the orders up to that day, now.
#[utoipa::path(get, path = "/insights/customer-value", tag = "insights", params(InsightParams), responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn customer_value_insights(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<InsightParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Supervisor, "stats")?;
    let currency = state.settings.value.default_currency.clone();
    let as_of_day = match p.as_of.as_deref() {
        Some(d) => Some(super::day_of(
            parse::time(d).map_err(|m| ApiError::invalid("invalid_as_of", m))?,
        )),
        None => None,
    };
    if as_of_day.is_none() {
        if let Some(m) = fit::latest(&state, &currency).await? {
            return Ok(Json(model_json(&m, true)));
        }
    }
    let day = as_of_day.unwrap_or_else(|| super::day_of(crate::store::now_ms()));
    let (model, _) = fit::model_as_of(&state, day)
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(model_json(&model, false)))
}

/// Refit the models now and store them with every customer's segment (supervisor). Waits
/// while another node refits, then answers its model if that refit started after this
/// request, else refits.
#[utoipa::path(post, path = "/insights/customer-value/refit", tag = "insights", responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn refit_now(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_role(Role::Supervisor)?;
    let model = super::lease::refit(&state, crate::store::now_ms())
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(model_json(&model, true)))
}

#[derive(sqlx::FromRow)]
struct ValueRow {
    #[sqlx(flatten)]
    row: CustomerRow,
    value_total: i64,
}

/// Customers filtered by segment (as of the newest refit) and sorted by net total
/// (`-value`: highest first, the default; `value`: lowest first), each with its `value`.
pub async fn list_by_value(state: &AppState, p: &ListParams) -> ApiResult<Page<Customer>> {
    if p.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        return Err(ApiError::invalid(
            "invalid_field",
            "`q` cannot be combined with `segment` or `sort`",
        ));
    }
    let segment = segment_param(p.segment.as_deref())?;
    let descending = match p.sort.as_deref().unwrap_or("-value") {
        "-value" => true,
        "value" => false,
        o => {
            return Err(ApiError::invalid(
                "invalid_sort",
                format!("unknown sort `{o}` (-value, value)"),
            ))
        }
    };
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let (after_total, after_id) = match &p.cursor {
        Some(c) => decode_cursor(c)?
            .split_once(':')
            .and_then(|(t, i)| Some((t.parse::<i64>().ok()?, i.to_string())))
            .map(|(t, i)| (Some(t), i))
            .ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?,
        None => (None, String::new()),
    };
    let cols: Vec<String> = COLS.split(", ").map(|c| format!("c.{c}")).collect();
    let (cmp, order) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let rows: Vec<ValueRow> = sqlx::query_as(&format!(
        "SELECT {}, v.total_e4 AS value_total FROM customer_values v \
           JOIN customers c ON c.id = v.customer_id \
         WHERE c.merged_into IS NULL AND v.orders > 0 AND ($1 = '' OR v.segment = $1) \
           AND ($2 = 0 OR v.total_e4 {cmp} $3 OR (v.total_e4 = $3 AND c.id {cmp} $4)) \
         ORDER BY v.total_e4 {order}, c.id {order} LIMIT $5",
        cols.join(", ")
    ))
    .bind(&segment)
    .bind(i64::from(after_total.is_some()))
    .bind(after_total.unwrap_or(0))
    .bind(&after_id)
    .bind((limit + 1) as i64)
    .fetch_all(state.store.pool())
    .await?;
    let totals: Vec<i64> = rows.iter().map(|r| r.value_total).collect();
    let mut conn = state.store.pool().acquire().await?;
    let mut items = crate::customers::hydrate(
        &mut conn,
        state.store.backend(),
        rows.into_iter().map(|r| r.row).collect(),
    )
    .await?;
    drop(conn);
    let mut keys = std::collections::HashMap::new();
    for (c, total) in items.iter_mut().zip(totals).take(limit) {
        c.value = Some(super::profile::customer_value(state, &c.id).await?);
        keys.insert(c.id.clone(), total);
    }
    Ok(finish(items, limit, |c: &Customer| {
        format!("{}:{}", keys[&c.id], c.id)
    }))
}

//! `GET /reports/summary`: the figures of a period, grouped, as JSON or CSV.

use super::collect;
use super::figures::Figures;
use super::presence::{self, PresenceSeconds};
use super::query::{instant, GroupBy, Query};
use super::zone::Zone;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, now_ms};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// First day (`2026-03-01`, from its local midnight) or an RFC 3339 instant; default today.
    pub from: Option<String>,
    /// Last day, included (`2026-03-31`), or an RFC 3339 instant (excluded); default `from`'s day.
    pub to: Option<String>,
    /// IANA time zone of dates and of grouping by day or hour (default `reports.time_zone`).
    pub tz: Option<String>,
    pub queue: Option<String>,
    /// phone, chat, email, fax (or api).
    pub channel: Option<String>,
    pub agent: Option<String>,
    /// day, hour (of day, 00–23), queue, agent or channel; without it only `total`.
    pub group_by: Option<String>,
    /// `csv` for a CSV file (one row per item, then `total`).
    pub format: Option<String>,
}

/// One group of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryItem {
    /// The day (`2026-03-01`), hour (`09`), queue id, agent id or channel (`""`: none).
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub figures: Figures,
    /// Grouped by agent: seconds in each presence state during the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_seconds: Option<PresenceSeconds>,
    /// Grouped by agent: handle time ÷ time available (`null` without available time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<Option<f64>>,
}

/// A report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    pub items: Vec<SummaryItem>,
    pub total: Figures,
}

fn resolve(state: &AppState, p: &SummaryParams) -> ApiResult<Query> {
    let tz = p.tz.as_deref().unwrap_or(&state.settings.reports.time_zone);
    let zone = Zone::named(tz).ok_or_else(|| {
        ApiError::invalid("invalid_time_zone", format!("unknown time zone `{tz}`"))
    })?;
    let today = zone.day_of(now_ms()).to_string();
    let from_s = p.from.clone().unwrap_or(today);
    let from = instant(&zone, "from", &from_s, false)?;
    let to = match &p.to {
        Some(t) => instant(&zone, "to", t, true)?,
        None => instant(&zone, "to", &zone.day_of(from).to_string(), true)?,
    };
    if from >= to {
        return Err(ApiError::invalid(
            "invalid_period",
            "`from` must be before `to`",
        ));
    }
    let channel = match &p.channel {
        Some(c) => Some(crate::validate::channel(c)?),
        None => None,
    };
    Ok(Query {
        zone,
        from,
        to,
        queue: p.queue.clone(),
        channel,
        agent: p.agent.clone(),
        group_by: p.group_by.as_deref().map(GroupBy::parse).transpose()?,
        hidden_queues: Vec::new(),
    })
}

/// The contact-center figures of a period, per group and in total.
///
/// **service level = answered within target ÷ offered**, where *offered* counts contacts
/// that entered a queue (queued conversations; inbound calls and faxes), *answered within
/// target* those an agent answered within the queue's `service_level_seconds` (default 20 s
/// for phone and chat; for email the queue's first-response target). The variant
/// `service_level_excluding_short_abandons` divides by offered − short abandons (contacts
/// abandoned within `reports.short_abandon_seconds`). Calls count from their PBX records:
/// speed of answer = answer − start, handle time = billable seconds. Contacts count on the
/// day they were offered. Supervisors and admins only.
#[utoipa::path(get, path = "/reports/summary", tag = "reports", params(SummaryParams),
    responses((status = 200, body = Summary, description = "JSON, or CSV with `format=csv`"),
              (status = 403, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SummaryParams>,
) -> ApiResult<Response> {
    caller.require(Role::Supervisor, "reports")?;
    let mut q = resolve(&state, &p)?;
    // A supervisor's figures cover their teams' queues (access by team).
    q.hidden_queues = crate::teams::Scope::of(&state.store, &caller)
        .await?
        .hidden_queues()
        .to_vec();
    collect::run_once(&state).await?;
    let sums = q.sums(&state).await?;
    let labels = labels(&state, q.group_by).await?;
    let presence = match q.group_by {
        Some(GroupBy::Agent) => {
            Some(presence::seconds(state.store.pool(), q.from, q.to.min(now_ms())).await?)
        }
        _ => None,
    };
    let mut items: Vec<SummaryItem> = sums
        .groups
        .iter()
        .filter(|_| q.group_by.is_some())
        .map(|(key, t)| {
            let figures = t.figures();
            let p = presence
                .as_ref()
                .map(|m| m.get(key).cloned().unwrap_or_default());
            let occupancy = p.as_ref().map(|p| {
                (p.available > 0).then(|| {
                    let v = t.handle_ms as f64 / 1000.0 / p.available as f64;
                    (v * 1000.0).round() / 1000.0
                })
            });
            SummaryItem {
                label: label(&labels, q.group_by, key),
                key: key.clone(),
                figures,
                presence_seconds: p,
                occupancy,
            }
        })
        .collect();
    if matches!(q.group_by, Some(GroupBy::Queue | GroupBy::Agent)) {
        items.sort_by(|a, b| (&a.label, &a.key).cmp(&(&b.label, &b.key)));
    }
    let report = Summary {
        from: ms_to_rfc3339(q.from),
        to: ms_to_rfc3339(q.to),
        time_zone: q.zone.name().to_string(),
        items,
        total: sums.total.figures(),
    };
    if p.format.as_deref() == Some("csv") {
        return csv(&report);
    }
    Ok(Json(report).into_response())
}

async fn labels(state: &AppState, g: Option<GroupBy>) -> ApiResult<HashMap<String, String>> {
    let sql = match g {
        Some(GroupBy::Queue) => "SELECT id, name FROM queues",
        Some(GroupBy::Agent) => "SELECT id, name FROM agents",
        _ => return Ok(HashMap::new()),
    };
    let rows: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(state.store.pool()).await?;
    Ok(rows.into_iter().collect())
}

fn label(labels: &HashMap<String, String>, g: Option<GroupBy>, key: &str) -> String {
    match g {
        _ if key.is_empty() => "(none)".into(),
        Some(GroupBy::Hour) => format!("{key}:00"),
        Some(GroupBy::Queue | GroupBy::Agent) => labels.get(key).cloned().unwrap_or(key.into()),
        _ => key.into(),
    }
}

const CSV_FIGURES: [&str; 21] = [
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within_target",
    "service_level",
    "service_level_excluding_short_abandons",
    "abandon_rate",
    "avg_speed_of_answer_seconds",
    "avg_handle_seconds",
    "handled",
    "first_response_p50_seconds",
    "first_response_p90_seconds",
    "resolution_p50_seconds",
    "resolution_p90_seconds",
    "csat_average",
    "csat_responses",
    "transfers",
    "callbacks",
    "callbacks_answered",
    "occupancy",
];

fn csv_row(key: &str, label: &str, f: &Figures, occupancy: Option<f64>) -> Vec<String> {
    let v = serde_json::to_value(f).unwrap_or_default();
    let mut row = vec![key.to_string(), label.to_string()];
    for name in CSV_FIGURES {
        let cell = if name == "occupancy" {
            occupancy.map(|o| o.to_string()).unwrap_or_default()
        } else {
            match &v[name] {
                serde_json::Value::Null => String::new(),
                x => x.to_string(),
            }
        };
        row.push(cell);
    }
    row
}

fn csv(report: &Summary) -> ApiResult<Response> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let head = ["key", "label"].into_iter().chain(CSV_FIGURES);
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    w.write_record(head).map_err(fail)?;
    for i in &report.items {
        let occ = i.occupancy.flatten();
        w.write_record(csv_row(&i.key, &i.label, &i.figures, occ))
            .map_err(fail)?;
    }
    w.write_record(csv_row("total", "Total", &report.total, None))
        .map_err(fail)?;
    let body = w
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"report.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

//! Customer value on top of orders: each customer's figures, RFM scores and segment, and
//! lifetime value (BG/NBD + Gamma-Gamma from `switchboard-value`), from models refitted in
//! the background on a schedule, on demand and after imports — never inside a request
//! that reads them.

pub mod fit;
pub mod lease;
pub mod profile;
pub mod report;
pub mod routes;
pub mod routing;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use switchboard_value::{BgNbd, GammaGamma, History, Rfm, Segment};

pub use profile::CustomerValue;
pub use routes::router;

pub use crate::settings::ValueSettings;

/// The segment a `segment` parameter names, by its display name (`""` without one).
pub(crate) fn segment_param(segment: Option<&str>) -> ApiResult<String> {
    match segment.filter(|s| !s.is_empty()) {
        None => Ok(String::new()),
        Some(s) => Ok(Segment::parse(s)
            .ok_or_else(|| ApiError::invalid("invalid_segment", format!("unknown segment `{s}`")))?
            .name()
            .to_string()),
    }
}

/// An amount stored in ten-thousandths, serialised as the amount (`serialize_with`).
pub(crate) fn e4<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*v as f64 / 1e4)
}

pub const DAY_MS: i64 = 86_400_000;

/// The day number (days since 1970-01-01, UTC) of a Unix-millisecond time.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// A fitted model of the deployment's customers as of a day.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub currency: String,
    /// The last day whose orders count (days since 1970-01-01).
    pub as_of_day: i64,
    /// When the refit started reading orders (every order stored before is in it).
    #[serde(default)]
    pub started_at: i64,
    pub fitted_at: i64,
    /// Customers with at least one purchase by `as_of_day`.
    pub customers: usize,
    /// Of them, customers with purchases on two days or more.
    pub repeat_customers: usize,
    pub purchases: u64,
    pub bg_nbd: Option<BgNbd>,
    pub gamma_gamma: Option<GammaGamma>,
    /// Why a model could not be fitted (too little data), if so.
    pub fit_error: Option<String>,
    pub rfm: Rfm,
    pub rfm_window_days: i64,
    /// The median customer's net total (currency units).
    pub median_total: f64,
    pub segments: Vec<SegmentFigure>,
}

/// One segment's size and revenue in a model.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SegmentFigure {
    pub segment: String,
    pub customers: usize,
    /// Net revenue of its customers up to the as-of day.
    pub revenue: f64,
    /// Its share (0–1) of all customers' revenue.
    pub revenue_share: f64,
}

/// One customer's orders folded as of a day: what the models and RFM need.
#[derive(Debug, Clone, Default)]
pub struct Acc {
    pub history: History,
    pub total_e4: i64,
    pub purchases: u32,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    pub window_purchases: u32,
    pub window_e4: i64,
}

impl Acc {
    /// Add an order (not cancelled) placed at `at` ms; orders must come in time order.
    /// Purchases are amounts of zero or more (a free order is still a purchase, as in the
    /// CDNOW data); a refund (negative) only lowers the totals.
    pub fn push(&mut self, at: i64, amount_e4: i64, window_start_day: i64) {
        self.total_e4 += amount_e4;
        let in_window = day_of(at) >= window_start_day;
        if in_window {
            self.window_e4 += amount_e4;
        }
        if amount_e4 < 0 {
            return;
        }
        self.purchases += 1;
        self.window_purchases += u32::from(in_window);
        self.first_at.get_or_insert(at);
        self.last_at = Some(at);
        self.history.push(day_of(at), amount_e4 as f64 / 1e4);
    }

    /// (r, f, m) and segment under `rfm`: scored on the window's purchases; without any
    /// there, 1/1/1 and Lost.
    pub fn rfm(&self, rfm: &Rfm) -> Option<(u8, u8, u8, Segment)> {
        let last = self.last_at?;
        if self.window_purchases == 0 {
            return Some((1, 1, 1, Segment::Lost));
        }
        let (r, f, m) = rfm.scores(
            day_of(last) as f64,
            f64::from(self.window_purchases),
            self.window_e4 as f64,
        );
        Some((r, f, m, Segment::of(r, f, m)))
    }
}

/// Event of a customer whose value changed (an order stored or updated): consoles showing
/// the customer read their value again (their segment badge follows at once).
pub const VALUE_CHANGED: &str = "customer.value_changed";
/// Event of a stored refit: every customer's segment may have changed.
pub const REFITTED: &str = "customer_value.refitted";

/// The [`VALUE_CHANGED`] event of `customer_id` (for every agent's console).
pub fn value_changed(customer_id: &str) -> crate::bus::Event {
    let mut ev = crate::events::new_event(VALUE_CHANGED, serde_json::json!({"all_agents": true}));
    ev.customer_id = Some(customer_id.to_string());
    ev
}

/// Ask this node's background worker to refit the models soon (coalesced: many calls while
/// a refit runs lead to one more).
pub fn refit_soon(state: &AppState) {
    state.value_refit.notify_one();
}

/// Run the refit worker: every `value.refit_interval_secs`, and after orders arrive (at
/// most once per `value.refit_after_orders_secs`). Across nodes one refits at a time (the
/// lease), and a node skips a scheduled refit when another node's refit started within the
/// last half interval, or an order-triggered one when a refit started after the orders.
pub fn spawn_workers(
    state: &AppState,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(refit_on_schedule(state.clone(), stop))]
}

/// The refit worker's loop (see [`spawn_workers`]).
async fn refit_on_schedule(state: AppState, stop: tokio_util::sync::CancellationToken) {
    let s = &state.settings.value;
    let every = std::time::Duration::from_secs(if s.refit_interval_secs == 0 {
        86_400 * 365
    } else {
        s.refit_interval_secs
    });
    let gap = std::time::Duration::from_secs(s.refit_after_orders_secs);
    let half = (every.as_millis() as i64) / 2;
    let mut scheduled = tokio::time::Instant::now() + every;
    // Orders arrived (when, and when their refit is due): the schedule keeps running
    // meanwhile (it waited for the gap, an hour by default, before).
    let mut orders: Option<(i64, tokio::time::Instant)> = None;
    loop {
        let due = orders.map_or(scheduled, |(_, at)| at);
        let fresh_since = tokio::select! {
            _ = stop.cancelled() => return,
            _ = state.value_refit.notified(), if orders.is_none() => {
                orders = Some((crate::store::now_ms(), tokio::time::Instant::now() + gap));
                continue;
            }
            _ = tokio::time::sleep_until(due), if orders.is_some() => {
                orders.take().map_or(0, |(asked, _)| asked)
            }
            _ = tokio::time::sleep_until(scheduled) => {
                scheduled = tokio::time::Instant::now() + every;
                crate::store::now_ms().saturating_sub(half)
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            r = lease::refit(&state, fresh_since) => if let Err(e) = r {
                tracing::warn!(error = %e, "customer value refit failed");
            }
        }
    }
}

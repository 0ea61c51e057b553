//! Fitting the deployment's models: orders streamed from the database into one compact
//! accumulator per customer, then the numerics on a blocking thread.

use super::{day_of, Acc, Model, SegmentFigure, DAY_MS};
use crate::state::AppState;
use crate::store::bulk::{insert_rows, V};
use crate::store::{new_id, now_ms, StoreError, StoreResult};
use futures::TryStreamExt;
use std::collections::HashMap;
use switchboard_value::{BgNbd, GammaGamma, History, Quintiles, Rfm, Segment, SEGMENTS};

/// What a refit stores per customer.
#[derive(Debug, Clone)]
pub struct Score {
    pub customer_id: String,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: Segment,
    /// Expected value over the horizon, in ten-thousandths.
    pub clv_e4: Option<i64>,
    /// Probability of still buying, in millionths.
    pub p_alive_e6: Option<i64>,
}

pub type Scores = Vec<Score>;

/// One customer's orders as the database sums them (see [`load`]); amounts in
/// ten-thousandths, times in ms.
#[derive(sqlx::FromRow)]
struct Sums {
    customer_id: String,
    total: i64,
    in_window: i64,
    purchases: i64,
    window_purchases: i64,
    first_at: i64,
    last_at: i64,
    /// Days with a purchase.
    days: i64,
    /// Spent on purchases (refunds left out).
    spent: i64,
    /// Spent on purchases on the first purchase day (only read when `days` > 1).
    first_day: Option<i64>,
}

/// The day (`$4` ms long) of the time in `col`, rounded down also before 1970 (SQL's
/// integer division rounds towards zero), as [`day_of`] counts it.
fn day_sql(col: &str) -> String {
    format!("(CASE WHEN {col} >= 0 THEN {col} / $4 ELSE ({col} + 1) / $4 - 1 END)")
}

/// Every customer's accumulator from the orders in `currency` placed up to `as_of_day`,
/// summed by the database (one row per customer, not one per order: 10,000,000 orders
/// would otherwise cross the driver one row at a time). Per customer: the net total and
/// the window's; purchases (amounts of zero or more) in all and in the window; the first
/// and last purchase; the days with a purchase; what was spent on purchases, and on the
/// first purchase day — what [`Acc::push`] leaves when fed the orders one by one.
pub async fn load(
    state: &AppState,
    currency: &str,
    as_of_day: i64,
    window_days: i64,
) -> StoreResult<Vec<(String, Acc)>> {
    let window_start = as_of_day - window_days + 1;
    let first_day = day_sql("s.first_at");
    let sql = format!(
        "SELECT customer_id, total, in_window, purchases, window_purchases, first_at, last_at, \
           days, spent, \
           CASE WHEN days > 1 THEN (SELECT CAST(SUM(o.amount_e4) AS BIGINT) FROM customer_orders o \
             WHERE o.customer_id = s.customer_id AND o.currency = $1 \
               AND o.status <> 'cancelled' AND o.amount_e4 >= 0 \
               AND o.placed_at >= {first_day} * $4 AND o.placed_at < ({first_day} + 1) * $4) \
           END AS first_day \
         FROM (SELECT customer_id, CAST(SUM(amount_e4) AS BIGINT) AS total, \
             CAST(SUM(CASE WHEN placed_at >= $3 THEN amount_e4 ELSE 0 END) AS BIGINT) AS in_window, \
             COUNT(CASE WHEN amount_e4 >= 0 THEN 1 END) AS purchases, \
             COUNT(CASE WHEN amount_e4 >= 0 AND placed_at >= $3 THEN 1 END) AS window_purchases, \
             MIN(CASE WHEN amount_e4 >= 0 THEN placed_at END) AS first_at, \
             MAX(CASE WHEN amount_e4 >= 0 THEN placed_at END) AS last_at, \
             COUNT(DISTINCT CASE WHEN amount_e4 >= 0 THEN {} END) AS days, \
             CAST(SUM(CASE WHEN amount_e4 >= 0 THEN amount_e4 ELSE 0 END) AS BIGINT) AS spent \
           FROM customer_orders WHERE currency = $1 AND status <> 'cancelled' AND placed_at < $2 \
           GROUP BY customer_id) s \
         WHERE purchases > 0",
        day_sql("placed_at")
    );
    let mut rows = sqlx::query_as::<_, Sums>(&sql)
        .bind(currency)
        .bind((as_of_day + 1) * DAY_MS)
        .bind(window_start * DAY_MS)
        .bind(DAY_MS)
        .fetch(state.store.pool());
    let mut out: Vec<(String, Acc)> = Vec::new();
    while let Some(s) = rows.try_next().await.map_err(StoreError::from_sqlx)? {
        let repeat_e4 = s.spent - s.first_day.unwrap_or(s.spent);
        let history = History::from_days(
            day_of(s.first_at),
            day_of(s.last_at),
            s.days as u32,
            repeat_e4 as f64 / 1e4,
        );
        let acc = Acc {
            history,
            total_e4: s.total,
            purchases: s.purchases as u32,
            first_at: Some(s.first_at),
            last_at: Some(s.last_at),
            window_purchases: s.window_purchases as u32,
            window_e4: s.in_window,
        };
        out.push((s.customer_id, acc));
    }
    Ok(out)
}

/// Fit the models and score every customer (CPU only; run it on a blocking thread). The
/// customers' ids move into their scores (one copy of a million ids, not two).
pub fn compute(
    customers: Vec<(String, Acc)>,
    currency: &str,
    as_of_day: i64,
    window_days: i64,
    horizon_days: i64,
) -> (Model, Scores) {
    let summaries: Vec<_> = customers
        .iter()
        .filter_map(|(_, a)| a.history.summary(as_of_day))
        .collect();
    let bg = BgNbd::fit_report(&summaries).map(|(m, r)| noted("BG/NBD", m, &r));
    let gg = GammaGamma::fit_report(&summaries).map(|(m, r)| noted("Gamma-Gamma", m, &r));
    let repeat_customers = summaries.iter().filter(|s| s.x > 0).count();
    drop(summaries);
    let fit_error = [bg.as_ref().err(), gg.as_ref().err()]
        .into_iter()
        .flatten()
        .map(|e| e.to_string())
        .reduce(|a, b| format!("{a}; {b}"));
    let rfm = rfm_of(&customers);
    let (bg, gg) = (bg.ok(), gg.ok());
    let count = customers.len();
    let purchases = customers.iter().map(|(_, a)| u64::from(a.purchases)).sum();
    let median_total = median(customers.iter().map(|(_, a)| a.total_e4).collect()) / 1e4;
    let mut by_segment: HashMap<Segment, (usize, i64)> = HashMap::new();
    let scores: Scores = customers
        .into_iter()
        .filter_map(|(id, a)| {
            let (r, f, m, segment) = a.rfm(&rfm)?;
            let figure = by_segment.entry(segment).or_default();
            figure.0 += 1;
            figure.1 += a.total_e4;
            let clv = super::profile::clv_with(bg, gg, &a, as_of_day, horizon_days);
            Some(Score {
                customer_id: id,
                r,
                f,
                m,
                segment,
                clv_e4: clv
                    .as_ref()
                    .and_then(|c| c.expected_value)
                    .map(|v| (v * 1e4).round() as i64),
                p_alive_e6: clv.map(|c| (c.p_alive * 1e6).round() as i64),
            })
        })
        .collect();
    let model = Model {
        currency: currency.to_string(),
        as_of_day,
        started_at: 0,
        fitted_at: now_ms(),
        customers: count,
        repeat_customers,
        purchases,
        bg_nbd: bg,
        gamma_gamma: gg,
        fit_error,
        rfm,
        rfm_window_days: window_days,
        median_total,
        segments: segment_figures(&by_segment),
    };
    (model, scores)
}

/// The RFM quintile boundaries of the customers with a purchase in the window.
fn rfm_of(customers: &[(String, Acc)]) -> Rfm {
    let in_window = customers.iter().filter(|(_, a)| a.window_purchases > 0);
    Rfm {
        recency: Quintiles::of(
            in_window
                .clone()
                .filter_map(|(_, a)| a.last_at)
                .map(|t| day_of(t) as f64)
                .collect(),
        ),
        frequency: Quintiles::of(
            in_window
                .clone()
                .map(|(_, a)| f64::from(a.window_purchases))
                .collect(),
        ),
        monetary: Quintiles::of(in_window.map(|(_, a)| a.window_e4 as f64).collect()),
    }
}

fn median(mut v: Vec<i64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    }
}

/// Size and net revenue of each segment (every segment listed, best first), from each
/// segment's (customers, net revenue).
fn segment_figures(by: &HashMap<Segment, (usize, i64)>) -> Vec<SegmentFigure> {
    let all: i64 = by.values().map(|v| v.1).sum();
    SEGMENTS
        .iter()
        .map(|s| {
            let (n, revenue) = by.get(s).copied().unwrap_or_default();
            SegmentFigure {
                segment: s.name().to_string(),
                customers: n,
                revenue: revenue as f64 / 1e4,
                revenue_share: if all > 0 {
                    revenue as f64 / all as f64
                } else {
                    0.0
                },
            }
        })
        .collect()
}

/// Fit the models as of `as_of_day` without storing anything.
pub async fn model_as_of(state: &AppState, as_of_day: i64) -> anyhow::Result<(Model, Scores)> {
    let currency = state.settings.value.default_currency.clone();
    let window = state.settings.value.rfm_window_days.max(1);
    let horizon = state.settings.value.clv_horizon_days.max(1);
    let started_at = now_ms();
    let clock = std::time::Instant::now();
    let customers = load(state, &currency, as_of_day, window).await?;
    step_took("load", clock);
    let clock = std::time::Instant::now();
    let (mut model, scores) = tokio::task::spawn_blocking(move || {
        compute(customers, &currency, as_of_day, window, horizon)
    })
    .await?;
    step_took("fit", clock);
    model.started_at = started_at;
    Ok((model, scores))
}

/// Time of one step of a refit in `/metrics`: `load` (every customer's orders summed),
/// `fit` (the models and every customer's scores), `store` (the scores written).
fn step_took(step: &'static str, since: std::time::Instant) {
    metrics::histogram!("switchboard_value_refit_seconds", "step" => step)
        .record(since.elapsed().as_secs_f64());
}

/// Refit as of today, store the model and every customer's RFM scores, segment, CLV and
/// P(alive). Callers go through [`super::lease::refit`] (one refit at a time across nodes).
pub async fn refit(state: &AppState) -> anyhow::Result<Model> {
    let (model, scores) = model_as_of(state, day_of(now_ms())).await?;
    let clock = std::time::Instant::now();
    let mut tx = state.store.begin().await?;
    sqlx::query("INSERT INTO value_models (id, currency, as_of, fitted_at, model) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id())
        .bind(&model.currency)
        .bind(model.as_of_day * DAY_MS)
        .bind(model.fitted_at)
        .bind(serde_json::to_string(&model)?)
        .execute(tx.conn())
        .await?;
    // The last ten models are kept.
    sqlx::query(
        "DELETE FROM value_models WHERE fitted_at < (SELECT MIN(fitted_at) FROM \
           (SELECT fitted_at FROM value_models ORDER BY fitted_at DESC LIMIT 10) AS kept)",
    )
    .execute(tx.conn())
    .await?;
    // Customers left without purchases (refunds, cancellations) lose their segment.
    sqlx::query(
        "UPDATE customer_values SET r = NULL, f = NULL, m = NULL, segment = NULL, \
         clv_e4 = NULL, p_alive_e6 = NULL WHERE orders = 0",
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    let segments = &crate::store::rebuild::CUSTOMER_VALUES_SEGMENT;
    let dropped = state.store.drop_for_mass_update(segments).await?;
    let stored = store_chunks(state, &scores).await;
    if dropped {
        state.store.restore_indexes().await?;
    }
    stored?;
    apply_tier_rules(state).await?;
    step_took("store", clock);
    let ev = crate::events::new_event(
        super::REFITTED,
        serde_json::json!({"all_agents": true, "customers": model.customers,
            "fitted_at": crate::store::ms_to_rfc3339(model.fitted_at)}),
    );
    let mut tx = state.store.begin().await?;
    let result = crate::events::record(&mut tx, &ev).await;
    tx.finish(result).await?;
    state.bus.publish(ev).await;
    Ok(model)
}

/// Write `scores` in transactions of 5,000 customers (other writers go between them).
async fn store_chunks(state: &AppState, scores: &[Score]) -> StoreResult<()> {
    for chunk in scores.chunks(5000) {
        let mut tx = state.store.begin().await?;
        let result = store_scores(&mut tx, chunk).await;
        tx.finish(result).await?;
    }
    Ok(())
}

/// Write `scores` to their customers' rows, in `tx`. The segment is written apart, and only
/// where it changed: an update naming `segment` moves the row's entry in the index by segment
/// (a random place in it) whether or not the value changed, and a refit mostly leaves segments
/// as they were (scores and CLV move daily). (SQLite drops that index for the refit, see
/// `crate::store::rebuild`; PostgreSQL keeps it.) Measured alone with a million customers (SQLite,
/// BENCHMARKS.md session 23): a refit moving one customer in ten to another segment 44.8 →
/// 13.9 s; a first refit, which gives everyone a segment, the same.
async fn store_scores(tx: &mut crate::store::Tx, scores: &[Score]) -> StoreResult<()> {
    let now = now_ms();
    let n = |v: u8| V::I(i64::from(v));
    let rows = scores
        .iter()
        .map(|s| {
            let (r, f, m) = (n(s.r), n(s.f), n(s.m));
            vec![
                V::S(s.customer_id.clone()),
                r,
                f,
                m,
                V::J(s.clv_e4),
                V::J(s.p_alive_e6),
                V::I(now),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "INSERT INTO customer_values (customer_id, r, f, m, clv_e4, p_alive_e6, updated_at)",
        rows,
        "",
        "ON CONFLICT (customer_id) DO UPDATE SET r = excluded.r, f = excluded.f, \
         m = excluded.m, clv_e4 = excluded.clv_e4, p_alive_e6 = excluded.p_alive_e6",
    )
    .await?;
    let rows = scores
        .iter()
        .map(|s| {
            vec![
                V::S(s.customer_id.clone()),
                V::S(s.segment.name().into()),
                V::I(now),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "INSERT INTO customer_values (customer_id, segment, updated_at)",
        rows,
        "",
        "ON CONFLICT (customer_id) DO UPDATE SET segment = excluded.segment \
         WHERE customer_values.segment IS DISTINCT FROM excluded.segment",
    )
    .await
}

/// `value.tier_from_segment` as (segment name, tier) pairs; bad entries are logged and
/// skipped.
pub fn tier_rules(setting: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for entry in setting.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry.split_once('=').and_then(|(seg, tier)| {
            let tier = crate::validate::labels("tier", &[tier.to_string()]).ok()?;
            Some((Segment::parse(seg)?.name(), tier.into_iter().next()?))
        });
        match parsed {
            Some(rule) => out.push(rule),
            None => tracing::warn!(entry, "ignoring a bad value.tier_from_segment entry"),
        }
    }
    out
}

/// Give customers of a segment named in `value.tier_from_segment` that segment's tier, when
/// their tier is still `standard` (a tier set by hand is never changed).
async fn apply_tier_rules(state: &AppState) -> StoreResult<()> {
    let rules = tier_rules(&state.settings.value.tier_from_segment);
    if rules.is_empty() {
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    let mut result = Ok(());
    for (segment, tier) in rules {
        result = sqlx::query(
            "UPDATE customers SET tier = $1, updated_at = $2 WHERE tier = 'standard' \
             AND id IN (SELECT customer_id FROM customer_values WHERE segment = $3)",
        )
        .bind(tier)
        .bind(now_ms())
        .bind(segment)
        .execute(tx.conn())
        .await
        .map(|_| ())
        .map_err(StoreError::from_sqlx);
        if result.is_err() {
            break;
        }
    }
    tx.finish(result).await
}

/// The newest stored model in `currency`, if any.
pub async fn latest(state: &AppState, currency: &str) -> StoreResult<Option<Model>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT model FROM value_models WHERE currency = $1 ORDER BY fitted_at DESC, id DESC LIMIT 1",
    )
    .bind(currency)
    .fetch_optional(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.and_then(|(m,)| serde_json::from_str(&m).ok()))
}

/// `model` after logging how its fit went: a maximum at the edge of the search (the data
/// have no finite maximum: everyone alike) is worth a warning, the rest a debug line.
fn noted<M>(name: &str, model: M, r: &switchboard_value::FitReport) -> M {
    if r.at_bound {
        tracing::warn!(
            model = name,
            evaluations = r.evaluations,
            "value model fitted at the edge of its search: the orders do not pin it down \
             (customers too alike); its figures are the model's limit"
        );
    } else {
        tracing::debug!(
            model = name,
            runs = r.runs,
            evaluations = r.evaluations,
            "value model fitted"
        );
    }
    model
}

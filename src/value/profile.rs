//! One customer's `value`: figures from their orders (read live, so a new order shows at
//! once) scored with the newest fitted model, plus the at-risk flag.

use super::{day_of, fit, Acc, Model, DAY_MS};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, now_ms, StoreError, StoreResult};
use serde::Serialize;
use switchboard_value::{BgNbd, GammaGamma};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RfmScores {
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Clv {
    /// Purchases expected over the horizon (BG/NBD).
    pub expected_orders: f64,
    /// Their expected value (expected orders × expected spend per order, Gamma-Gamma).
    pub expected_value: Option<f64>,
    /// Probability that the customer is still buying at all.
    pub p_alive: f64,
    pub horizon_days: i64,
}

/// A customer's orders in one currency other than the deployment's: counted apart, never
/// converted or mixed into the figures.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct CurrencyTotal {
    pub currency: String,
    /// Purchases (orders not cancelled, with an amount of zero or more).
    pub orders: i64,
    /// Net total: purchases less refunds.
    #[sqlx(rename = "total_e4")]
    #[serde(serialize_with = "super::e4")]
    pub total: i64,
}

/// A customer's value in the deployment's currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerValue {
    pub currency: String,
    /// Purchases (orders not cancelled, with an amount of zero or more).
    pub orders: u32,
    /// Net total: purchases less refunds.
    pub total: f64,
    pub average: Option<f64>,
    pub first_order_at: Option<String>,
    pub last_order_at: Option<String>,
    /// Total divided by the median customer's total (from the newest model).
    pub times_median: Option<f64>,
    pub rfm: Option<RfmScores>,
    pub clv: Option<Clv>,
    pub at_risk: bool,
    /// `p_alive` (probably no longer buying), `negative_csat`, `repeated_contacts`.
    pub at_risk_reasons: Vec<String>,
    /// When the model used was fitted (null before the first refit).
    pub model_fitted_at: Option<String>,
    /// Orders in other currencies, per currency (alphabetical).
    pub other_currencies: Vec<CurrencyTotal>,
}

/// The customer's orders in currencies other than `default`, summed per currency.
async fn other_currencies(
    state: &AppState,
    customer_id: &str,
    default: &str,
) -> StoreResult<Vec<CurrencyTotal>> {
    sqlx::query_as(
        "SELECT currency, COUNT(CASE WHEN amount_e4 >= 0 THEN 1 END) AS orders, \
           CAST(SUM(amount_e4) AS BIGINT) AS total_e4 FROM customer_orders \
         WHERE customer_id = $1 AND currency <> $2 AND status <> 'cancelled' \
         GROUP BY currency ORDER BY currency",
    )
    .bind(customer_id)
    .bind(default)
    .fetch_all(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)
}

/// The customer's orders folded as of today.
async fn acc_of(state: &AppState, customer_id: &str, today: i64) -> StoreResult<Acc> {
    let window_start = today - state.settings.value.rfm_window_days.max(1) + 1;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT placed_at, amount_e4 FROM customer_orders WHERE customer_id = $1 AND currency = $2 \
           AND status <> 'cancelled' ORDER BY placed_at",
    )
    .bind(customer_id)
    .bind(&state.settings.value.default_currency)
    .fetch_all(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut acc = Acc::default();
    for (at, amount) in rows {
        acc.push(at, amount, window_start);
    }
    Ok(acc)
}

fn clv(model: &Model, acc: &Acc, today: i64, horizon: i64) -> Option<Clv> {
    clv_with(model.bg_nbd, model.gamma_gamma, acc, today, horizon)
}

/// Lifetime value over `horizon` days from `today` of the customer folded in `acc`.
pub(crate) fn clv_with(
    bg: Option<BgNbd>,
    gg: Option<GammaGamma>,
    acc: &Acc,
    today: i64,
    horizon: i64,
) -> Option<Clv> {
    let bg = bg?;
    let s = acc.history.summary(today)?;
    let (tx, t) = (f64::from(s.t_x), f64::from(s.t));
    let expected_orders = bg.expected_purchases(s.x, tx, t, horizon as f64);
    let spend = gg.and_then(|gg| gg.expected_spend(s.x, s.repeat_mean));
    Some(Clv {
        expected_orders,
        expected_value: spend.map(|m| expected_orders * m),
        p_alive: bg.p_alive(s.x, tx, t),
        horizon_days: horizon,
    })
}

/// The `value` of a customer.
pub async fn customer_value(state: &AppState, customer_id: &str) -> StoreResult<CustomerValue> {
    let settings = &state.settings.value;
    let now = now_ms();
    let today = day_of(now);
    let acc = acc_of(state, customer_id, today).await?;
    let model = fit::latest(state, &settings.default_currency).await?;
    let total = acc.total_e4 as f64 / 1e4;
    let rfm = model.as_ref().and_then(|m| acc.rfm(&m.rfm));
    let clv = model
        .as_ref()
        .and_then(|m| clv(m, &acc, today, settings.clv_horizon_days.max(1)));
    let mut reasons = Vec::new();
    if clv
        .as_ref()
        .is_some_and(|c| c.p_alive < settings.at_risk_p_alive)
    {
        reasons.push("p_alive".to_string());
    }
    reasons.extend(contact_risks(state, customer_id, now).await?);
    Ok(CustomerValue {
        currency: settings.default_currency.clone(),
        orders: acc.purchases,
        total,
        average: (acc.purchases > 0).then(|| total / f64::from(acc.purchases)),
        first_order_at: acc.first_at.map(ms_to_rfc3339),
        last_order_at: acc.last_at.map(ms_to_rfc3339),
        times_median: model
            .as_ref()
            .filter(|m| m.median_total > 0.0 && acc.purchases > 0)
            .map(|m| total / m.median_total),
        rfm: rfm.map(|(r, f, m, s)| RfmScores {
            r,
            f,
            m,
            segment: s.name().to_string(),
        }),
        clv,
        at_risk: !reasons.is_empty(),
        at_risk_reasons: reasons,
        model_fitted_at: model.map(|m| ms_to_rfc3339(m.fitted_at)),
        other_currencies: other_currencies(state, customer_id, &settings.default_currency).await?,
    })
}

/// `negative_csat` when the customer rated a conversation at or below
/// `value.at_risk_csat_max` within `value.at_risk_days`; `repeated_contacts` when they sent
/// `value.at_risk_repeat_contacts` messages or more on one conversation in that time.
async fn contact_risks(state: &AppState, customer_id: &str, now: i64) -> StoreResult<Vec<String>> {
    let s = &state.settings.value;
    let since = now - s.at_risk_days.max(0) * DAY_MS;
    let mut out = Vec::new();
    let (low,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM chat_ratings r JOIN conversations c ON c.id = r.conversation_id \
         WHERE c.customer_id = $1 AND r.score <= $2 AND r.updated_at >= $3",
    )
    .bind(customer_id)
    .bind(s.at_risk_csat_max)
    .bind(since)
    .fetch_one(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    if low > 0 {
        out.push("negative_csat".to_string());
    }
    if s.at_risk_repeat_contacts > 0 {
        let most: Option<(i64,)> = sqlx::query_as(
            "SELECT COUNT(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.customer_id = $1 AND m.author_kind = 'customer' AND m.created_at >= $2 \
             GROUP BY m.conversation_id ORDER BY n DESC LIMIT 1",
        )
        .bind(customer_id)
        .bind(since)
        .fetch_optional(state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        if most.is_some_and(|(n,)| n >= s.at_risk_repeat_contacts) {
            out.push("repeated_contacts".to_string());
        }
    }
    Ok(out)
}

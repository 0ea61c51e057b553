//! Shops' order webhooks: `POST /api/v1/shops/{platform}/orders`. Each platform is one
//! [`Mapping`]: how its deliveries are signed and how its order payload maps onto an order
//! and a customer identity. WooCommerce (`woocommerce`) is the first; another platform is
//! one more implementation and one more line in [`mapping`].
//!
//! A delivery is stored with [`super::upsert`]: a shop re-sending an order after a status
//! change (cancelled, refunded) updates the stored one instead of adding another.

use super::{parse, NewOrder};
use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

/// An order as a shop reports it, before its customer is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopOrder {
    /// (kind, raw value) of the customer: email, phone or external.
    pub identity: (String, String),
    pub name: Option<String>,
    pub external_id: String,
    pub amount_e4: i64,
    pub currency: Option<String>,
    pub status: String,
    pub placed_at: i64,
}

/// What a delivery is.
#[derive(Debug, PartialEq)]
pub enum Delivery {
    /// An order to store.
    Order(ShopOrder),
    /// A delivery to acknowledge and ignore (a ping, an unpaid order), with why.
    Ignore(&'static str),
}

/// One shop platform.
pub trait Mapping: Sync {
    /// The platform's name in the URL and in order sources.
    fn name(&self) -> &'static str;
    /// The configured shared secret (empty: the receiver is off).
    fn secret<'a>(&self, state: &'a AppState) -> &'a str;
    /// Whether `body` carries a valid signature made with `secret`.
    fn verify(&self, headers: &HeaderMap, body: &[u8], secret: &str) -> bool;
    /// The delivery in `body`, or why it cannot be used.
    fn delivery(&self, headers: &HeaderMap, body: &[u8]) -> Result<Delivery, String>;
}

/// The mapping of `platform`.
pub fn mapping(platform: &str) -> Option<&'static dyn Mapping> {
    match platform {
        "woocommerce" => Some(&WooCommerce),
        _ => None,
    }
}

/// WooCommerce's order webhooks (topics `order.created`, `order.updated`): signed with
/// `X-WC-Webhook-Signature`, the base64 HMAC-SHA256 of the raw body under the webhook's
/// secret.
pub struct WooCommerce;

#[derive(Deserialize)]
struct WooOrder {
    id: Value,
    status: String,
    currency: Option<String>,
    total: Value,
    date_created_gmt: Option<String>,
    date_created: Option<String>,
    customer_id: Option<Value>,
    billing: Option<WooBilling>,
}

#[derive(Deserialize)]
struct WooBilling {
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

impl Mapping for WooCommerce {
    fn name(&self) -> &'static str {
        "woocommerce"
    }

    fn secret<'a>(&self, state: &'a AppState) -> &'a str {
        &state.settings.value.woocommerce_secret
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], secret: &str) -> bool {
        let Some(given) = headers
            .get("x-wc-webhook-signature")
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        mac.verify_slice(&given).is_ok()
    }

    fn delivery(&self, _headers: &HeaderMap, body: &[u8]) -> Result<Delivery, String> {
        // WooCommerce checks a new webhook's URL with a form-encoded `webhook_id=…` ping.
        if body.starts_with(b"webhook_id=") {
            return Ok(Delivery::Ignore("ping"));
        }
        let o: WooOrder =
            serde_json::from_slice(body).map_err(|e| format!("not a WooCommerce order: {e}"))?;
        let status = match o.status.as_str() {
            "completed" | "processing" | "on-hold" => "completed",
            "cancelled" | "refunded" | "failed" | "trash" => "cancelled",
            _ => return Ok(Delivery::Ignore("order not paid")),
        };
        let id = match &o.id {
            Value::Number(n) => n.to_string(),
            Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err("the order has no id".into()),
        };
        let billing = o.billing.as_ref();
        let text = |v: Option<&String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let identity = if let Some(email) = text(billing.and_then(|b| b.email.as_ref())) {
            ("email".to_string(), email)
        } else if let Some(phone) = text(billing.and_then(|b| b.phone.as_ref())) {
            ("phone".to_string(), phone)
        } else {
            match o
                .customer_id
                .as_ref()
                .map(|v| v.to_string().trim_matches('"').to_string())
            {
                Some(c) if !c.is_empty() && c != "0" => {
                    ("external".to_string(), format!("woocommerce:{c}"))
                }
                _ => {
                    return Err(
                        "the order names no customer (billing email, phone or customer id)".into(),
                    )
                }
            }
        };
        let name = billing.map(|b| {
            let parts = [text(b.first_name.as_ref()), text(b.last_name.as_ref())];
            parts.into_iter().flatten().collect::<Vec<_>>().join(" ")
        });
        let created = o.date_created_gmt.as_deref().map(|t| format!("{t}Z"));
        let placed_at = match (created, o.date_created.as_deref()) {
            (Some(t), _) => parse::time(&t)?,
            (None, Some(t)) => parse::time(t)?,
            (None, None) => crate::store::now_ms(),
        };
        Ok(Delivery::Order(ShopOrder {
            identity,
            name: name.filter(|n| !n.is_empty()),
            external_id: format!("woocommerce:{id}"),
            amount_e4: parse::json_amount(&o.total)?,
            currency: o.currency.as_deref().map(parse::currency).transpose()?,
            status: status.into(),
            placed_at,
        }))
    }
}

/// A shop's order webhook (no login: the delivery's signature is checked with the
/// platform's secret, e.g. `value.woocommerce_secret`). Answers `{stored, order}` or
/// `{ignored}`.
#[utoipa::path(post, path = "/shops/{platform}/orders", tag = "orders", security(()), request_body(content = String, content_type = "application/json"), params(("platform" = String, Path, description = "woocommerce")), responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn shop_webhook(
    State(state): State<AppState>,
    ApiPath(platform): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let shop = mapping(&platform).ok_or(ApiError::NotFound("shop platform"))?;
    let secret = shop.secret(&state);
    if secret.is_empty() {
        return Err(ApiError::NotFound("shop platform"));
    }
    if !shop.verify(&headers, &body, secret) {
        return Err(ApiError::Unauthorized);
    }
    let order = match shop.delivery(&headers, &body) {
        Ok(Delivery::Order(o)) => o,
        Ok(Delivery::Ignore(why)) => return Ok((StatusCode::OK, Json(json!({"ignored": why})))),
        Err(why) => return Err(ApiError::invalid("invalid_order", why)),
    };
    let region = &state.settings.text.default_region;
    let (kind, raw) = &order.identity;
    let value = crate::customers::normalise_identity(kind, raw, region)?;
    let currency = order
        .currency
        .clone()
        .unwrap_or_else(|| super::order_currency(&state));
    let value_currency = state.settings.value.default_currency.clone();
    let mut tx = state.store.begin().await?;
    let result = async {
        let (customer_id, _) =
            crate::customers::find_or_create(&mut tx, kind, &value, raw, order.name.as_deref())
                .await?;
        let new = NewOrder {
            customer_id,
            external_id: order.external_id.clone(),
            source: shop.name().into(),
            amount_e4: order.amount_e4,
            currency,
            status: order.status.clone(),
            placed_at: order.placed_at,
        };
        let changed = crate::value::value_changed(&new.customer_id);
        crate::events::record(&mut tx, &changed).await?;
        Ok::<_, ApiError>((
            super::upsert(&mut tx, &new, &value_currency).await?,
            changed,
        ))
    }
    .await;
    let (created, changed) = tx.finish(result).await?;
    state.bus.publish(changed).await;
    crate::value::refit_soon(&state);
    let stored = super::by_external_id(state.store.pool(), &order.external_id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"stored": created, "order": stored}))))
}

//! `POST /orders`, `GET /customers/{id}/orders`, `POST /orders/import` and the shops'
//! order webhooks.

use super::{order_currency, parse, status, NewOrder, Order, SCOPE};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{now_ms, Tx};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order))
        .routes(routes!(customer_orders))
        .routes(routes!(super::import::import_orders))
        .routes(routes!(super::shop::shop_webhook))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIdentity {
    /// `email`, `phone` or `external`.
    pub kind: String,
    pub value: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The customer, or else `identity` (an unknown identity creates the customer).
    pub customer_id: Option<String>,
    pub identity: Option<OrderIdentity>,
    /// The order's id in the shop; a second order with the same id is not stored again.
    pub external_id: String,
    /// A number or a decimal string; negative for a refund.
    #[schema(value_type = Object)]
    pub amount: serde_json::Value,
    /// Three-letter code (IRR, IRT, USD, …); default `value.order_currency`.
    pub currency: Option<String>,
    /// RFC 3339 or YYYY-MM-DD; default now.
    pub placed_at: Option<String>,
    /// `completed` (default) or `cancelled`.
    pub status: Option<String>,
}

fn field(code: &'static str) -> impl Fn(String) -> ApiError {
    move |m| ApiError::invalid(code, m)
}

/// The customer an order names, inside `tx` (following merges; creating one for an
/// unknown identity).
async fn order_customer(state: &AppState, tx: &mut Tx, input: &OrderInput) -> ApiResult<String> {
    match (&input.customer_id, &input.identity) {
        (Some(id), None) => {
            let row: Option<(Option<String>,)> =
                sqlx::query_as("SELECT merged_into FROM customers WHERE id = $1")
                    .bind(id)
                    .fetch_optional(tx.conn())
                    .await?;
            match row {
                Some((merged,)) => Ok(merged.unwrap_or_else(|| id.clone())),
                None => Err(ApiError::NotFound("customer")),
            }
        }
        (None, Some(ident)) => {
            if !matches!(ident.kind.as_str(), "email" | "phone" | "external") {
                return Err(ApiError::invalid(
                    "invalid_identity_kind",
                    "identity kind must be email, phone or external",
                ));
            }
            let region = &state.settings.text.default_region;
            let value = crate::customers::normalise_identity(&ident.kind, &ident.value, region)?;
            let (id, _) =
                crate::customers::find_or_create(tx, &ident.kind, &value, ident.value.trim(), None)
                    .await?;
            Ok(id)
        }
        _ => Err(ApiError::invalid(
            "invalid_customer",
            "give exactly one of `customer_id` and `identity`",
        )),
    }
}

/// Record one order (supervisor, or an API token with the `orders` scope). Idempotent by
/// `external_id`: a repeat answers 200 with the order as first stored.
#[utoipa::path(post, path = "/orders", tag = "orders", request_body = OrderInput, responses((status = 201, body = Order), (status = 200, body = Order), (status = 422, body = crate::error::ErrorBody)))]
async fn create_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    caller.require(Role::Supervisor, SCOPE)?;
    let external_id =
        parse::external_id(&input.external_id).map_err(field("invalid_external_id"))?;
    let amount_e4 = parse::json_amount(&input.amount).map_err(field("invalid_amount"))?;
    let currency = match &input.currency {
        Some(c) => parse::currency(c).map_err(field("invalid_currency"))?,
        None => order_currency(&state),
    };
    let placed_at = match &input.placed_at {
        Some(t) => parse::time(t).map_err(field("invalid_placed_at"))?,
        None => now_ms(),
    };
    let status = status(input.status.as_deref()).map_err(field("invalid_status"))?;
    let mut tx = state.store.begin().await?;
    let result = async {
        let customer_id = order_customer(&state, &mut tx, &input).await?;
        let changed = crate::value::value_changed(&customer_id);
        let order = NewOrder {
            customer_id,
            external_id: external_id.clone(),
            source: "api".into(),
            amount_e4,
            currency,
            status,
            placed_at,
        };
        let value_currency = state.settings.value.default_currency.clone();
        let written = super::insert(&mut tx, &[order], &value_currency).await?;
        if written.stored == 1 {
            crate::events::record(&mut tx, &changed).await?;
        }
        Ok::<_, ApiError>((written, changed))
    }
    .await;
    let (written, changed) = tx.finish(result).await?;
    let order = super::by_external_id(state.store.pool(), &external_id).await?;
    if written.stored == 1 {
        state.bus.publish(changed).await;
        crate::value::refit_soon(&state);
        Ok((StatusCode::CREATED, Json(order)))
    } else {
        Ok((StatusCode::OK, Json(order)))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersParams {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A customer's orders, newest first (agents, or API tokens with the `orders` scope).
#[utoipa::path(get, path = "/customers/{id}/orders", tag = "orders", params(("id" = String, Path), OrdersParams), responses((status = 200, body = Page<Order>), (status = 404, body = crate::error::ErrorBody)))]
async fn customer_orders(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<OrdersParams>,
) -> ApiResult<Json<Page<Order>>> {
    caller.require(Role::Agent, SCOPE)?;
    crate::customers::get(&state.store, &id)
        .await
        .map_err(ApiError::missing("customer"))?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let before = match &p.cursor {
        Some(c) => {
            let key = decode_cursor(c)?;
            let (at, id) = key
                .split_once(':')
                .and_then(|(a, i)| Some((a.parse::<i64>().ok()?, i.to_string())))
                .ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?;
            Some((at, id))
        }
        None => None,
    };
    let items = super::list_for_customer(state.store.pool(), &id, before, limit + 1)
        .await
        .map_err(ApiError::missing("customer"))?;
    Ok(Json(finish(items, limit, |o: &Order| {
        format!("{}:{}", o.placed_ms, o.id)
    })))
}

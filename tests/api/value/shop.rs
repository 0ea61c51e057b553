//! The WooCommerce order webhook: signed deliveries stored once, updates applied, bad
//! signatures refused.
use super::*;
use crate::storage_tests;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

const SECRET: &str = "wc-secret";

fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn deliver(app: &TestApp, body: &[u8], signature: &str) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/api/v1/shops/woocommerce/orders"))
        .header("content-type", "application/json")
        .header("x-wc-webhook-signature", signature)
        .header("x-wc-webhook-topic", "order.created")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

fn woo_order(status: &str, total: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": 7301, "status": status, "currency": "IRT", "total": total,
        "date_created": "2026-04-01T12:30:00", "date_created_gmt": "2026-04-01T09:00:00",
        "customer_id": 12,
        "billing": {"first_name": "مریم", "last_name": "احمدی", "email": "Maryam@Example.ir", "phone": "09121112233"},
        "line_items": [{"name": "کتاب", "quantity": 2, "total": total}]
    }))
    .unwrap()
}

async fn signed_woocommerce_orders_are_stored_once_and_updated(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.value.default_currency = "IRT".into();
        s.value.woocommerce_secret = SECRET.into();
        s.value.refit_after_orders_secs = 3600;
    })
    .await;
    // WooCommerce's ping when the webhook is saved.
    let ping = b"webhook_id=3";
    let (s, body) = deliver(&app, ping, &sign(ping, SECRET)).await;
    assert_eq!(
        (s, body["ignored"].as_str()),
        (StatusCode::OK, Some("ping"))
    );
    let order = woo_order("processing", "450000");
    let (s, body) = deliver(&app, &order, &sign(&order, "wrong")).await;
    assert_error(s, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, body) = deliver(&app, &order, "not base64!").await;
    assert_error(s, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, body) = deliver(&app, &order, &sign(&order, SECRET)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["order"]["external_id"], "woocommerce:7301");
    assert_eq!(body["order"]["source"], "woocommerce");
    assert_eq!(body["order"]["currency"], "IRT");
    assert_eq!(body["order"]["placed_at"], "2026-04-01T09:00:00.000Z");
    let customer = customer_id(&app, "maryam@example.ir").await;
    let (_, c) = app
        .get(&format!("/api/v1/customers/{customer}"), &app.admin_token)
        .await;
    assert_eq!(c["name"], "مریم احمدی");
    assert_eq!(c["value"]["total"], 450000.0, "{c}");
    // The same delivery again changes nothing; a refund cancels the order.
    let (s, _) = deliver(&app, &order, &sign(&order, SECRET)).await;
    assert_eq!(s, StatusCode::OK);
    let refunded = woo_order("refunded", "450000");
    let (s, body) = deliver(&app, &refunded, &sign(&refunded, SECRET)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["order"]["status"], "cancelled");
    let (_, c) = app
        .get(&format!("/api/v1/customers/{customer}"), &app.admin_token)
        .await;
    assert_eq!(
        (c["value"]["orders"].as_u64(), c["value"]["total"].as_f64()),
        (Some(0), Some(0.0)),
        "{c}"
    );
    let (_, orders) = app
        .get(
            &format!("/api/v1/customers/{customer}/orders"),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        orders["items"].as_array().unwrap().len(),
        1,
        "stored once: {orders}"
    );
    // Unpaid orders are acknowledged and ignored; garbage is refused.
    let pending = woo_order("pending", "10");
    let (s, body) = deliver(&app, &pending, &sign(&pending, SECRET)).await;
    assert_eq!(
        (s, body["ignored"].as_str()),
        (StatusCode::OK, Some("order not paid"))
    );
    let junk = b"{\"hello\": 1}";
    let (s, body) = deliver(&app, junk, &sign(junk, SECRET)).await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_order");
}

async fn the_shop_webhook_is_off_without_a_secret(b: Backend) {
    let app = value_app(b).await;
    let order = woo_order("completed", "1");
    let (s, body) = deliver(&app, &order, &sign(&order, "")).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
}

storage_tests!(
    signed_woocommerce_orders_are_stored_once_and_updated,
    the_shop_webhook_is_off_without_a_secret,
);

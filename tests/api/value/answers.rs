//! Every answer about one customer carries their `value`, as `GET /customers/{id}` does: the
//! console shows the answer of an edit, an identity added or a merge as the profile, and
//! without it the profile read "no orders yet" for a customer with orders.
use super::*;
use crate::storage_tests;
use serde_json::json;

async fn order(app: &TestApp, email: &str, external_id: &str, amount: &str) {
    let (s, o) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"identity": {"kind": "email", "value": email}, "external_id": external_id,
                   "amount": amount, "placed_at": "2026-03-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
}

async fn the_answers_to_changes_carry_the_customers_value(b: Backend) {
    let app = value_app(b).await;
    order(&app, "ana@example.com", "A-1", "40").await;
    order(&app, "ana@example.com", "A-2", "60").await;
    order(&app, "bo@example.com", "B-1", "25").await;
    let (ana, bo) = (
        customer_id(&app, "ana@example.com").await,
        customer_id(&app, "bo@example.com").await,
    );

    let (s, edited) = app
        .patch(
            &format!("/api/v1/customers/{ana}"),
            &app.admin_token,
            json!({"name": "Ana"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{edited}");
    assert_eq!(edited["name"], "Ana");
    assert_eq!(edited["value"]["orders"], 2, "{edited}");
    assert_eq!(edited["value"]["total"], 100.0, "{edited}");

    let (s, more) = app
        .post(
            &format!("/api/v1/customers/{ana}/identities"),
            &app.admin_token,
            json!({"kind": "phone", "value": "+989121234567"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{more}");
    assert_eq!(more["value"]["orders"], 2, "{more}");

    let (s, merged) = app
        .post(
            &format!("/api/v1/customers/{ana}/merge"),
            &app.admin_token,
            json!({"source_id": bo}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    assert_eq!(merged["value"]["orders"], 3, "{merged}");
    assert_eq!(merged["value"]["total"], 125.0, "{merged}");
    // The same as reading the profile.
    let (s, read) = app
        .get(&format!("/api/v1/customers/{ana}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{read}");
    assert_eq!(read["value"], merged["value"]);
}

storage_tests!(the_answers_to_changes_carry_the_customers_value);

//! Orders through the API and the CSV import.
use super::*;
use crate::storage_tests;
use serde_json::json;

async fn an_order_is_stored_once_and_listed_on_its_customer(b: Backend) {
    let app = value_app(b).await;
    let order = json!({"identity": {"kind": "email", "value": "Sara@Example.com"},
        "external_id": "shop-1", "amount": "1250.50", "currency": "irt", "placed_at": "2026-01-05"});
    let (s, first) = app
        .post("/api/v1/orders", &app.admin_token, order.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["amount"], 1250.5);
    assert_eq!(first["currency"], "IRT");
    assert_eq!(first["status"], "completed");
    assert_eq!(first["placed_at"], "2026-01-05T00:00:00.000Z");
    // The same external id again (even with another amount) is the stored order, not a new one.
    let mut again = order.clone();
    again["amount"] = json!(99);
    let (s, second) = app.post("/api/v1/orders", &app.admin_token, again).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["amount"], 1250.5);
    // The identity made the customer; a second order by customer id joins them.
    let customer = customer_id(&app, "sara@example.com").await;
    assert_eq!(first["customer_id"], customer.as_str());
    let (s, o2) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"customer_id": customer, "external_id": "shop-2", "amount": 10, "currency": "IRT"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o2}");
    let (s, list) = app
        .get(
            &format!("/api/v1/customers/{customer}/orders?limit=1"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(
        list["items"][0]["external_id"], "shop-2",
        "newest first: {list}"
    );
    let cursor = list["next_cursor"].as_str().expect("a second page");
    let (_, page2) = app
        .get(
            &format!("/api/v1/customers/{customer}/orders?limit=1&cursor={cursor}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(page2["items"][0]["external_id"], "shop-1");
    assert!(page2["next_cursor"].is_null());
}

async fn bad_orders_get_clear_errors_and_store_nothing(b: Backend) {
    let app = value_app(b).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let ok = json!({"identity": {"kind": "email", "value": "a@example.com"}, "external_id": "x1", "amount": 5});
    let (s, body) = app.post("/api/v1/orders", &agent, ok.clone()).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let cases = [
        (json!({"amount": "12,5"}), "invalid_amount"),
        (json!({"amount": true}), "invalid_amount"),
        (json!({"currency": "toman"}), "invalid_currency"),
        (json!({"placed_at": "last tuesday"}), "invalid_placed_at"),
        (json!({"status": "shipped"}), "invalid_status"),
        (json!({"external_id": " "}), "invalid_external_id"),
        (json!({"customer_id": "c1"}), "invalid_customer"),
        (
            json!({"identity": {"kind": "visitor", "value": "v"}}),
            "invalid_identity_kind",
        ),
        (
            json!({"identity": {"kind": "phone", "value": "12"}}),
            "invalid_phone",
        ),
    ];
    for (change, code) in cases {
        let mut body = ok.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, answer) = app.post("/api/v1/orders", &app.admin_token, body).await;
        assert_error(s, &answer, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let (s, body) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"customer_id": "nobody", "external_id": "x1", "amount": 5}),
        )
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    // Nothing was stored: no customer was created by the refused orders.
    let (_, list) = app.get("/api/v1/customers", &app.admin_token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    // An integration with the `orders` scope may write orders.
    let token = app.api_token(&["orders"]).await;
    let (s, body) = app.post("/api/v1/orders", &token, ok).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

async fn a_csv_import_reports_imported_duplicates_and_rejected_lines(b: Backend) {
    let app = value_app(b).await;
    // An existing customer with a phone number: the import finds them by any digits.
    let (s, known) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Reza", "identities": [{"kind": "phone", "value": "+989121234567"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{known}");
    let csv = "customer,external_id,amount,placed_at,currency\n\
               ۰۹۱۲۱۲۳۴۵۶۷,o-1,120000,2026-02-01,IRR\n\
               Nima@Example.com,o-2,50.25,2026-02-02T10:00:00Z,USD\n\
               crm-77,o-3,-20,2026-02-03,\n\
               nima@example.com,o-4,abc,2026-02-04,USD\n\
               external:0912000,o-5,5,2026-02-05,USD\n\
               nima@example.com,o-2,50.25,2026-02-02,USD\n\
               bad@,o-6,5,2026-02-06,USD\n\
               nima@example.com,o-7,5,someday,USD\n";
    let (s, report) = import(&app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 4, "{report}");
    assert_eq!(report["duplicates"], 1, "{report}");
    let rejected: Vec<u64> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, vec![5, 8, 9], "{report}");
    assert!(report["rejected"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("abc"));
    // The phone matched the known customer; the email and the external ids made new ones.
    let reza = known["id"].as_str().unwrap();
    let (_, orders) = app
        .get(
            &format!("/api/v1/customers/{reza}/orders"),
            &app.admin_token,
        )
        .await;
    assert_eq!(orders["items"][0]["external_id"], "o-1", "{orders}");
    assert_eq!(orders["items"][0]["currency"], "IRR");
    let crm = customer_id(&app, "crm-77").await;
    let (_, orders) = app
        .get(&format!("/api/v1/customers/{crm}/orders"), &app.admin_token)
        .await;
    assert_eq!(orders["items"][0]["amount"], -20.0);
    assert_eq!(
        orders["items"][0]["currency"], "USD",
        "the deployment's order currency"
    );
    customer_id(&app, "0912000").await;
    // The same file again stores nothing twice.
    let (s, again) = import(&app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (again["imported"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(5))
    );
}

async fn a_bad_csv_header_or_content_type_is_refused_before_anything_is_stored(b: Backend) {
    let app = value_app(b).await;
    let (s, body) = import(
        &app,
        &app.admin_token,
        "customer,order,amount,placed_at\na@b.c,1,2,2026-01-01\n",
    )
    .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv");
    assert!(body["error"].as_str().unwrap().contains("order"), "{body}");
    let (s, body) = import(
        &app,
        &app.admin_token,
        "customer,external_id,amount\na@b.c,1,2\n",
    )
    .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv");
    let resp = app
        .client
        .post(app.url("/api/v1/orders/import"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, body) = import(&app, &agent, "customer,external_id,amount,placed_at\n").await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (_, list) = app.get("/api/v1/customers", &app.admin_token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
}

async fn a_large_import_is_stored_in_batches_with_every_line_counted(b: Backend) {
    let app = value_app_with(b, |s| {
        s.value.import_batch = 100;
    })
    .await;
    let mut csv = String::from("customer,external_id,amount,placed_at\n");
    for i in 0..2_500 {
        csv.push_str(&format!(
            "c{}@example.com,big-{i},{}.5,2026-03-01\n",
            i % 700,
            i % 40
        ));
    }
    // A line repeated across batches is a duplicate.
    csv.push_str("c1@example.com,big-7,1,2026-03-01\n");
    let (s, report) = import(&app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["imported"].as_u64(), report["duplicates"].as_u64()),
        (Some(2500), Some(1))
    );
    // c1 bought in lines 1, 701, 1401 and 2101 (the repeated line was not stored).
    let c1 = customer_id(&app, "c1@example.com").await;
    let (_, c) = app
        .get(&format!("/api/v1/customers/{c1}"), &app.admin_token)
        .await;
    assert_eq!(c["value"]["orders"], 4, "{c}");
    assert_eq!(c["value"]["total"], 1.5 + 21.5 + 1.5 + 21.5, "{c}");
}

storage_tests!(
    an_order_is_stored_once_and_listed_on_its_customer,
    bad_orders_get_clear_errors_and_store_nothing,
    a_csv_import_reports_imported_duplicates_and_rejected_lines,
    a_bad_csv_header_or_content_type_is_refused_before_anything_is_stored,
    a_large_import_is_stored_in_batches_with_every_line_counted,
);

//! Each customer's figures, RFM scores and segment, lifetime value and lists by value,
//! against hand-computed expectations.
use super::*;
use crate::storage_tests;
use serde_json::json;

const DAY_MS: i64 = 86_400_000;

/// An RFC 3339 time `days` days before now.
fn days_ago(days: i64) -> String {
    let ms = switchboard::store::now_ms() - days * DAY_MS;
    switchboard::store::ms_to_rfc3339(ms)
}

/// Five customers (amounts in USD, days ago):
///   a: 100 @300, 100 @200, 100 @10   → 3 purchases, total 300
///   b: 50 @20                        → 1, total 50
///   c: 20 @100, 40 @50               → 2, total 60
///   d: 10 @250                       → 1, total 10
///   e: 200 @150, refund −50 @140     → 1, total 150
/// Quintile boundaries (largest value of each fifth, ascending):
///   recency (last purchase day) d < e < c < b < a → R: d1 e2 c3 b4 a5
///   frequency [1,1,1,2,3] → boundaries 1,1,1,2 → F: b1 d1 e1 c4 a5
///   monetary [10,50,60,150,300] → boundaries 10,50,60,150 → M: d1 b2 c3 e4 a5
/// FM = (F + M + 1) / 2: a 5 → Champions; b (4, 2) → Potential loyalist; c (3, 4) → Loyal;
/// d (1, 1) → Lost; e (2, 3) → At risk. The median total is 60.
pub(super) async fn five_customers(
    app: &TestApp,
) -> std::collections::HashMap<&'static str, String> {
    let orders: [(&str, i64, &str); 10] = [
        ("a", 300, "100"),
        ("a", 200, "100"),
        ("a", 10, "100"),
        ("b", 20, "50"),
        ("c", 100, "20"),
        ("c", 50, "40"),
        ("d", 250, "10"),
        ("e", 150, "200"),
        ("e", 140, "-50"),
        ("x", 5, "1000"),
    ];
    for (n, (who, ago, amount)) in orders.iter().enumerate() {
        let mut body = json!({"identity": {"kind": "email", "value": format!("{who}@example.com")},
            "external_id": format!("o{n}"), "amount": amount, "placed_at": days_ago(*ago)});
        if *who == "x" {
            // Another currency: kept, listed, never mixed into the dollar figures.
            body["currency"] = json!("EUR");
        }
        let (s, o) = app.post("/api/v1/orders", &app.admin_token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
    }
    let mut ids = std::collections::HashMap::new();
    for who in ["a", "b", "c", "d", "e"] {
        ids.insert(who, customer_id(app, &format!("{who}@example.com")).await);
    }
    ids
}

async fn value(app: &TestApp, id: &str) -> Value {
    let (s, c) = app
        .get(&format!("/api/v1/customers/{id}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c["value"].clone()
}

fn close(got: &Value, want: f64) -> bool {
    got.as_f64().is_some_and(|g| (g - want).abs() < 1e-9)
}

async fn figures_show_at_once_and_scores_follow_the_refit(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    // Before any refit: figures from the orders, no model yet.
    let a = value(&app, &ids["a"]).await;
    assert_eq!(a["orders"], 3, "{a}");
    assert!(
        close(&a["total"], 300.0) && close(&a["average"], 100.0),
        "{a}"
    );
    assert_eq!(a["currency"], "USD");
    assert!(
        a["rfm"].is_null() && a["clv"].is_null() && a["times_median"].is_null(),
        "{a}"
    );
    assert_eq!(
        a["first_order_at"].as_str().unwrap()[..10],
        days_ago(300)[..10]
    );
    let e = value(&app, &ids["e"]).await;
    assert_eq!(e["orders"], 1, "a refund is no purchase: {e}");
    assert!(
        close(&e["total"], 150.0) && close(&e["average"], 150.0),
        "{e}"
    );
    // Other currencies are counted apart, per currency, never in the dollar figures.
    assert_eq!(a["other_currencies"], json!([]), "{a}");
    let x = value(&app, &customer_id(&app, "x@example.com").await).await;
    assert_eq!(
        (x["orders"].as_u64(), x["total"].as_f64()),
        (Some(0), Some(0.0)),
        "{x}"
    );
    assert_eq!(
        x["other_currencies"],
        json!([{"currency": "EUR", "orders": 1, "total": 1000.0}]),
        "{x}"
    );
    // A refit on demand (supervisor).
    let (_, sup) = app.agent("sup@example.com", "supervisor", json!({})).await;
    let (s, model) = app
        .post("/api/v1/insights/customer-value/refit", &sup, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{model}");
    assert_eq!(
        (model["customers"].as_u64(), model["orders"].as_u64()),
        (Some(5), Some(8)),
        "{model}"
    );
    assert!(close(&model["median_total"], 60.0), "{model}");
    assert_eq!(
        model["rfm"]["frequency_boundaries"],
        json!([1.0, 1.0, 1.0, 2.0])
    );
    assert_eq!(
        model["rfm"]["monetary_boundaries"],
        json!([10.0, 50.0, 60.0, 150.0])
    );
    let expected = [
        ("a", [5, 5, 5], "Champions", 5.0),
        ("b", [4, 1, 2], "Potential loyalist", 50.0 / 60.0),
        ("c", [3, 4, 3], "Loyal", 1.0),
        ("d", [1, 1, 1], "Lost", 10.0 / 60.0),
        ("e", [2, 1, 4], "At risk", 2.5),
    ];
    for (who, [r, f, m], segment, times) in expected {
        let v = value(&app, &ids[who]).await;
        assert_eq!(
            v["rfm"],
            json!({"r": r, "f": f, "m": m, "segment": segment}),
            "{who}: {v}"
        );
        assert!(close(&v["times_median"], times), "{who}: {v}");
        let clv = &v["clv"];
        assert_eq!(clv["horizon_days"], 365, "{v}");
        let p = clv["p_alive"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{v}");
        assert!(clv["expected_orders"].as_f64().unwrap() >= 0.0, "{v}");
    }
    // Without repeat purchases a customer cannot have dropped out (BG/NBD).
    assert_eq!(value(&app, &ids["d"]).await["clv"]["p_alive"], 1.0);
    // Segment sizes and revenue shares: 570 dollars in all, a's 300.
    let champions = &model["segments"][0];
    assert_eq!(champions["segment"], "Champions");
    assert_eq!(champions["customers"], 1);
    assert!(close(&champions["revenue_share"], 300.0 / 570.0), "{model}");
    let sizes: u64 = model["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(sizes, 5);
    // The stored model is what the insights show without a date.
    let (s, stored) = app.get("/api/v1/insights/customer-value", &sup).await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    assert_eq!(stored["fitted_at"], model["fitted_at"]);
    assert_eq!(stored["stored"], true);
}

async fn lists_filter_by_segment_and_sort_by_value(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    super::refit(&app).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, list) = app.get("/api/v1/customers?segment=champions", &agent).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], ids["a"].as_str());
    assert_eq!(items[0]["value"]["rfm"]["segment"], "Champions");
    let (_, at_risk) = app.get("/api/v1/customers?segment=At%20risk", &agent).await;
    assert_eq!(at_risk["items"][0]["id"], ids["e"].as_str(), "{at_risk}");
    // Highest value first, two per page.
    let mut order = Vec::new();
    let mut path = "/api/v1/customers?sort=-value&limit=2".to_string();
    loop {
        let (s, page) = app.get(&path, &agent).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        order.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/customers?sort=-value&limit=2&cursor={c}"),
            None => break,
        }
    }
    let want: Vec<String> = ["a", "e", "c", "b", "d"]
        .iter()
        .map(|w| ids[w].clone())
        .collect();
    assert_eq!(order, want);
    let (_, asc) = app
        .get("/api/v1/customers?sort=value&limit=1", &agent)
        .await;
    assert_eq!(asc["items"][0]["id"], ids["d"].as_str());
    let (s, body) = app.get("/api/v1/customers?segment=whales", &agent).await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_segment",
    );
    let (s, body) = app.get("/api/v1/customers?sort=name", &agent).await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_sort");
    // Insights are for supervisors.
    let (s, body) = app.get("/api/v1/insights/customer-value", &agent).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .post("/api/v1/insights/customer-value/refit", &agent, json!({}))
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .get(
            "/api/v1/insights/customer-value?as_of=someday",
            &app.admin_token,
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_as_of");
}

async fn orders_arriving_trigger_a_background_refit(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.value.default_currency = "USD".into();
        s.value.refit_after_orders_secs = 0;
    })
    .await;
    let (s, body) = app
        .get("/api/v1/insights/customer-value", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], false, "no model stored yet: {body}");
    five_customers(&app).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, m) = app
            .get("/api/v1/insights/customer-value", &app.admin_token)
            .await;
        if m["stored"] == true && m["customers"] == 5 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no refit after the orders: {m}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn the_key_customers_report_ranks_by_value_and_clv_and_exports_csv(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    super::refit(&app).await;
    let (s, top) = app
        .get("/api/v1/insights/key-customers?limit=2", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{top}");
    let items = top["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{top}");
    assert_eq!(items[0]["customer_id"], ids["a"].as_str());
    assert_eq!(items[0]["email"], "a@example.com");
    assert_eq!(items[0]["segment"], "Champions");
    assert!(
        close(&items[0]["total"], 300.0) && close(&items[1]["total"], 150.0),
        "{top}"
    );
    // By lifetime value: every customer, highest first, with the profile's figures.
    let (_, by_clv) = app
        .get("/api/v1/insights/key-customers?by=clv", &app.admin_token)
        .await;
    let clvs: Vec<f64> = by_clv["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clv"].as_f64().unwrap())
        .collect();
    assert_eq!(clvs.len(), 5, "{by_clv}");
    assert!(clvs.windows(2).all(|w| w[0] >= w[1]), "{clvs:?}");
    let first = by_clv["items"][0]["customer_id"].as_str().unwrap();
    let (_, profile) = app
        .get(&format!("/api/v1/customers/{first}"), &app.admin_token)
        .await;
    let expected = profile["value"]["clv"]["expected_value"].as_f64().unwrap();
    assert!(
        (expected - clvs[0]).abs() < 0.01 * expected.max(1.0),
        "{expected} vs {clvs:?}"
    );
    // CSV export.
    let resp = app
        .client
        .get(app.url("/api/v1/insights/key-customers?format=csv&limit=1"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "customer_id,name,email,phone,segment,orders,total,clv,p_alive"
    );
    assert!(
        lines[1].starts_with(&format!("{},,a@example.com,,Champions,3,300,", ids["a"])),
        "{text}"
    );
    assert_eq!(lines.len(), 2);
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, body) = app.get("/api/v1/insights/key-customers", &agent).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .get("/api/v1/insights/key-customers?by=mood", &app.admin_token)
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_by");
}

async fn a_segment_rule_makes_champions_vip_at_the_refit(b: Backend) {
    let app = value_app_with(b, |s| {
        s.value.tier_from_segment = "champions=VIP, Loyal=gold, nonsense=x".into();
    })
    .await;
    let ids = five_customers(&app).await;
    // b's tier is set by hand and kept even if a rule named its segment.
    let (s, _) = app
        .patch(
            &format!("/api/v1/customers/{}", ids["b"]),
            &app.admin_token,
            json!({"tier": "staff"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    super::refit(&app).await;
    let tier = |who: &'static str| {
        let id = ids[who].clone();
        let app = &app;
        async move {
            app.get(&format!("/api/v1/customers/{id}"), &app.admin_token)
                .await
                .1["tier"]
                .clone()
        }
    };
    assert_eq!(tier("a").await, "vip");
    assert_eq!(tier("c").await, "gold");
    assert_eq!(tier("b").await, "staff");
    assert_eq!(tier("d").await, "standard");
}

/// The segment stored for `customer` (what lists filter on).
async fn stored_segment(app: &TestApp, customer: &str) -> Option<String> {
    let (segment,): (Option<String>,) =
        sqlx::query_as("SELECT segment FROM customer_values WHERE customer_id = $1")
            .bind(customer)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    segment
}

async fn a_refit_writes_the_segments_that_changed(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    let refit = || super::refit(&app);
    let a_and_e = || async {
        [
            stored_segment(&app, &ids["a"]).await,
            stored_segment(&app, &ids["e"]).await,
        ]
    };
    refit().await;
    assert_eq!(
        a_and_e().await,
        [Some("Champions".into()), Some("At risk".into())]
    );
    // A segment gone stale (as orders arriving between refits leave it) is written again;
    // one that did not change stays as it was.
    sqlx::query("UPDATE customer_values SET segment = 'Lost' WHERE customer_id = $1")
        .bind(&ids["a"])
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let (_, lost) = app
        .get("/api/v1/customers?segment=lost", &app.admin_token)
        .await;
    assert!(lost.to_string().contains(ids["a"].as_str()), "{lost}");
    refit().await;
    assert_eq!(
        a_and_e().await,
        [Some("Champions".into()), Some("At risk".into())]
    );
    let (_, lost) = app
        .get("/api/v1/customers?segment=lost", &app.admin_token)
        .await;
    assert!(!lost.to_string().contains(ids["a"].as_str()), "{lost}");
    let (_, champions) = app
        .get("/api/v1/customers?segment=champions", &app.admin_token)
        .await;
    assert_eq!(
        champions["items"][0]["id"],
        ids["a"].as_str(),
        "{champions}"
    );
}

storage_tests!(
    a_segment_rule_makes_champions_vip_at_the_refit,
    a_refit_writes_the_segments_that_changed,
    figures_show_at_once_and_scores_follow_the_refit,
    lists_filter_by_segment_and_sort_by_value,
    orders_arriving_trigger_a_background_refit,
    the_key_customers_report_ranks_by_value_and_clv_and_exports_csv,
);

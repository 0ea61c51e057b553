//! Serving by value: in a queue with `serve_by_value` a Champion's conversation is offered
//! before an earlier one of a lapsed customer, and with points for lifetime value the higher
//! one first; in a plain queue arrival order stands.
use super::figures::five_customers;
use super::*;
use crate::storage_tests;
use serde_json::json;
use std::time::Duration;

async fn make_queue(app: &TestApp, body: Value) -> Value {
    let (s, q) = app.post("/api/v1/queues", &app.admin_token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    q
}

/// An agent with one skill and room for one `api` conversation, away for now.
async fn away_agent(app: &TestApp, email: &str, skill: &str) -> String {
    let extra = json!({"skills": [skill], "capacity": {"api": 1}});
    let (_, token) = app.agent(email, "agent", extra).await;
    presence(app, &token, "away").await;
    token
}

async fn presence(app: &TestApp, token: &str, status: &str) {
    let (s, body) = app
        .put(
            "/api/v1/agents/me/presence",
            token,
            json!({ "status": status }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// The conversation of the agent's first offer (waiting up to 15 s for one).
async fn first_offer(app: &TestApp, token: &str) -> String {
    for _ in 0..150 {
        let (s, body) = app.get("/api/v1/offers", token).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        if let Some(o) = body["items"].as_array().and_then(|i| i.first()) {
            return o["conversation_id"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no offer came");
}

async fn a_value_queue_offers_the_champion_first_and_a_plain_queue_does_not(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    super::refit(&app).await;
    let (_, a) = app
        .get(&format!("/api/v1/customers/{}", ids["a"]), &app.admin_token)
        .await;
    assert_eq!(a["value"]["rfm"]["segment"], "Champions", "{a}");
    assert_eq!(a["tier"], "standard", "not VIP: only the value raises them");
    let by_value = make_queue(
        &app,
        json!({"name": "Sales", "skills": ["v"], "serve_by_value": true}),
    )
    .await;
    assert_eq!(by_value["serve_by_value"], true);
    let plain = make_queue(&app, json!({"name": "Support", "skills": ["p"]})).await;
    assert_eq!(plain["serve_by_value"], false);
    let v_agent = away_agent(&app, "v@example.com", "v").await;
    let p_agent = away_agent(&app, "p@example.com", "p").await;
    // In each queue the lapsed customer d (segment Lost) writes first, the Champion a second.
    let mut convs = std::collections::HashMap::new();
    for (q, name) in [(&by_value, "value"), (&plain, "plain")] {
        for who in ["d", "a"] {
            let c = app
                .conversation(
                    &app.admin_token,
                    &format!("{who}@example.com"),
                    "Help",
                    json!({"queue_id": q["id"]}),
                )
                .await;
            assert_eq!(c["customer_id"].as_str(), Some(ids[who].as_str()));
            convs.insert((name, who), c["id"].as_str().unwrap().to_string());
        }
    }
    presence(&app, &v_agent, "available").await;
    presence(&app, &p_agent, "available").await;
    assert_eq!(
        first_offer(&app, &v_agent).await,
        convs[&("value", "a")],
        "the value queue offers the Champion first"
    );
    assert_eq!(
        first_offer(&app, &p_agent).await,
        convs[&("plain", "d")],
        "the plain queue keeps arrival order"
    );
    // Turned off by a PATCH (other fields kept).
    let (s, q) = app
        .patch(
            &format!("/api/v1/queues/{}", by_value["id"].as_str().unwrap()),
            &app.admin_token,
            json!({"serve_by_value": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(q["serve_by_value"], false);
    assert_eq!(q["skills"], json!(["v"]));
}

/// With points for lifetime value only (`routing.value_clv_step`), a value queue offers the
/// customer expected to spend the most first, though they wrote last.
async fn a_value_queue_offers_the_higher_lifetime_value_first(b: Backend) {
    let app = value_app_with(b, |s| {
        s.routing.value_segment_priority = Vec::new();
        s.routing.value_clv_step = 1.0;
        s.routing.value_clv_max = 1_000_000;
    })
    .await;
    // A frequent recent buyer, a lapsed small one, and others between them.
    let mut csv = String::from("customer,external_id,amount,placed_at\n");
    let day = |ago: i64| {
        switchboard::store::ms_to_rfc3339(switchboard::store::now_ms() - ago * 86_400_000)
    };
    let mut line = |who: &str, n: usize, ago: i64, amount: i64| {
        csv.push_str(&format!(
            "{who}@example.com,{who}-{n},{amount},{}\n",
            day(ago)
        ));
    };
    for n in 0..6 {
        line("hi", n, 5 + 10 * n as i64, 100);
        if n < 2 {
            line("lo", n, 290 + 10 * n as i64, 10);
        }
        for k in 0..=n % 3 {
            line(&format!("f{n}"), k, 20 + 60 * k as i64 + 7 * n as i64, 40);
        }
    }
    let (s, report) = import(&app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    super::refit(&app).await;
    let (_, by_clv) = app
        .get("/api/v1/insights/key-customers?by=clv", &app.admin_token)
        .await;
    let items = by_clv["items"].as_array().unwrap();
    let (top, low) = (&items[0], &items[items.len() - 1]);
    assert!(
        top["clv"].as_f64().unwrap() >= low["clv"].as_f64().unwrap() + 1.0,
        "a whole point apart: {by_clv}"
    );
    let q = make_queue(
        &app,
        json!({"name": "Sales", "skills": ["v"], "serve_by_value": true}),
    )
    .await;
    let agent = away_agent(&app, "v@example.com", "v").await;
    let mut convs = Vec::new();
    for who in [low, top] {
        let c = app
            .conversation(
                &app.admin_token,
                who["email"].as_str().unwrap(),
                "Help",
                json!({"queue_id": q["id"]}),
            )
            .await;
        convs.push(c["id"].as_str().unwrap().to_string());
    }
    presence(&app, &agent, "available").await;
    assert_eq!(
        first_offer(&app, &agent).await,
        convs[1],
        "the higher lifetime value first: {by_clv}"
    );
}

storage_tests!(
    a_value_queue_offers_the_champion_first_and_a_plain_queue_does_not,
    a_value_queue_offers_the_higher_lifetime_value_first,
);

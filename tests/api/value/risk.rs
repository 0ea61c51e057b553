//! The at-risk flag and value across merges.
use super::*;
use crate::email::support::{eml, stored};
use crate::storage_tests;
use serde_json::json;

async fn value_of(app: &TestApp, id: &str) -> Value {
    let (s, c) = app
        .get(&format!("/api/v1/customers/{id}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c["value"].clone()
}

async fn a_customer_writing_again_and_again_about_one_conversation_is_at_risk(b: Backend) {
    let app = value_app(b).await;
    let mail = |n: usize| {
        let id = format!("Message-ID: <r-{n}@example.com>");
        let reply = format!("In-Reply-To: <r-{}@example.com>", n.saturating_sub(1));
        let mut headers = vec![
            "From: sara@example.com".to_string(),
            "Subject: Where is my order?".into(),
            id,
        ];
        if n > 0 {
            headers.push(reply);
        }
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        eml(&headers, &format!("Message {n}"))
    };
    for n in 0..3 {
        stored(&app, &mail(n), "").await;
    }
    let customer = customer_id(&app, "sara@example.com").await;
    let v = value_of(&app, &customer).await;
    assert_eq!(
        (v["at_risk"].as_bool(), v["at_risk_reasons"].clone()),
        (Some(false), json!([])),
        "{v}"
    );
    // The fourth message on the same conversation (value.at_risk_repeat_contacts = 4).
    stored(&app, &mail(3), "").await;
    let v = value_of(&app, &customer).await;
    assert_eq!(v["at_risk"], true, "{v}");
    assert_eq!(v["at_risk_reasons"], json!(["repeated_contacts"]));
}

/// A chat whose visitor rated it `score` once it was resolved; the visitor's customer, once
/// the rating counts on their profile.
async fn rated_chat(app: &TestApp, score: i64) -> String {
    use crate::chat::client::{site, Visitor};
    let key = site(app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(app, &key, None, None).await;
    let conv = v.say("h", "سفارشم خراب رسید").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, c) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    let customer = c["customer_id"].as_str().unwrap().to_string();
    assert_eq!(value_of(app, &customer).await["at_risk"], false);
    let (s, body) = app
        .patch(
            &format!("/api/v1/conversations/{conv}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    v.next_of("status").await;
    v.send(json!({"type": "rating", "score": score, "comment": "بد"}))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while value_of(app, &customer).await["at_risk"] != true {
        assert!(std::time::Instant::now() < deadline, "rating never counted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    customer
}

async fn a_negative_chat_rating_flags_the_customer_at_risk(b: Backend) {
    let app = value_app(b).await;
    let customer = rated_chat(&app, 1).await;
    let v = value_of(&app, &customer).await;
    assert_eq!(v["at_risk_reasons"], json!(["negative_csat"]), "{v}");
}

async fn a_low_chance_of_still_buying_flags_a_customer_at_risk(b: Backend) {
    // Every repeat buyer's p_alive is below 1.01, none is below 0.
    for (threshold, flagged) in [(1.01, true), (0.0, false)] {
        let app = value_app_with(b, |s| {
            s.value.at_risk_p_alive = threshold;
        })
        .await;
        let mut csv = String::from("customer,external_id,amount,placed_at\n");
        for c in 0..6 {
            for k in 0..=c % 3 {
                csv.push_str(&format!(
                    "p{c}@example.com,p{c}-{k},10,2026-0{}-0{}\n",
                    1 + k,
                    1 + c
                ));
            }
        }
        let (s, report) = import(&app, &app.admin_token, csv).await;
        assert_eq!(
            (s, report["imported"].as_u64()),
            (StatusCode::OK, Some(12)),
            "{report}"
        );
        super::refit(&app).await;
        let repeat = customer_id(&app, "p2@example.com").await;
        let v = value_of(&app, &repeat).await;
        assert!(v["clv"]["p_alive"].as_f64().unwrap() < 1.0, "{v}");
        assert_eq!(v["at_risk"], flagged, "{v}");
        let reasons = if flagged {
            json!(["p_alive"])
        } else {
            json!([])
        };
        assert_eq!(v["at_risk_reasons"], reasons);
    }
}

async fn merging_customers_moves_their_orders_and_value(b: Backend) {
    let app = value_app(b).await;
    for (who, n, amount) in [("m1", 1, "30"), ("m2", 2, "12.5")] {
        let (s, o) = app
            .post(
                "/api/v1/orders",
                &app.admin_token,
                json!({"identity": {"kind": "email", "value": format!("{who}@example.com")},
                    "external_id": format!("m-{n}"), "amount": amount, "placed_at": format!("2026-05-0{n}")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
    }
    let (target, source) = (
        customer_id(&app, "m1@example.com").await,
        customer_id(&app, "m2@example.com").await,
    );
    let (s, body) = app
        .post(
            &format!("/api/v1/customers/{target}/merge"),
            &app.admin_token,
            json!({"source_id": source}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = value_of(&app, &target).await;
    assert_eq!(
        (v["orders"].as_u64(), v["total"].as_f64()),
        (Some(2), Some(42.5)),
        "{v}"
    );
    let (_, list) = app
        .get("/api/v1/customers?sort=-value", &app.admin_token)
        .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![target.as_str()],
        "the merged-away profile has nothing left: {list}"
    );
}

/// The key-customers report's `at_risk` view: valuable customers at risk for any of the
/// profile's reasons, each with them, highest total first; and any view by segment.
async fn the_at_risk_report_gives_every_reason_and_views_filter_by_segment(b: Backend) {
    // One-time buyers' P(alive) is 1 in BG/NBD; p2's (three orders, the last long ago) is below
    // a half: p2 is at risk by it.
    let app = value_app_with(b, |s| {
        s.value.at_risk_p_alive = 0.5;
    })
    .await;
    let mut csv = String::from("customer,external_id,amount,placed_at\n");
    for (who, orders, amount) in [
        ("p2", 3, 10),
        ("vex", 1, 500),
        ("calm", 1, 300),
        ("loud", 1, 200),
    ] {
        for k in 0..orders {
            csv.push_str(&format!(
                "{who}@example.com,{who}-{k},{amount},2026-0{}-01\n",
                1 + k
            ));
        }
    }
    let (s, report) = import(&app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    // vex rated a chat 1 (their chat's profile merged into theirs); loud wrote four times on
    // one conversation.
    let vex = customer_id(&app, "vex@example.com").await;
    let visitor = rated_chat(&app, 1).await;
    let (s, body) = app
        .post(
            &format!("/api/v1/customers/{vex}/merge"),
            &app.admin_token,
            json!({"source_id": visitor}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for n in 0..4 {
        let reply = (n > 0).then(|| format!("In-Reply-To: <l-{}@example.com>", n - 1));
        let id = format!("Message-ID: <l-{n}@example.com>");
        let mut headers = vec![
            "From: loud@example.com",
            "Subject: Where is it?",
            id.as_str(),
        ];
        headers.extend(reply.as_deref());
        stored(&app, &eml(&headers, &format!("Again {n}")), "").await;
    }
    super::refit(&app).await;
    let (s, risky) = app
        .get(
            "/api/v1/insights/key-customers?by=at_risk",
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{risky}");
    let rows: Vec<(String, Value)> = risky["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_string(),
                r["at_risk_reasons"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("vex@example.com".to_string(), json!(["negative_csat"])),
            ("loud@example.com".to_string(), json!(["repeated_contacts"])),
            ("p2@example.com".to_string(), json!(["p_alive"])),
        ],
        "highest total first, calm is not at risk: {risky}"
    );
    // The CSV carries the reasons.
    let resp = app
        .client
        .get(app.url("/api/v1/insights/key-customers?by=at_risk&format=csv&limit=1"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with(",p_alive,at_risk_reasons"),
        "{text}"
    );
    assert!(
        text.lines().nth(1).unwrap().ends_with(",negative_csat"),
        "{text}"
    );
    // By segment: p2's segment alone, then an unknown one.
    let (_, p2) = app
        .get(
            "/api/v1/insights/key-customers?by=value&limit=10",
            &app.admin_token,
        )
        .await;
    let p2_segment = p2["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "p2@example.com")
        .unwrap()["segment"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, only) = app
        .get(
            &format!(
                "/api/v1/insights/key-customers?segment={}",
                p2_segment.replace(' ', "%20")
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{only}");
    let items = only["items"].as_array().unwrap();
    assert!(
        !items.is_empty() && items.iter().all(|r| r["segment"] == p2_segment.as_str()),
        "{only}"
    );
    assert!(
        items.iter().all(|r| r.get("at_risk_reasons").is_none()),
        "reasons only in the at-risk view: {only}"
    );
    let (s, body) = app
        .get(
            "/api/v1/insights/key-customers?segment=royalty",
            &app.admin_token,
        )
        .await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_segment",
    );
}

storage_tests!(
    the_at_risk_report_gives_every_reason_and_views_filter_by_segment,
    a_negative_chat_rating_flags_the_customer_at_risk,
    a_customer_writing_again_and_again_about_one_conversation_is_at_risk,
    a_low_chance_of_still_buying_flags_a_customer_at_risk,
    merging_customers_moves_their_orders_and_value,
);

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

async fn a_negative_chat_rating_flags_the_customer_at_risk(b: Backend) {
    use crate::chat::client::{site, Visitor};
    let app = value_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    let conv = v.say("h", "سفارشم خراب رسید").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, c) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    let customer = c["customer_id"].as_str().unwrap().to_string();
    assert_eq!(value_of(&app, &customer).await["at_risk"], false);
    let (s, body) = app
        .patch(
            &format!("/api/v1/conversations/{conv}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    v.next_of("status").await;
    v.send(json!({"type": "rating", "score": 1, "comment": "بد"}))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let v = value_of(&app, &customer).await;
        if v["at_risk"] == true {
            assert_eq!(v["at_risk_reasons"], json!(["negative_csat"]));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rating never counted: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn a_low_chance_of_still_buying_flags_a_customer_at_risk(b: Backend) {
    // Every repeat buyer's p_alive is below 1.01, none is below 0.
    for (threshold, flagged) in [(1.01, true), (0.0, false)] {
        let app = spawn_app_with(b, |s| {
            s.value.default_currency = "USD".into();
            s.value.refit_after_orders_secs = 3600;
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

storage_tests!(
    a_negative_chat_rating_flags_the_customer_at_risk,
    a_customer_writing_again_and_again_about_one_conversation_is_at_risk,
    a_low_chance_of_still_buying_flags_a_customer_at_risk,
    merging_customers_moves_their_orders_and_value,
);

//! Canned responses: shared and personal, roles, folding filter and placeholders (issue 21).
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn shared_responses_are_managed_by_supervisors_and_personal_ones_stay_personal(b: Backend) {
    let app = spawn_app(b).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (_, other) = app.agent("other@example.com", "agent", json!({})).await;
    let (_, sup) = app.agent("sup@example.com", "supervisor", json!({})).await;
    let shared = json!({"title": "پيگيري سفارش", "body": "سفارش شما ارسال شد", "shortcut": "/Track", "shared": true});
    let (s, body) = app
        .post("/api/v1/canned-responses", &agent, shared.clone())
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, shared) = app.post("/api/v1/canned-responses", &sup, shared).await;
    assert_eq!(s, StatusCode::CREATED, "{shared}");
    assert_eq!(shared["shortcut"], "track");
    assert_eq!(shared["shared"], true);
    let (s, mine) = app
        .post(
            "/api/v1/canned-responses",
            &agent,
            json!({"title": "Hi", "body": "Hello!"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mine}");
    assert_eq!(mine["shared"], false);

    let titles = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, list) = app.get("/api/v1/canned-responses", &agent).await;
    assert_eq!(titles(&list), vec!["Hi", "پيگيري سفارش"]);
    let (_, list) = app.get("/api/v1/canned-responses", &other).await;
    assert_eq!(titles(&list), vec!["پيگيري سفارش"]);
    // Persian letter forms are folded in the filter.
    let (_, list) = app
        .get(
            "/api/v1/canned-responses?q=%D9%BE%DB%8C%DA%AF%DB%8C%D8%B1%DB%8C",
            &agent,
        )
        .await;
    assert_eq!(titles(&list), vec!["پيگيري سفارش"], "{list}");

    let shared_id = shared["id"].as_str().unwrap();
    let mine_id = mine["id"].as_str().unwrap();
    let (s, body) = app
        .patch(
            &format!("/api/v1/canned-responses/{shared_id}"),
            &agent,
            json!({"title": "x"}),
        )
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .patch(
            &format!("/api/v1/canned-responses/{mine_id}"),
            &other,
            json!({"title": "x"}),
        )
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    let (s, body) = app
        .patch(
            &format!("/api/v1/canned-responses/{mine_id}"),
            &agent,
            json!({"title": "Hello", "shortcut": "bad shortcut"}),
        )
        .await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_shortcut",
    );
    let (s, body) = app
        .patch(
            &format!("/api/v1/canned-responses/{mine_id}"),
            &agent,
            json!({"title": "Hello"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["title"], "Hello");
    assert_eq!(body["body"], "Hello!");
    let (s, _) = app
        .delete(&format!("/api/v1/canned-responses/{shared_id}"), &agent)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .delete(&format!("/api/v1/canned-responses/{shared_id}"), &sup)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = app.get("/api/v1/canned-responses", &other).await;
    assert!(titles(&list).is_empty());
}

async fn a_response_is_rendered_for_a_conversation(b: Backend) {
    let app = spawn_app(b).await;
    let (s, customer) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "علی کریمی", "attributes": {"plan": "طلایی"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{customer}");
    let (s, conv) = app
        .post(
            "/api/v1/conversations",
            &app.admin_token,
            json!({"customer_id": customer["id"], "subject": "Plan"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conv}");
    let (_, agent) = app.agent("sara@example.com", "agent", json!({})).await;
    let (_, r) = app
        .post(
            "/api/v1/canned-responses",
            &agent,
            json!({"title": "Plan", "body": "{{customer.first_name}} عزیز، طرح {{customer.attributes.plan}} — #{{conversation.number}} ({{agent.name}})"}),
        )
        .await;
    let (s, body) = app
        .post(
            &format!(
                "/api/v1/canned-responses/{}/render",
                r["id"].as_str().unwrap()
            ),
            &agent,
            json!({"conversation_id": conv["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let expected = format!("علی عزیز، طرح طلایی — #{} (sara)", conv["number"]);
    assert_eq!(body["body"], expected.as_str());
    let (s, body) = app
        .post(
            &format!(
                "/api/v1/canned-responses/{}/render",
                r["id"].as_str().unwrap()
            ),
            &agent,
            json!({"conversation_id": "nope"}),
        )
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
}

crate::storage_tests!(
    shared_responses_are_managed_by_supervisors_and_personal_ones_stay_personal,
    a_response_is_rendered_for_a_conversation,
);

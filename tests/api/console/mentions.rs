//! @mentions in internal notes: the mentioned agent's console is told (and nobody else's), the
//! note keeps who it names, and mentions outside notes or of unknown agents are refused.

use super::node::run_script;
use super::socket::{connect, next_event};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn note(app: &TestApp, token: &str, conv: &str, body: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        token,
        body,
    )
    .await
}

async fn a_mentioned_agent_is_told_and_others_are_not(b: Backend) {
    let app = spawn_app(b).await;
    let (_, nima) = app
        .agent("nima@example.com", "agent", json!({"name": "Nima"}))
        .await;
    let (sara_id, sara) = app
        .agent("sara@example.com", "agent", json!({"name": "سارا"}))
        .await;
    let (reza_id, reza) = app
        .agent("reza@example.com", "agent", json!({"name": "Reza"}))
        .await;
    let (s, conv) = app
        .post(
            "/api/v1/conversations",
            &nima,
            json!({"customer": {"email": "ali@example.com"}, "subject": "Refund", "body": "hi"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conv}");
    let conv_id = conv["id"].as_str().unwrap();
    let mut sara_ws = connect(&app.base, &sara).await;
    let mut reza_ws = connect(&app.base, &reza).await;

    let (s, m) = note(
        &app,
        &nima,
        conv_id,
        json!({"body": "@سارا can you check the refund?", "internal": true, "mentions": [sara_id, sara_id]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!(
        m["meta"]["mentions"],
        json!([{"id": sara_id, "name": "سارا"}])
    );
    let ev = next_event(&mut sara_ws, "conversation.mentioned").await;
    assert_eq!(ev["conversation_id"], conv_id);
    assert_eq!(ev["data"]["message_id"], m["id"]);
    assert_eq!(ev["data"]["number"], conv["number"]);
    assert_eq!(ev["data"]["excerpt"], "@سارا can you check the refund?");

    // Reza's first mention event is the one naming him, not Sara's.
    let (s, m2) = note(
        &app,
        &nima,
        conv_id,
        json!({"body": "@Reza too", "internal": true, "mentions": [reza_id]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m2}");
    let ev = next_event(&mut reza_ws, "conversation.mentioned").await;
    assert_eq!(ev["data"]["message_id"], m2["id"]);
}

async fn mentions_outside_notes_or_of_unknown_agents_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (sara_id, sara) = app.agent("sara@example.com", "agent", json!({})).await;
    let (s, conv) = app
        .post(
            "/api/v1/conversations",
            &sara,
            json!({"customer": {"email": "ali@example.com"}, "subject": "Refund", "body": "hi"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conv}");
    let conv_id = conv["id"].as_str().unwrap();
    let (boss_id, _) = app.agent("boss@example.com", "agent", json!({})).await;
    let (s, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/agents/{boss_id}"),
            Some(&app.admin_token),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let many: Vec<String> = (0..21).map(|i| format!("a{i}")).collect();
    let cases = [
        (
            json!({"body": "hi", "internal": false, "mentions": [sara_id]}),
            "mentions_in_notes_only",
        ),
        (
            json!({"body": "hi", "internal": true, "mentions": ["nobody"]}),
            "unknown_agent",
        ),
        (
            json!({"body": "hi", "internal": true, "mentions": [boss_id]}),
            "unknown_agent",
        ),
        (
            json!({"body": "hi", "internal": true, "mentions": many}),
            "too_many_mentions",
        ),
    ];
    for (body, code) in cases {
        let (s, e) = note(&app, &sara, conv_id, body).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{e}"
        );
    }
    let (_, page) = app
        .get(&format!("/api/v1/conversations/{conv_id}/messages"), &sara)
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "only the first message: {page}"
    );
}

crate::storage_tests!(
    a_mentioned_agent_is_told_and_others_are_not,
    mentions_outside_notes_or_of_unknown_agents_are_refused,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_reaches_the_colleagues_screen_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent("nima@example.com", "agent", json!({"name": "Nima"}))
        .await;
    let (sara_id, _) = app
        .agent("sara@example.com", "agent", json!({"name": "سارا"}))
        .await;
    app.agent("samir@example.com", "agent", json!({"name": "Samir"}))
        .await;
    let conv = app
        .conversation(&app.admin_token, "ali@example.com", "سفارش ۱۲", json!({}))
        .await;
    let id = conv["id"].as_str().unwrap().to_string();
    run_script(
        "console_mentions.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AUTHOR_EMAIL", "nima@example.com".into()),
            ("MENTIONED_EMAIL", "sara@example.com".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CONVERSATION_ID", id.clone()),
        ],
        90,
    )
    .await;
    let (_, page) = app
        .get(
            &format!("/api/v1/conversations/{id}/messages"),
            &app.admin_token,
        )
        .await;
    let note = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["internal"] == true)
        .expect("the note");
    assert_eq!(
        note["meta"]["mentions"],
        json!([{"id": sara_id, "name": "سارا"}])
    );
}

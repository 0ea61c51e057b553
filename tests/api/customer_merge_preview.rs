//! The merge preview: the profile a merge would leave and what would move, with nothing
//! changed; the merge then does exactly that.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn a_merge_preview_shows_the_result_and_what_moves_and_changes_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, target) = app
        .post(
            "/api/v1/customers",
            &agent,
            json!({"name": "Ali", "attributes": {"city": "Tehran", "plan": "gold"},
                   "identities": [{"kind": "email", "value": "ali@example.com"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{target}");
    let (s, source) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"tier": "vip", "language": "fa", "attributes": {"city": "Shiraz", "note": "x"},
                   "identities": [{"kind": "phone", "value": "09121234567"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{source}");
    let (tid, sid) = (
        target["id"].as_str().unwrap(),
        source["id"].as_str().unwrap(),
    );
    for subject in ["one", "two"] {
        app.conversation(
            &agent,
            "unused@example.com",
            subject,
            json!({"customer": null, "customer_id": sid}),
        )
        .await;
    }
    let (s, order) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"customer_id": sid, "external_id": "o-1", "amount": "250000", "currency": "IRR",
                   "placed_at": "2026-11-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");

    let url = format!("/api/v1/customers/{tid}/merge-preview?source_id={sid}");
    let (s, p) = app.get(&url, &agent).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["result"]["name"], "Ali");
    assert_eq!(p["result"]["language"], "fa");
    assert_eq!(p["result"]["tier"], "vip");
    assert_eq!(
        p["result"]["attributes"],
        json!({"city": "Tehran", "plan": "gold", "note": "x"})
    );
    assert_eq!(p["result"]["overridden"], json!(["city"]));
    assert_eq!(p["moves"]["conversations"], 2);
    assert_eq!(p["moves"]["orders"], 1);
    let moved: Vec<&str> = p["moves"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(moved, vec!["phone"]);
    let (_, still) = app.get(&format!("/api/v1/customers/{sid}"), &agent).await;
    assert_eq!(
        still["merged_into"],
        serde_json::Value::Null,
        "a preview changes nothing"
    );

    let (s, merged) = app
        .post(
            &format!("/api/v1/customers/{tid}/merge"),
            &agent,
            json!({"source_id": sid}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    for k in ["name", "language", "tier", "attributes"] {
        assert_eq!(merged[k], p["result"][k], "{k}");
    }
    assert_eq!(merged["conversation_count"], 2);
    let (s, _) = app.get(&url, &agent).await;
    assert_eq!(s, StatusCode::CONFLICT, "already merged");
    let (s, e) = app
        .get(
            &format!("/api/v1/customers/{tid}/merge-preview?source_id={tid}"),
            &agent,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_merge"))
    );
    let (s, _) = app
        .get(
            &format!("/api/v1/customers/{tid}/merge-preview?source_id=nobody"),
            &agent,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

crate::storage_tests!(a_merge_preview_shows_the_result_and_what_moves_and_changes_nothing);

//! Live routing statistics for supervisors.
use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn stats_show_queues_and_agents_to_supervisors_only(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support", "skills": ["billing"]})).await;
    let (x_id, x) = agent_with(
        &app,
        "x@example.com",
        json!({"skills": ["billing"], "capacity": {"api": 1}}),
        "available",
    )
    .await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    queued(&app, "one@example.com", &q).await;
    queued(&app, "two@example.com", &q).await;
    wait_offers(&app, &x, 1).await;
    let (s, body) = app.get("/api/v1/stats/queues", &x).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app.get("/api/v1/stats/agents", &x).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app.get("/api/v1/stats/queues", &sup).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let row = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["queue_id"] == q.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["waiting"], 1, "{row}");
    assert_eq!(row["offered"], 1, "{row}");
    assert_eq!(row["assigned"], 0, "{row}");
    assert_eq!(row["available_agents"], 1, "{row}");
    assert!(row["oldest_wait_seconds"].as_i64().unwrap() >= 0);
    let (s, body) = app.get("/api/v1/stats/agents", &sup).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let me = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent_id"] == x_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(me["presence"], "available");
    assert_eq!(me["offered"]["api"], 1, "{me}");
    assert_eq!(me["capacity"]["api"], 1, "{me}");
    let (s, _) = app.call("GET", "/api/v1/stats/queues", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    for path in [
        "/offers",
        "/offers/{id}/accept",
        "/offers/{id}/decline",
        "/stats/queues",
        "/stats/agents",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}

crate::storage_tests!(stats_show_queues_and_agents_to_supervisors_only);

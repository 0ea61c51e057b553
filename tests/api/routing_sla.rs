//! SLA breaches: published once per conversation and kind, also across nodes.
use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use switchboard::routing::run_once;
use switchboard::store::now_ms;

async fn an_sla_breach_is_published_once_and_counted(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Nobody home"})).await;
    let conv = queued(&app, "late@example.com", &q).await;
    let mut events = app.state.bus.subscribe();
    let later = now_ms() + app.state.settings.routing.first_response_minutes * 60_000 + 1_000;
    let mut breached = 0;
    for _ in 0..3 {
        breached += run_once(&app.state, later).await.unwrap().breached;
    }
    assert_eq!(breached, 1, "published exactly once");
    let ev = loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv())
            .await
            .expect("breach event on the bus")
            .unwrap();
        if ev.kind == "conversation.sla_breached" {
            break ev;
        }
    };
    assert_eq!(ev.conversation_id.as_deref(), Some(conv.as_str()));
    assert_eq!(ev.data["kind"], "first_response");
    let kinds = history(&app, &conv).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "sla_breached").count(),
        1,
        "{kinds:?}"
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_sla_breaches_total"),
        "breach metric exported"
    );
    // A conversation answered in time never breaches.
    let answered = queued(&app, "quick@example.com", &q).await;
    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{answered}/messages"),
            &app.admin_token,
            json!({"body": "on it"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let report = run_once(&app.state, later + 60_000).await.unwrap();
    assert_eq!(report.breached, 0, "{report:?}");
}

/// A breach recorded by a node that does not mark conversations (an older version during a
/// rolling upgrade) is not published again: the check marks it and moves on.
async fn a_breach_another_node_recorded_is_not_published_again(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Shared"})).await;
    let conv = queued(&app, "elsewhere@example.com", &q).await;
    run_once(&app.state, now_ms()).await.unwrap();
    let later = now_ms() + app.state.settings.routing.first_response_minutes * 60_000 + 1_000;
    sqlx::query(
        "INSERT INTO sla_breaches (conversation_id, kind, due, created_at) \
         VALUES ($1, 'first_response', $2, $2)",
    )
    .bind(&conv)
    .bind(later)
    .execute(app.state.store.pool())
    .await
    .unwrap();
    let report = run_once(&app.state, later).await.unwrap();
    assert_eq!(report.breached, 0, "{report:?}");
    let (marked,): (i64,) =
        sqlx::query_as("SELECT first_response_breached FROM conversations WHERE id = $1")
            .bind(&conv)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(marked, 1, "the check marked what it found recorded");
    let kinds = history(&app, &conv).await;
    assert!(!kinds.iter().any(|k| k == "sla_breached"), "{kinds:?}");
}

async fn an_unresolved_conversation_breaches_its_resolution_target_once(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Slow"})).await;
    let open = queued(&app, "waiting@example.com", &q).await;
    let done = queued(&app, "done@example.com", &q).await;
    for id in [&open, &done] {
        let (s, _) = app
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                &app.admin_token,
                json!({"body": "looking into it"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    run_once(&app.state, now_ms()).await.unwrap();
    let (s, _) = app
        .patch(
            &format!("/api/v1/conversations/{done}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let hours = app.state.settings.routing.resolution_hours;
    let later = now_ms() + hours * 3_600_000 + 60_000;
    let mut breached = 0;
    for _ in 0..2 {
        breached += run_once(&app.state, later).await.unwrap().breached;
    }
    assert_eq!(breached, 1, "only the unresolved one, only once");
    let (_, c) = app
        .get(&format!("/api/v1/conversations/{open}"), &app.admin_token)
        .await;
    let breach = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "sla_breached")
        .cloned()
        .expect("breach recorded in the history");
    assert_eq!(breach["data"]["kind"], "resolution");
    let (_, d) = app
        .get(&format!("/api/v1/conversations/{done}"), &app.admin_token)
        .await;
    assert!(!d["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == "sla_breached"));
}

crate::storage_tests!(
    an_sla_breach_is_published_once_and_counted,
    an_unresolved_conversation_breaches_its_resolution_target_once,
    a_breach_another_node_recorded_is_not_published_again,
);

//! The report worker's passes: many conversations changed at once are written in several short
//! transactions, and the rollups they keep equal a rebuild from every fact.
use super::chats::chat;
use super::report;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A new chat queue named `name`; returns its id.
async fn chat_queue(app: &TestApp, name: &str) -> String {
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": name, "channels": ["chat"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    q["id"].as_str().unwrap().to_string()
}

async fn many_changes_are_rolled_up_as_a_rebuild_would(b: Backend) {
    let app = spawn_app(b).await;
    let q = chat_queue(&app, "Busy").await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    // More facts than one write transaction of a pass takes at first (64 rows).
    let mut convs = Vec::new();
    for k in 0..150 {
        convs.push(chat(&app, &q, &format!("c{k}@example.com")).await);
    }
    switchboard::reports::collect::run_once(&app.state)
        .await
        .unwrap();
    let by = format!("queue={q}&group_by=agent");
    let kept = report(&app, &sup, &by).await;
    assert_eq!(kept["total"]["offered"], 150, "{kept}");
    // Half of them resolved unanswered: their facts change (abandoned), the others' do not.
    for c in convs.iter().step_by(2) {
        let (s, body) = app
            .patch(
                &format!("/api/v1/conversations/{c}"),
                &app.admin_token,
                json!({"status": "resolved"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    switchboard::reports::collect::run_once(&app.state)
        .await
        .unwrap();
    let kept = report(&app, &sup, &by).await;
    assert_eq!(
        (
            kept["total"]["offered"].as_i64(),
            kept["total"]["abandoned"].as_i64()
        ),
        (Some(150), Some(75)),
        "{kept}"
    );
    let (facts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM report_facts")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(facts, 150);
    switchboard::reports::rebuild(&app.state.store, &app.state.settings)
        .await
        .unwrap();
    assert_eq!(report(&app, &sup, &by).await, kept);
}

/// A change stamped before a pass moved the position past it, but committed after that pass
/// (a "late" commit), is still counted: a later pass's window reaches back far enough.
async fn a_change_committed_after_a_pass_passed_its_stamp_is_counted(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.reports.late_commit_secs = 2;
        s.reports.interval_ms = 3_600_000;
    })
    .await;
    let q = chat_queue(&app, "Late").await;
    let (_, sup) = app
        .agent("late-boss@example.com", "supervisor", json!({}))
        .await;
    let conv = chat(&app, &q, "late@example.com").await;
    let pass = || switchboard::reports::collect::run_once(&app.state);
    pass().await.unwrap();
    let by = format!("queue={q}");
    let kept = report(&app, &sup, &by).await;
    assert_eq!(kept["total"]["abandoned"], 0, "{kept}");
    // Resolved unanswered, stamped just before the position the passes have reached.
    let pool = app.state.store.pool();
    let (at,): (i64,) =
        sqlx::query_as("SELECT at FROM report_positions WHERE name = 'conversations'")
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query(
        "UPDATE conversations SET status = 'resolved', resolved_at = $1, updated_at = $2 \
         WHERE id = $3",
    )
    .bind(at)
    .bind(at - 1)
    .bind(&conv)
    .execute(pool)
    .await
    .unwrap();
    let mut abandoned = Value::Null;
    for _ in 0..30 {
        pass().await.unwrap();
        abandoned = report(&app, &sup, &by).await["total"]["abandoned"].clone();
        if abandoned == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(abandoned, 1, "the late change was never counted");
}

crate::storage_tests!(
    many_changes_are_rolled_up_as_a_rebuild_would,
    a_change_committed_after_a_pass_passed_its_stamp_is_counted
);

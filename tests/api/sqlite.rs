//! SQLite-only settings of the embedded store.
use crate::helpers::*;

async fn pragma(app: &TestApp, name: &str) -> i64 {
    let (v,): (i64,) = sqlx::query_as(&format!("PRAGMA {name}"))
        .fetch_one(app.state.store.pool())
        .await
        .expect("pragma");
    v
}

#[tokio::test]
async fn commits_are_synced_as_configured() {
    let normal = spawn_app(Backend::Sqlite).await;
    assert_eq!(pragma(&normal, "synchronous").await, 1, "NORMAL by default");
    let full = spawn_app_with(Backend::Sqlite, |s| {
        s.database.sqlite_synchronous = "full".into()
    })
    .await;
    assert_eq!(pragma(&full, "synchronous").await, 2, "FULL when asked");
    assert_eq!(pragma(&full, "wal_autocheckpoint").await, 10_000);
    // The server works as usual with FULL.
    let (s, body) = full
        .post(
            "/api/v1/customers",
            &full.admin_token,
            serde_json::json!({"name": "مشتری"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn an_unknown_synchronous_mode_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(Backend::Sqlite, dir.path()).await;
    let mut settings = test_settings(&url, dir.path());
    settings.database.sqlite_synchronous = "sometimes".into();
    let err = match switchboard::Application::build(settings).await {
        Ok(_) => panic!("an unknown mode must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("sqlite_synchronous"), "{err}");
}

/// What is committed reaches the database file within about a second, copied out of the
/// write-ahead log by the background checkpoints (SQLite's own would wait for 10,000 pages).
#[tokio::test]
async fn commits_are_checkpointed_into_the_database_file_in_the_background() {
    let app = spawn_app(Backend::Sqlite).await;
    let db = app._dir.path().join("test.db");
    let size = || std::fs::metadata(&db).expect("database file").len();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = size();
    let note = "یادداشت ".repeat(400);
    for i in 0..40 {
        let (s, body) = app
            .post(
                "/api/v1/customers",
                &app.admin_token,
                serde_json::json!({"name": format!("مشتری {i}"), "attributes": {"note": note}}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{body}");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while size() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "database file still {before} bytes: nothing checkpointed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

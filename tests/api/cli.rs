//! The `switchboard` command line.
use crate::helpers::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn run(
    args: &[&str],
    data_dir: &std::path::Path,
    db: Option<&str>,
    stdin: &str,
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    match db {
        Some(url) => cmd.env("SWITCHBOARD_DATABASE_URL", url),
        None => cmd.env_remove("SWITCHBOARD_DATABASE_URL"),
    };
    let mut child = cmd
        .args(args)
        .env("SWITCHBOARD_DATA_DIR", data_dir)
        .env_remove("SWITCHBOARD_REDIS_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

async fn first_admin_is_created_from_the_command_line_with_the_password_on_stdin(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // SQLite: the default database under the data dir; PostgreSQL: SWITCHBOARD_DATABASE_URL.
    let pg = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_database(b, dir.path()).await),
    };
    let db = pg.as_deref();
    let out = run(&["migrate"], dir.path(), db, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if b == Backend::Sqlite {
        assert!(
            dir.path().join("switchboard.db").exists(),
            "SQLite database under the data dir"
        );
    }
    let out = run(
        &[
            "agents",
            "create",
            "--email",
            "Boss@Example.com",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--password-stdin",
        ],
        dir.path(),
        db,
        "a long password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("boss@example.com"));
    // Too-short passwords and duplicates are refused with a message.
    let out = run(
        &[
            "agents",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "agent",
            "--password-stdin",
        ],
        dir.path(),
        db,
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
    let out = run(
        &[
            "agents",
            "create",
            "--email",
            "boss@example.com",
            "--name",
            "B",
            "--role",
            "agent",
            "--password-stdin",
        ],
        dir.path(),
        db,
        "a long password\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    // The server started on that data directory accepts the login.
    let url = pg.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("switchboard.db").display()
        )
    });
    let app = spawn_on(
        &url,
        std::sync::Arc::new(tempfile::tempdir().unwrap()),
        |_| {},
    )
    .await;
    let token = app.login("boss@example.com", "a long password").await;
    let (s, me) = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(me["role"], "admin");
}

async fn search_reindex_rebuilds_the_full_text_index(b: Backend) {
    let app = spawn_app(b).await;
    app.conversation(
        &app.admin_token,
        "a@example.com",
        "Parcel",
        serde_json::json!({"body": "کد رهگیری ۴۴۷۸۱۲"}),
    )
    .await;
    let hits = |v: &serde_json::Value| v["conversations"].as_array().unwrap().len();
    let (_, found) = app.get("/api/v1/search?q=447812", &app.admin_token).await;
    assert_eq!(hits(&found), 1, "{found}");
    if b == Backend::Sqlite {
        // An index that lost its entries (as after a VACUUM renumbered rows) finds nothing...
        sqlx::query("INSERT INTO messages_fts(messages_fts) VALUES ('delete-all')")
            .execute(app.state.store.pool())
            .await
            .unwrap();
        let (_, found) = app.get("/api/v1/search?q=447812", &app.admin_token).await;
        assert_eq!(hits(&found), 0, "{found}");
    }
    // ...until the command rebuilds it.
    let out = run(
        &["search", "reindex"],
        app._dir.path(),
        Some(&app.database_url),
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("search index rebuilt"));
    let (_, found) = app.get("/api/v1/search?q=447812", &app.admin_token).await;
    assert_eq!(hits(&found), 1, "{found}");
}

crate::storage_tests!(
    first_admin_is_created_from_the_command_line_with_the_password_on_stdin,
    search_reindex_rebuilds_the_full_text_index,
);

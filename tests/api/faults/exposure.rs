//! What a server exposes by default: metrics only to its own machine, private data files.

use crate::helpers::*;
use reqwest::StatusCode;

async fn metrics_from(app: &TestApp, forwarded: Option<&str>) -> StatusCode {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(ip) = forwarded {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_only_clients_on_this_machine_unless_made_public() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    assert_eq!(metrics_from(&app, None).await, StatusCode::OK);
    assert_eq!(
        metrics_from(&app, Some("203.0.113.5")).await,
        StatusCode::NOT_FOUND
    );
    let open = spawn_app_with(Backend::Sqlite, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        s.server.metrics_public = true;
    })
    .await;
    assert_eq!(
        metrics_from(&open, Some("203.0.113.5")).await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_the_embedded_database_are_private_to_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let data = dir.path().join("data");
    let d2 = data.clone();
    let _app = spawn_on("", dir.clone(), move |s| {
        s.database.url = String::new().into();
        s.server.data_dir = d2;
    })
    .await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("switchboard.db")), 0o600);
    // The key of the stored secrets, created because none is configured.
    assert_eq!(mode(&data.join("secrets.key")), 0o600);
}

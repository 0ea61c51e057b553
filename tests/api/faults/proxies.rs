//! Behind a trusted proxy every client keeps its own address for per-address limits.

use crate::chat::client::{site, ws_url, ORIGIN};
use crate::helpers::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn widget_from(app: &TestApp, key: &str, forwarded: &str) -> Result<impl Sized, u16> {
    let mut req = ws_url(app, key).into_client_request().unwrap();
    req.headers_mut().insert("origin", ORIGIN.parse().unwrap());
    req.headers_mut()
        .insert("x-forwarded-for", forwarded.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_sockets_per_address_count_the_forwarded_client_behind_a_trusted_proxy() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.server.trusted_proxies = vec!["127.0.0.0/8".into()];
        s.chat.sockets_per_ip = 1;
    })
    .await;
    let site = site(&app, serde_json::json!({})).await;
    let key = site["site_key"].as_str().unwrap();
    let first = widget_from(&app, key, "198.51.100.1").await;
    assert!(first.is_ok(), "first client");
    let other = widget_from(&app, key, "198.51.100.2").await;
    assert!(
        other.is_ok(),
        "another client behind the same proxy has its own quota"
    );
    let again = widget_from(&app, key, "198.51.100.1").await;
    assert_eq!(
        again.err(),
        Some(429),
        "the first client's second socket is over its quota"
    );
}

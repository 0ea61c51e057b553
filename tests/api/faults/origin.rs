//! Cross-site requests: the session cookie only works from the server's own origin for
//! state-changing requests and console sockets; raw intake routes refuse another site's
//! form or text bodies. HTTPS deployments get Secure cookies and HSTS.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const EVIL: &str = "https://evil.example";

async fn with_cookie(app: &TestApp, origin: &str, body: Value) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/api/v1/customers"))
        .header("cookie", format!("sb_session={}", app.admin_token))
        .header("origin", origin)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

async fn console_status(app: &TestApp, origin: &str) -> u16 {
    let ws = app.base.replacen("http", "ws", 1);
    let mut req = format!("{ws}/ws/console").into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert(
        "cookie",
        format!("sb_session={}", app.admin_token).parse().unwrap(),
    );
    h.insert("origin", origin.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

async fn cookie_authenticated_requests_from_another_site_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (s, e) = with_cookie(&app, EVIL, json!({"name": "Forged"})).await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "cross_origin");
    let (s, got) = with_cookie(&app, &app.base, json!({"name": "Mine"})).await;
    assert_eq!(s, StatusCode::CREATED, "{got}");
    // A bearer token is not sent by browsers on their own: another origin is fine.
    let resp = app
        .client
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&app.admin_token)
        .header("origin", EVIL)
        .json(&json!({"name": "Integration"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let (_, list) = app
        .get("/api/v1/customers?q=Forged", &app.admin_token)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    assert_eq!(console_status(&app, EVIL).await, 403);
    assert_eq!(console_status(&app, &app.base).await, 101);
}

async fn raw_intake_routes_refuse_text_bodies_from_another_site(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["*"]).await;
    let line = "\"\",\"09121234567\",\"100\",\"default\",\"\",\"SIP/100\",\"\",\"Dial\",\"\",\
                \"2024-01-01 10:00:00\",\"2024-01-01 10:00:01\",\"2024-01-01 10:01:00\",60,59,\
                \"ANSWERED\",\"DOCUMENTATION\",\"1704103200.1\",\"\"\n";
    for (path, origin, want) in [
        (
            "/api/v1/channels/voice/records?format=asterisk",
            Some(EVIL),
            403,
        ),
        ("/api/v1/channels/email/inbound", Some(EVIL), 403),
        ("/api/v1/channels/voice/records?format=asterisk", None, 200),
    ] {
        let mut req = app
            .client
            .post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", "text/plain")
            .body(line);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), want, "{path} from {origin:?}");
    }
}

crate::storage_tests!(
    cookie_authenticated_requests_from_another_site_are_refused,
    raw_intake_routes_refuse_text_bodies_from_another_site,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_public_url_gives_secure_cookies_and_hsts() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.server.public_url = "https://support.example".into();
    })
    .await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(resp.headers().contains_key("strict-transport-security"));
    // Requests from the public origin are its own.
    let (s, got) = with_cookie(&app, "https://support.example", json!({"name": "Ok"})).await;
    assert_eq!(s, StatusCode::CREATED, "{got}");
}

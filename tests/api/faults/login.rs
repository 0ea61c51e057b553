//! Login limits count per client address and per (address, account) pair behind trusted
//! proxies, so a stranger cannot lock an account's owner out.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_stranger_failing_logins_cannot_lock_the_owner_out(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        s.auth.login_attempts_per_minute = 5;
    })
    .await;
    app.agent("owner@example.com", "agent", json!({})).await;
    let owner = "owner@example.com";
    assert_eq!(
        login_from(&app, "198.51.100.1", owner, PASSWORD).await,
        StatusCode::OK
    );
    // A stranger guesses until limited.
    let mut stranger = Vec::new();
    for _ in 0..8 {
        stranger.push(login_from(&app, "203.0.113.66", owner, "wrong guess").await);
    }
    assert_eq!(&stranger[..5], &[StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(stranger[7], StatusCode::TOO_MANY_REQUESTS);
    // Even the right password from the stranger's address waits.
    let again = login_from(&app, "203.0.113.66", owner, PASSWORD).await;
    assert_eq!(again, StatusCode::TOO_MANY_REQUESTS);
    // The owner, from their usual address or a new one, still gets in.
    assert_eq!(
        login_from(&app, "198.51.100.1", owner, PASSWORD).await,
        StatusCode::OK
    );
    assert_eq!(
        login_from(&app, "192.0.2.44", owner, PASSWORD).await,
        StatusCode::OK
    );
    // A previously good address is let through to the password check even over its limit,
    // where a wrong password still fails.
    for _ in 0..6 {
        login_from(&app, "198.51.100.1", owner, "typo").await;
    }
    assert_eq!(
        login_from(&app, "198.51.100.1", owner, "typo").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&app, "198.51.100.1", owner, PASSWORD).await,
        StatusCode::OK
    );
}

async fn forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy(b: Backend) {
    let app = spawn_app_with(b, |s| s.auth.login_attempts_per_minute = 3).await;
    // Without trusted proxies every request is 127.0.0.1 whatever the header says (an
    // account never logged in to from there, so no known-good pass).
    let mut got = Vec::new();
    for i in 0..5 {
        let ip = format!("203.0.113.{i}");
        got.push(login_from(&app, &ip, "nobody@example.com", "wrong").await);
    }
    assert_eq!(got[4], StatusCode::TOO_MANY_REQUESTS, "{got:?}");
}

crate::storage_tests!(
    a_stranger_failing_logins_cannot_lock_the_owner_out,
    forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy,
);

//! The agent console socket: live offers, authentication and presence grace.
use super::support::*;
use crate::helpers::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(base: &str, token: &str) -> Socket {
    let url = format!(
        "{}/ws/console?token={token}",
        base.replacen("http", "ws", 1)
    );
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("console connects");
    socket
}

/// Next JSON frame matching `pred`, within 15 s.
async fn next_matching(socket: &mut Socket, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("expected frame before the deadline")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if pred(&v) {
                return v;
            }
        }
    }
}

async fn the_console_socket_pushes_the_offer_to_the_agent(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let (x_id, x) = agent_with(
        &app,
        "x@example.com",
        json!({"capacity": {"api": 1}}),
        "available",
    )
    .await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    let mut agent_ws = connect(&app.base, &x).await;
    let hello = next_matching(&mut agent_ws, |_| true).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["agent_id"], x_id.as_str());
    let mut sup_ws = connect(&app.base, &sup).await;
    next_matching(&mut sup_ws, |v| v["type"] == "hello").await;
    let conv = queued(&app, "one@example.com", &q).await;
    let ev = next_matching(&mut agent_ws, |v| v["kind"] == "conversation.offered").await;
    assert_eq!(ev["conversation_id"], conv.as_str());
    assert_eq!(ev["agent_id"], x_id.as_str());
    assert!(ev["data"]["offer_id"].as_str().is_some(), "{ev}");
    // Supervisors see everything, including the creation the agent is not concerned by.
    let created = next_matching(&mut sup_ws, |v| v["kind"] == "conversation.created").await;
    assert_eq!(created["conversation_id"], conv.as_str());
    let offer = wait_offers(&app, &x, 1).await.remove(0);
    let (s, _) = app
        .post(
            &format!("/api/v1/offers/{}/accept", offer["id"].as_str().unwrap()),
            &x,
            json!({}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    let ev = next_matching(&mut agent_ws, |v| v["kind"] == "conversation.assigned").await;
    assert_eq!(ev["conversation_id"], conv.as_str());
}

async fn the_console_refuses_a_missing_or_bad_token(b: Backend) {
    let app = spawn_app(b).await;
    let ws = app.base.replacen("http", "ws", 1);
    for url in [
        format!("{ws}/ws/console"),
        format!("{ws}/ws/console?token=nope"),
    ] {
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401)
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
    // A bearer header (or the session cookie) works as well as `?token=`.
    let (_, x) = app.agent("x@example.com", "agent", json!({})).await;
    for (name, value) in [
        ("authorization", format!("Bearer {x}")),
        ("cookie", format!("sb_session={x}")),
    ] {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("{ws}/ws/console").into_client_request().unwrap();
        req.headers_mut().insert(name, value.parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("authenticated by header");
        let hello = next_matching(&mut socket, |_| true).await;
        assert_eq!(hello["type"], "hello");
    }
    // An API token is not an agent.
    let api = app.api_token(&["*"]).await;
    match tokio_tungstenite::connect_async(format!("{ws}/ws/console?token={api}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
}

/// Serve the console with a 1 s grace on its own port, against the app's state.
async fn console_with_short_grace(app: &TestApp) -> String {
    let router = switchboard::routing::console::routes(Some(Duration::from_secs(1)))
        .with_state(app.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn presence(app: &TestApp, id: &str) -> String {
    let (_, a) = app
        .get(&format!("/api/v1/agents/{id}"), &app.admin_token)
        .await;
    a["presence"].as_str().unwrap().to_string()
}

async fn an_agent_goes_offline_when_its_last_console_is_gone_for_the_grace_period(b: Backend) {
    let app = spawn_app(b).await;
    let base = console_with_short_grace(&app).await;
    let (x_id, x) = agent_with(&app, "x@example.com", json!({}), "available").await;
    let mut first = connect(&base, &x).await;
    let mut second = connect(&base, &x).await;
    next_matching(&mut first, |v| v["type"] == "hello").await;
    next_matching(&mut second, |v| v["type"] == "hello").await;
    first.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        presence(&app, &x_id).await,
        "available",
        "another console is still open"
    );
    second.close(None).await.unwrap();
    // Reconnecting within the grace period keeps the agent present.
    let mut third = connect(&base, &x).await;
    next_matching(&mut third, |v| v["type"] == "hello").await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(presence(&app, &x_id).await, "available");
    third.send(Message::Close(None)).await.unwrap();
    let mut went_offline = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if presence(&app, &x_id).await == "offline" {
            went_offline = true;
            break;
        }
    }
    assert!(went_offline, "agent still present after the grace period");
}

async fn an_agent_whose_console_node_died_goes_offline_and_its_offer_returns(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let cap = json!({"capacity": {"api": 1}});
    let (x_id, x) = agent_with(&app, "x@example.com", cap.clone(), "available").await;
    let conv = queued(&app, "one@example.com", &q).await;
    wait_offers(&app, &x, 1).await;
    // The node that held x's console was killed: its row is no longer refreshed.
    let long_ago = switchboard::store::now_ms() - 10 * 60_000;
    sqlx::query(
        "INSERT INTO console_connections (id, agent_id, node, connected_at, seen_at) \
         VALUES ('dead', $1, 'dead-node', $2, $2)",
    )
    .bind(&x_id)
    .bind(long_ago)
    .execute(app.state.store.pool())
    .await
    .unwrap();
    // An agent who never used the console is not touched.
    let (y_id, y) = agent_with(&app, "y@example.com", cap, "available").await;
    // Any node's router notices (here the app's own worker, within a tick).
    let mut offline = false;
    for _ in 0..50 {
        if presence(&app, &x_id).await == "offline" {
            offline = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(offline, "agent of the dead console never went offline");
    assert_eq!(presence(&app, &y_id).await, "available");
    let o = wait_offers(&app, &y, 1).await;
    assert_eq!(o[0]["conversation_id"], conv.as_str());
    assert!(history(&app, &conv)
        .await
        .contains(&"offer_withdrawn".to_string()));
}

crate::storage_tests!(
    an_agent_whose_console_node_died_goes_offline_and_its_offer_returns,
    the_console_socket_pushes_the_offer_to_the_agent,
    the_console_refuses_a_missing_or_bad_token,
    an_agent_goes_offline_when_its_last_console_is_gone_for_the_grace_period,
);

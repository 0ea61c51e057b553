//! A real WebSocket peer for the visitor protocol (tokio-tungstenite) and small chat fixtures.

use crate::helpers::*;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub const ORIGIN: &str = "https://shop.example";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Create a site allowing `ORIGIN`; returns the site JSON.
pub async fn site(app: &TestApp, extra: Value) -> Value {
    let mut body = json!({"name": "فروشگاه", "allowed_origins": [ORIGIN]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let (s, site) = app
        .post("/api/v1/channels/chat/sites", &app.admin_token, body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{site}");
    site
}

pub fn ws_url(app: &TestApp, key: &str) -> String {
    format!(
        "{}/ws/widget?site={key}",
        app.base.replacen("http", "ws", 1)
    )
}

/// Open the socket with an `Origin` header; the handshake's HTTP status on refusal.
pub async fn open(app: &TestApp, key: &str, origin: Option<&str>) -> Result<Visitor, u16> {
    let mut req = ws_url(app, key).into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(Visitor { ws }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("handshake failed unexpectedly: {e}"),
    }
}

/// Open the socket from `origin` on a site that does not allow it: the handshake is accepted
/// and the socket says why (an `error` frame) and closes. Returns the frame's code.
pub async fn refused(app: &TestApp, key: &str, origin: Option<&str>) -> String {
    let mut v = open(app, key, origin)
        .await
        .expect("the handshake is accepted to say why");
    let frame = v.next().await;
    assert_eq!(frame["type"], "error", "{frame}");
    let close = tokio::time::timeout(Duration::from_secs(10), v.ws.next())
        .await
        .expect("closed at once");
    match close {
        Some(Ok(Message::Close(Some(c)))) => assert_eq!(u16::from(c.code), 1008),
        other => panic!("expected a close frame, got {other:?}"),
    }
    frame["code"].as_str().unwrap_or_default().to_string()
}

/// One visitor socket.
pub struct Visitor {
    pub ws: Ws,
}

impl Visitor {
    /// Connect from `ORIGIN` and say hello; returns the socket and the welcome frame.
    pub async fn join(
        app: &TestApp,
        key: &str,
        token: Option<&str>,
        last_seq: Option<i64>,
    ) -> (Visitor, Value) {
        let mut v = open(app, key, Some(ORIGIN))
            .await
            .expect("handshake accepted");
        let mut hello = json!({"type": "hello", "site": key, "locale": "fa"});
        if let Some(t) = token {
            hello["visitor_token"] = json!(t);
        }
        if let Some(s) = last_seq {
            hello["last_seq"] = json!(s);
        }
        v.send(hello).await;
        let welcome = v.next_of("welcome").await;
        (v, welcome)
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("frame sent");
    }

    pub async fn message(&mut self, client_id: &str, text: &str) {
        self.send(json!({"type": "message", "client_id": client_id, "text": text}))
            .await;
    }

    /// The next JSON frame, within 10 s.
    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a frame within 10 s")
    }

    pub async fn next_within(&mut self, d: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let m = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match m {
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(&t).expect("JSON frame"))
                }
                Some(Ok(Message::Close(_))) | None => {
                    panic!("socket closed while waiting for a frame")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error: {e}"),
            }
        }
    }

    /// Skip frames until one of `kind` arrives.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let f = self.next().await;
            if f["type"] == kind {
                return f;
            }
        }
    }

    /// Send a message and return its ack, retrying after `rate_limited`.
    pub async fn say(&mut self, client_id: &str, text: &str) -> Value {
        loop {
            self.message(client_id, text).await;
            loop {
                let f = self.next().await;
                if f["type"] == "ack" && f["client_id"] == client_id {
                    return f;
                }
                if f["type"] == "error"
                    && f["code"] == "rate_limited"
                    && f["client_id"] == client_id
                {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    break;
                }
                assert_ne!(f["type"], "error", "unexpected error frame {f}");
            }
        }
    }
}

/// Messages of a conversation through the agent API.
pub async fn api_messages(app: &TestApp, conv: &str) -> Vec<Value> {
    let (s, page) = app
        .get(
            &format!("/api/v1/conversations/{conv}/messages?limit=200"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Post an agent reply (or note) through the agent API.
pub async fn reply(app: &TestApp, token: &str, conv: &str, body: &str, internal: bool) -> Value {
    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            token,
            json!({"body": body, "internal": internal}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m
}

/// The visitor and site a welcome's token names (tokens are renewed, so compare these).
pub fn visitor_of(welcome: &Value) -> String {
    let t = welcome["visitor_token"].as_str().expect("a visitor token");
    t.split('.').take(2).collect::<Vec<_>>().join(".")
}

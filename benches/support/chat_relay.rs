//! The bare relay of `chat_sockets` (run as a child process): axum's `WebSocketUpgrade` on
//! tokio-tungstenite, every visitor text frame forwarded through an unbounded channel to the
//! one agent socket. `buf` > 0 sets the read and write buffers (0: tungstenite's defaults).

use axum::extract::ws::{Message as AxMsg, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

struct Relay {
    buf: usize,
    tx: mpsc::UnboundedSender<axum::extract::ws::Utf8Bytes>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<axum::extract::ws::Utf8Bytes>>>,
}

async fn relay_visitor(State(r): State<Arc<Relay>>, ws: WebSocketUpgrade) -> Response {
    let ws = if r.buf > 0 {
        ws.read_buffer_size(r.buf).write_buffer_size(r.buf)
    } else {
        ws
    };
    ws.on_upgrade(move |mut socket: WebSocket| async move {
        while let Some(Ok(m)) = socket.recv().await {
            if let AxMsg::Text(t) = m {
                let _ = r.tx.send(t);
            }
        }
    })
}

async fn relay_agent(State(r): State<Arc<Relay>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |mut socket: WebSocket| async move {
        let Some(mut rx) = r.rx.lock().unwrap().take() else {
            return;
        };
        while let Some(t) = rx.recv().await {
            if socket.send(AxMsg::Text(t)).await.is_err() {
                return;
            }
        }
    })
}

/// Serve the relay on `port` (at most ten minutes).
pub async fn relay_main(port: u16, buf: usize) {
    let (tx, rx) = mpsc::unbounded_channel();
    let relay = Arc::new(Relay {
        buf,
        tx,
        rx: Mutex::new(Some(rx)),
    });
    let app = axum::Router::new()
        .route("/visitor", axum::routing::get(relay_visitor))
        .route("/agent", axum::routing::get(relay_agent))
        .with_state(relay);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    // Bounded: the relay never outlives a stuck parent by more than ten minutes.
    let _ = tokio::time::timeout(Duration::from_secs(600), axum::serve(listener, app)).await;
}

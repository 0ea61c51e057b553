//! A console socket (`/ws/console?token=`) as a test peer.

use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Open an agent's console socket and wait for its `hello`.
pub async fn connect(base: &str, token: &str) -> Socket {
    let url = format!(
        "{}/ws/console?token={token}",
        base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("console connects");
    next_matching(&mut socket, |v| v["type"] == "hello").await;
    socket
}

/// Next JSON frame matching `pred`, within 10 s.
pub async fn next_matching(socket: &mut Socket, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
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

/// The next `kind` event on the socket.
pub async fn next_event(socket: &mut Socket, kind: &str) -> Value {
    next_matching(socket, |v| v["kind"] == kind).await
}

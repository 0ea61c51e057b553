//! The listener's limits: silent and idle connections are closed after the header deadline.

use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read until the server closes the connection; how long that took (panics after 10 s).
async fn until_closed(conn: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("the server closes the connection within 10 s")
            .unwrap_or(0);
        if n == 0 {
            return started.elapsed();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_keep_alive_connections_are_closed_after_the_header_deadline() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.server.header_read_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // Connects and says nothing.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let took = until_closed(&mut silent).await;
    assert!(
        took < Duration::from_secs(4),
        "silent connection lived {took:?}"
    );
    // Sends half a request head and stops.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let took = until_closed(&mut slow).await;
    assert!(
        took < Duration::from_secs(4),
        "half a request head lived {took:?}"
    );
    // One request on a keep-alive connection, then nothing.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let took = until_closed(&mut idle).await;
    assert!(
        took < Duration::from_secs(4),
        "idle keep-alive connection lived {took:?}"
    );
}

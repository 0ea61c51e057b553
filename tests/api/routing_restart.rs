//! Crash safety: two real server processes on one PostgreSQL database, one killed with
//! SIGKILL while routing and started again; nothing is lost, doubled or over capacity.
use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process, killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn start(url: &str, dir: &std::path::Path) -> Node {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env("SWITCHBOARD_DATABASE_URL", url)
        .env("SWITCHBOARD_BIND", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD_DATA_DIR", dir)
        .env_remove("SWITCHBOARD_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server binary starts");
    let node = Node {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{}/readyz", node.base)).send().await {
            if r.status() == StatusCode::OK {
                return node;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server process never became ready on port {port}");
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let req = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .bearer_auth(token);
    let req = if body.is_null() { req } else { req.json(&body) };
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_routing_and_restarted_loses_and_doubles_nothing() {
    // Set-up through an in-process node that is stopped before any routing starts.
    let setup = spawn_app(Backend::Postgres).await;
    let q = queue(&setup, json!({"name": "Support"})).await;
    let mut agents = Vec::new();
    for i in 0..3 {
        let (_, t) = setup
            .agent(
                &format!("a{i}@example.com"),
                "agent",
                json!({"capacity": {"api": 2}}),
            )
            .await;
        agents.push(t);
    }
    setup.stop.cancel();
    let admin = setup.admin_token.clone();
    let dir = setup._dir.path().to_path_buf();
    let mut one = start(&setup.database_url, &dir).await;
    let two = start(&setup.database_url, &dir).await;
    let mut convs = Vec::new();
    for i in 0..30 {
        let body = json!({"customer": {"email": format!("c{i}@example.com")}, "subject": "Help", "body": "hi", "queue_id": q});
        let (s, c) = call(&two.base, "POST", "/api/v1/conversations", &admin, body).await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        convs.push(c["id"].as_str().unwrap().to_string());
    }
    for t in &agents {
        let (s, b) = call(
            &one.base,
            "PUT",
            "/api/v1/agents/me/presence",
            t,
            json!({"status": "available"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut served, mut killed) = (0, false);
    while served < 30 {
        assert!(Instant::now() < deadline, "only {served} of 30 served");
        if served >= 10 && !killed {
            one.child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
            one.child.wait().unwrap();
            killed = true;
            one = start(&setup.database_url, &dir).await;
        }
        for (i, tok) in agents.iter().enumerate() {
            let base = if (i + served) % 2 == 0 {
                &one.base
            } else {
                &two.base
            };
            let (s, list) = call(base, "GET", "/api/v1/offers", tok, Value::Null).await;
            assert_eq!(s, StatusCode::OK, "{list}");
            for o in list["items"].as_array().unwrap() {
                let id = o["id"].as_str().unwrap();
                let (s, c) = call(
                    base,
                    "POST",
                    &format!("/api/v1/offers/{id}/accept"),
                    tok,
                    Value::Null,
                )
                .await;
                if s == StatusCode::CONFLICT {
                    continue;
                }
                assert_eq!(s, StatusCode::OK, "{c}");
                let cid = c["id"].as_str().unwrap();
                let (s, r) = call(
                    base,
                    "PATCH",
                    &format!("/api/v1/conversations/{cid}"),
                    tok,
                    json!({"status": "resolved"}),
                )
                .await;
                assert_eq!(s, StatusCode::OK, "{r}");
                served += 1;
            }
        }
        assert_invariants(&setup).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(killed);
    assert_invariants(&setup).await;
    assert!(
        assigned_twice(&setup).await.is_empty(),
        "a conversation was assigned twice"
    );
    let (resolved,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM conversations WHERE status = 'resolved' AND assignee_id IS NOT NULL",
    )
    .fetch_one(setup.state.store.pool())
    .await
    .unwrap();
    assert_eq!(resolved, 30, "every conversation served exactly once");
}

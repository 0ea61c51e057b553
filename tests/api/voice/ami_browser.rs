//! A call rung by the PBX (the scripted Asterisk) pops up on the agent's console in Chromium,
//! and the profile's call button sends `Originate` (`tests/browser/console_ami.test.mjs`).

use super::ami::{pbx_app, wait_connected};
use super::ami_server::{blocks, until, AmiServer};
use crate::console::node::{browser_dir, run_script};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const AGENT_EMAIL: &str = "ext201@example.com";
const CUSTOMER_NAME: &str = "Sara Ahmadi";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_pbx_call_pops_up_and_the_agent_calls_back_in_a_real_browser() {
    browser_dir();
    let server = AmiServer::start(super::ami::SECRET).await;
    let app = pbx_app(Backend::Sqlite, &server).await;
    let (agent_id, _) = app
        .agent(AGENT_EMAIL, "agent", json!({"extension": "201"}))
        .await;
    let (s, customer) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": CUSTOMER_NAME, "identities": [{"kind": "phone", "value": "+989121234567"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{customer}");
    wait_connected(&app).await;
    // Ring once the agent's console is connected.
    let (pool, pbx) = (app.state.store.pool().clone(), server.clone());
    let ring = tokio::spawn(async move {
        loop {
            let n: (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM console_connections WHERE agent_id = $1")
                    .bind(&agent_id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            if n.0 > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all = blocks("inbound_answered.ami");
        pbx.send_all(&until(&all, "DialBegin", 1).0);
    });
    run_script(
        "console_ami.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", AGENT_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CUSTOMER_NAME", CUSTOMER_NAME.into()),
        ],
        90,
    )
    .await;
    ring.await.unwrap();
    let sent = server.actions("Originate");
    assert_eq!(sent.len(), 1, "one click, one Originate");
    assert_eq!(sent[0].get("Channel"), Some("PJSIP/201"));
    assert_eq!(sent[0].get("Exten"), Some("09121234567"));
}

//! The screen pop of a ringing call on the called agent's console, in Chromium
//! (`tests/browser/console_call.test.mjs`).

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

const AGENT_EMAIL: &str = "ext201@example.com";
const CUSTOMER_NAME: &str = "سارا احمدی";
const LAST_SUBJECT: &str = "تاخیر سفارش ۷۷";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_called_agent_sees_the_caller_pop_up_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent(
        AGENT_EMAIL,
        "agent",
        json!({"name": "مریم", "extension": "201"}),
    )
    .await;
    let (s, customer) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": CUSTOMER_NAME, "tier": "vip",
                   "identities": [{"kind": "phone", "value": "+989121234567"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{customer}");
    let (s, conv) = app
        .post(
            "/api/v1/conversations",
            &app.admin_token,
            json!({"customer_id": customer["id"], "subject": LAST_SUBJECT, "body": "سفارش من کجاست؟"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conv}");
    // One purchase (rial, the default) and a refit: the only customer scores lowest, "Lost".
    let (s, order) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"customer_id": customer["id"], "external_id": "call-1", "amount": 2_500_000}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    app.refit().await;
    let cti = app.api_token(&["voice:ingest"]).await;
    run_script(
        "console_call.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", AGENT_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            (
                "CTI_URL",
                app.url(&format!("/api/v1/channels/voice/cti/{cti}")),
            ),
            ("CALLER", "09121234567".into()),
            ("CUSTOMER_NAME", CUSTOMER_NAME.into()),
            ("LAST_SUBJECT", LAST_SUBJECT.into()),
        ],
        90,
    )
    .await;
}

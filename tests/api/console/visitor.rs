//! The pre-chat email rule as an agent sees it in Chromium
//! (`tests/browser/console_visitor.test.mjs`); afterwards the merge the agent confirmed holds.

use super::node::run_script;
use crate::chat::client::{site, Visitor};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

const OWNER_NAME: &str = "رضا کریمی";
const VISITOR_NAME: &str = "رضا";
const EMAIL: &str = "reza@example.com";
const NEW_NAME: &str = "رضا کریمی‌نژاد";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_prechat_email_is_only_a_possible_match_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent("agent@example.com", "agent", json!({"name": "مریم"}))
        .await;
    let known = app
        .conversation(
            &app.admin_token,
            EMAIL,
            "سفارش قبلی",
            json!({"customer": {"email": EMAIL, "name": OWNER_NAME}}),
        )
        .await;
    let owner = known["customer_id"].as_str().unwrap().to_string();
    let (s, body) = app
        .patch(
            &format!("/api/v1/customers/{owner}"),
            &app.admin_token,
            json!({"tier": "vip"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let key = site(&app, json!({"prechat_fields": ["name", "email"]})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut claim, _) = Visitor::join(&app, &key, None, None).await;
    claim
        .send(json!({"type": "prechat", "name": VISITOR_NAME, "email": "Reza@Example.com"}))
        .await;
    let claim_conv = claim.say("c1", "سلام، سفارشم چه شد؟").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut anon, _) = Visitor::join(&app, &key, None, None).await;
    let anon_conv = anon.say("a1", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    run_script(
        "console_visitor.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", "agent@example.com".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CLAIM_CONVERSATION_ID", claim_conv.clone()),
            ("ANON_CONVERSATION_ID", anon_conv),
            ("CLAIMED_EMAIL", EMAIL.into()),
            ("OWNER_NAME", OWNER_NAME.into()),
            ("VISITOR_NAME", VISITOR_NAME.into()),
            ("NEW_NAME", NEW_NAME.into()),
        ],
        90,
    )
    .await;
    let (s, c) = app
        .get(
            &format!("/api/v1/conversations/{claim_conv}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        c["customer_id"],
        owner.as_str(),
        "merged by the agent after checking"
    );
}

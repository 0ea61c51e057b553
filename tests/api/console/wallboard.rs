//! The supervisor's live wallboard and the reports page in real browsers
//! (`tests/browser/console_wallboard.test.mjs`): a visitor's chat waiting in a queue, an agent who is offline until
//! the script makes her available and accept it, a supervisor watching the board; afterwards the
//! API shows the conversation reassigned to the supervisor and the agent away.

use super::node::run_script;
use crate::chat::client::{site, Visitor};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

const SUP_EMAIL: &str = "sara.supervisor@example.com";
const AGENT_EMAIL: &str = "reza.agent@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_and_reports_in_real_browsers() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    let (sup_id, _) = app
        .agent(SUP_EMAIL, "supervisor", json!({"name": "Sara"}))
        .await;
    let (agent_id, _) = app
        .agent(AGENT_EMAIL, "agent", json!({"name": "Reza"}))
        .await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Support", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let queue = q["id"].as_str().unwrap().to_string();
    // A visitor writes in on a site of the queue (the real widget protocol): a chat waits.
    let key = site(&app, json!({"queue_id": queue})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut visitor, _) = Visitor::join(&app, &key, None, None).await;
    let conv = visitor.say("w1", "سلام، سفارش ۱۲۳۴ کجاست؟").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    run_script(
        "console_wallboard.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("SUP_EMAIL", SUP_EMAIL.into()),
            ("SUP_ID", sup_id.clone()),
            ("AGENT_EMAIL", AGENT_EMAIL.into()),
            ("AGENT_ID", agent_id.clone()),
            ("AGENT_NAME", "Reza".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("QUEUE_ID", queue),
            ("CONVERSATION_ID", conv.clone()),
        ],
        180,
    )
    .await;

    let (s, c) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        c["assignee_id"],
        sup_id.as_str(),
        "reassigned from the board: {c}"
    );
    let (s, a) = app
        .get(&format!("/api/v1/agents/{agent_id}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["presence"], "away", "set away from the board: {a}");
    drop(visitor);
}

/// Business-hours calendars in the admin's Persian console
/// (`tests/browser/console_wallboard_hours.test.mjs`): the holiday typed in Jalali is stored as
/// its Gregorian date, the week as entered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_hours_in_jalali_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent(SUP_EMAIL, "supervisor", json!({"name": "Sara"}))
        .await;
    let name = "دفتر تهران";
    run_script(
        "console_wallboard_hours.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("SUP_EMAIL", SUP_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CALENDAR_NAME", name.into()),
        ],
        120,
    )
    .await;
    let (s, page) = app.get("/api/v1/business-hours", &app.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    let cal = &items[0];
    assert_eq!(cal["name"], name);
    assert_eq!(cal["time_zone"], "Asia/Tehran");
    assert_eq!(cal["holidays"], json!(["2027-03-21"]), "Nowruz 1406: {cal}");
    assert_eq!(cal["weekly"]["saturday"], json!([["08:00", "17:00"]]));
    assert_eq!(cal["weekly"]["thursday"], json!([["08:00", "13:00"]]));
    assert_eq!(cal["weekly"]["friday"], json!([]));
}

//! Live figures: today's service level in `/stats/queues` changes when a contact is answered
//! (rolled up as it happens), SLA at risk and breached, presence since and contacts handled
//! in `/stats/agents`, the queue's service-level target; agents are refused reports.
use super::chats::{accept, chat, presence};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn queue_row(app: &TestApp, sup: &str, q: &str) -> Value {
    let (s, body) = app.get("/api/v1/stats/queues", sup).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["queue_id"] == q)
        .unwrap()
        .clone()
}

async fn enqueued_ago(app: &TestApp, conv: &str, secs: i64) {
    sqlx::query("UPDATE conversations SET enqueued_at = $1 WHERE id = $2")
        .bind(switchboard::store::now_ms() - secs * 1000)
        .bind(conv)
        .execute(app.state.store.pool())
        .await
        .unwrap();
}

async fn todays_figures_change_when_a_contact_is_answered(b: Backend) {
    let app = spawn_app(b).await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Live", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    assert_eq!(q["service_level_seconds"], Value::Null);
    let q = q["id"].as_str().unwrap().to_string();
    let (x_id, x) = app
        .agent("x@example.com", "agent", json!({"capacity": {"chat": 1}}))
        .await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    let (s, body) = app.get("/api/v1/reports/summary", &x).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    presence(&app, &x, "available").await;
    let (_, before) = app.get("/api/v1/stats/agents", &sup).await;
    let me = |list: &Value| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent_id"] == x_id.as_str())
            .unwrap()
            .clone()
    };
    let since = me(&before)["presence_since"].as_str().unwrap().to_string();
    presence(&app, &x, "available").await;
    let (_, again) = app.get("/api/v1/stats/agents", &sup).await;
    assert_eq!(
        me(&again)["presence_since"],
        since.as_str(),
        "unchanged presence keeps its time"
    );
    assert_eq!(me(&again)["handled_today"], 0);

    let c1 = chat(&app, &q, "one@example.com").await;
    let row = queue_row(&app, &sup, &q).await;
    assert_eq!(
        (
            row["today"]["offered"].clone(),
            row["today"]["answered"].clone()
        ),
        (json!(1), json!(0)),
        "{row}"
    );
    assert_eq!(row["today"]["service_level"], 0.0, "{row}");
    accept(&app, &x, &c1).await;
    let row = queue_row(&app, &sup, &q).await;
    let today = &row["today"];
    assert_eq!(
        (
            today["answered"].clone(),
            today["answered_within_target"].clone()
        ),
        (json!(1), json!(1)),
        "{row}"
    );
    assert_eq!(today["service_level"], 1.0, "{row}");
    assert!(
        today["avg_speed_of_answer_seconds"].as_f64().unwrap() < 20.0,
        "{row}"
    );
    assert_eq!(
        (row["sla_at_risk"].clone(), row["sla_breached"].clone()),
        (json!(0), json!(0))
    );
    let (_, agents) = app.get("/api/v1/stats/agents", &sup).await;
    assert_eq!(me(&agents)["handled_today"], 1);

    // The agent is full: two more wait, one past the 20 s target, one past 80 % of it.
    let c2 = chat(&app, &q, "two@example.com").await;
    let c3 = chat(&app, &q, "three@example.com").await;
    enqueued_ago(&app, &c2, 30).await;
    enqueued_ago(&app, &c3, 17).await;
    let row = queue_row(&app, &sup, &q).await;
    assert_eq!(
        (row["sla_at_risk"].clone(), row["sla_breached"].clone()),
        (json!(1), json!(1)),
        "{row}"
    );
    assert_eq!(row["today"]["offered"], 3);
    // A tighter target puts the 17 s wait past it.
    let (s, body) = app
        .patch(
            &format!("/api/v1/queues/{q}"),
            &app.admin_token,
            json!({"service_level_seconds": 15}),
        )
        .await;
    assert_eq!(
        (s, body["service_level_seconds"].clone()),
        (StatusCode::OK, json!(15)),
        "{body}"
    );
    let row = queue_row(&app, &sup, &q).await;
    assert_eq!(row["sla_breached"], 2, "{row}");
    let (s, body) = app
        .patch(
            &format!("/api/v1/queues/{q}"),
            &app.admin_token,
            json!({"service_level_seconds": 0}),
        )
        .await;
    assert_eq!(
        (s, body["service_level_seconds"].clone()),
        (StatusCode::OK, Value::Null)
    );
    let (_, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    let op = &doc["paths"]["/reports/summary"]["get"];
    assert!(
        op["description"]
            .as_str()
            .unwrap_or_default()
            .contains("answered within target ÷ offered"),
        "{op}"
    );
}

/// A queue named `name` taking email with a 10-minute first-response target; `calendar` puts
/// it on business time.
async fn mail_queue(app: &TestApp, name: &str, calendar: Option<&str>) -> String {
    let mut body = json!({"name": name, "channels": ["email"], "first_response_minutes": 10});
    if let Some(c) = calendar {
        body["business_hours_id"] = json!(c);
        body["business_time_only"] = json!(true);
    }
    let (s, q) = app.post("/api/v1/queues", &app.admin_token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    q["id"].as_str().unwrap().to_string()
}

async fn waiting_mail_is_watched_against_its_queues_target_and_clock(b: Backend) {
    let app = spawn_app(b).await;
    let sup = app.admin_token.clone();
    // Open one minute a day: whatever the time now, at most a minute of business time
    // passes in two hours.
    let minute = json!([["03:00", "03:01"]]);
    let (s, cal) = app
        .post(
            "/api/v1/business-hours",
            &app.admin_token,
            json!({"name": "A minute", "time_zone": "UTC", "holidays": [],
                "weekly": {"saturday": minute, "sunday": minute, "monday": minute,
                    "tuesday": minute, "wednesday": minute, "thursday": minute, "friday": minute}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cal}");
    let wall = mail_queue(&app, "Mail", None).await;
    let business = mail_queue(&app, "Mail, office hours", cal["id"].as_str()).await;
    for (queue, n, mins) in [
        (&wall, 1, 11),
        (&wall, 2, 9),
        (&wall, 3, 1),
        (&business, 4, 120),
    ] {
        let c = app
            .conversation(
                &app.admin_token,
                &format!("m{n}@example.com"),
                "Mail",
                json!({"channel": "email", "queue_id": queue}),
            )
            .await;
        enqueued_ago(&app, c["id"].as_str().unwrap(), mins * 60).await;
    }
    // 11 minutes: past the target; 9: past 80 % of it; 1: neither.
    let row = queue_row(&app, &sup, &wall).await;
    assert_eq!(
        (row["sla_at_risk"].clone(), row["sla_breached"].clone()),
        (json!(1), json!(1)),
        "{row}"
    );
    // Two hours on the wall, at most a minute of business time.
    let row = queue_row(&app, &sup, &business).await;
    assert_eq!(
        (row["sla_at_risk"].clone(), row["sla_breached"].clone()),
        (json!(0), json!(0)),
        "{row}"
    );
    // A tighter target moves the 9-minute wait past it.
    let (s, body) = app
        .patch(
            &format!("/api/v1/queues/{wall}"),
            &app.admin_token,
            json!({"first_response_minutes": 8}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let row = queue_row(&app, &sup, &wall).await;
    assert_eq!(row["sla_breached"], 2, "{row}");
}

crate::storage_tests!(
    todays_figures_change_when_a_contact_is_answered,
    waiting_mail_is_watched_against_its_queues_target_and_clock,
);

//! Business-hours calendars: CRUD and roles, validation codes, assignment to queues and chat
//! sites, SLA due times counted in business time, the widget offline outside a calendar.
//!
//! Hand-computed times: Tehran is UTC+03:30; 2027-03-24 is a Wednesday.
use crate::chat::client::{site, Visitor};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard::routing::run_once;

/// Saturday–Wednesday 08:00–17:00 in Tehran; Thursday and Friday closed.
fn tehran_office() -> Value {
    let day = json!([["08:00", "17:00"]]);
    json!({
        "name": "Tehran office",
        "time_zone": "Asia/Tehran",
        "weekly": {"saturday": day, "sunday": day, "monday": day, "tuesday": day,
                   "wednesday": day, "thursday": [], "friday": []},
        "holidays": ["2027-03-21"]
    })
}

async fn calendar(app: &TestApp, body: Value) -> String {
    let (s, c) = app
        .post("/api/v1/business-hours", &app.admin_token, body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn ms(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
        * 1000
}

async fn calendars_are_written_by_admins_and_read_by_supervisors(b: Backend) {
    let app = spawn_app(b).await;
    let mut body = tehran_office();
    // Ranges and holidays come back sorted, holidays once each.
    body["weekly"]["monday"] = json!([["13:00", "17:00"], ["08:00", "12:00"]]);
    body["holidays"] = json!(["2027-03-22", "2027-03-21", "2027-03-22"]);
    let (s, c) = app
        .post("/api/v1/business-hours", &app.admin_token, body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["name"], "Tehran office");
    assert_eq!(c["time_zone"], "Asia/Tehran");
    assert_eq!(
        c["weekly"]["monday"],
        json!([["08:00", "12:00"], ["13:00", "17:00"]])
    );
    assert_eq!(c["weekly"]["friday"], json!([]));
    assert_eq!(c["holidays"], json!(["2027-03-21", "2027-03-22"]));
    let path = format!("/api/v1/business-hours/{id}");
    let (_, sup) = app.agent("sup@example.com", "supervisor", json!({})).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, got) = app.get(&path, &sup).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got, c);
    let (s, list) = app.get("/api/v1/business-hours", &sup).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    for p in ["/api/v1/business-hours", path.as_str()] {
        let (s, body) = app.get(p, &agent).await;
        assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    let (s, body) = app
        .post("/api/v1/business-hours", &sup, tehran_office())
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app.patch(&path, &sup, json!({"name": "x"})).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app.delete(&path, &sup).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    // PATCH replaces what it names and keeps the rest.
    let (s, changed) = app
        .patch(
            &path,
            &app.admin_token,
            json!({"holidays": [], "time_zone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["holidays"], json!([]));
    assert_eq!(changed["time_zone"], "Europe/Berlin");
    assert_eq!(changed["weekly"], c["weekly"]);
    let (s, body) = app
        .post("/api/v1/business-hours", &app.admin_token, tehran_office())
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    let (s, _) = app.delete(&path, &app.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = app.get(&path, &sup).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    let (_, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    for m in ["get", "patch", "delete"] {
        assert!(doc["paths"]["/business-hours/{id}"][m].is_object(), "{m}");
    }
    assert!(doc["paths"]["/business-hours"]["post"].is_object());
}

async fn bad_calendars_are_refused_with_clear_codes(b: Backend) {
    let app = spawn_app(b).await;
    let cases = [
        (json!({"time_zone": "Asia/Tehrn"}), "unknown_time_zone"),
        (
            json!({"weekly": {"monday": [["08:00", "12:00"], ["11:00", "13:00"]]}}),
            "overlapping_ranges",
        ),
        (
            json!({"weekly": {"monday": [["17:00", "08:00"]]}}),
            "invalid_range",
        ),
        (
            json!({"weekly": {"monday": [["8:00", "12:00"]]}}),
            "invalid_time",
        ),
        (
            json!({"weekly": {"monday": [["08:00", "24:30"]]}}),
            "invalid_time",
        ),
        (json!({"weekly": {}}), "no_open_hours"),
        (json!({"holidays": ["2027-02-30"]}), "invalid_date"),
        (json!({"holidays": ["1406/01/01"]}), "invalid_date"),
        (json!({"time_zone": null}), "invalid_field"),
    ];
    for (change, code) in cases {
        let mut body = tehran_office();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let (s, err) = app
            .post("/api/v1/business-hours", &app.admin_token, body)
            .await;
        assert_error(s, &err, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let id = calendar(&app, tehran_office()).await;
    let (s, err) = app
        .patch(
            &format!("/api/v1/business-hours/{id}"),
            &app.admin_token,
            json!({"time_zone": "Mars/Olympus"}),
        )
        .await;
    assert_error(
        s,
        &err,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_time_zone",
    );
}

async fn queues_and_sites_use_a_calendar_that_cannot_be_deleted_meanwhile(b: Backend) {
    let app = spawn_app(b).await;
    let cal = calendar(&app, tehran_office()).await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Support", "business_hours_id": cal, "business_time_only": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    assert_eq!(q["business_hours_id"], cal.as_str());
    assert_eq!(q["business_time_only"], true);
    let qpath = format!("/api/v1/queues/{}", q["id"].as_str().unwrap());
    let (_, got) = app.get(&qpath, &app.admin_token).await;
    assert_eq!(got["business_hours_id"], cal.as_str());
    let (s, err) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Other", "business_hours_id": "nope"}),
        )
        .await;
    assert_error(
        s,
        &err,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_business_hours",
    );
    let (s, err) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Other", "business_time_only": true}),
        )
        .await;
    assert_error(
        s,
        &err,
        StatusCode::UNPROCESSABLE_ENTITY,
        "business_hours_required",
    );
    let st = site(&app, json!({"business_hours_id": cal})).await;
    assert_eq!(st["business_hours_id"], cal.as_str());
    let (s, err) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "x", "business_hours_id": "nope"}),
        )
        .await;
    assert_error(
        s,
        &err,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_business_hours",
    );
    let cpath = format!("/api/v1/business-hours/{cal}");
    let (s, err) = app.delete(&cpath, &app.admin_token).await;
    assert_error(s, &err, StatusCode::CONFLICT, "business_hours_in_use");
    // Clearing the queue's calendar while it counts business time needs both fields.
    let (s, err) = app
        .patch(&qpath, &app.admin_token, json!({"business_hours_id": null}))
        .await;
    assert_error(
        s,
        &err,
        StatusCode::UNPROCESSABLE_ENTITY,
        "business_hours_required",
    );
    let (s, q) = app
        .patch(
            &qpath,
            &app.admin_token,
            json!({"business_hours_id": null, "business_time_only": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert!(q["business_hours_id"].is_null());
    assert_eq!(q["business_time_only"], false);
    let (s, err) = app.delete(&cpath, &app.admin_token).await;
    assert_error(s, &err, StatusCode::CONFLICT, "business_hours_in_use");
    let spath = format!("/api/v1/channels/chat/sites/{}", st["id"].as_str().unwrap());
    let (s, st) = app
        .patch(&spath, &app.admin_token, json!({"business_hours_id": null}))
        .await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert!(st["business_hours_id"].is_null());
    let (s, _) = app.delete(&cpath, &app.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

/// Put a conversation's arrival at `at` (as if it had come then) and let routing stamp it.
async fn arrived_at(app: &TestApp, id: &str, at: i64) {
    sqlx::query(
        "UPDATE conversations SET created_at = $1, enqueued_at = $1, first_response_due = NULL, \
           resolution_due = NULL WHERE id = $2",
    )
    .bind(at)
    .bind(id)
    .execute(app.state.store.pool())
    .await
    .unwrap();
    run_once(&app.state, at).await.unwrap();
}

async fn due_times(app: &TestApp, id: &str) -> (Option<i64>, Option<i64>) {
    sqlx::query_as("SELECT first_response_due, resolution_due FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap()
}

async fn sla_clocks_count_business_time_where_the_queue_says_so(b: Backend) {
    let app = spawn_app(b).await;
    let mut cal = tehran_office();
    cal["holidays"] = json!([]);
    let cal = calendar(&app, cal).await;
    let queue = |name: &str, only: bool| {
        json!({"name": name, "first_response_minutes": 120, "resolution_hours": 24,
               "business_hours_id": cal, "business_time_only": only})
    };
    let (_, business) = app
        .post("/api/v1/queues", &app.admin_token, queue("Business", true))
        .await;
    let (_, wall) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            queue("Wall clock", false),
        )
        .await;
    let conv = |q: &Value, who: &str| {
        let q = q["id"].as_str().unwrap().to_string();
        let app = &app;
        let who = who.to_string();
        async move {
            let c = app
                .conversation(&app.admin_token, &who, "Help", json!({"queue_id": q}))
                .await;
            c["id"].as_str().unwrap().to_string()
        }
    };
    let in_hours = conv(&business, "biz@example.com").await;
    let plain = conv(&wall, "wall@example.com").await;
    // Wednesday 16:00 Tehran.
    let wed_1600 = ms("2027-03-24T12:30:00Z");
    arrived_at(&app, &in_hours, wed_1600).await;
    arrived_at(&app, &plain, wed_1600).await;
    // 2 h: Wednesday 16–17, then Thursday and Friday closed → Saturday 09:00 (05:30 UTC).
    // 24 h: Wednesday 1 + Saturday 9 + Sunday 9 + Monday 5 → Monday 13:00 (09:30 UTC).
    assert_eq!(
        due_times(&app, &in_hours).await,
        (
            Some(ms("2027-03-27T05:30:00Z")),
            Some(ms("2027-03-29T09:30:00Z"))
        )
    );
    assert_eq!(
        due_times(&app, &plain).await,
        (
            Some(wed_1600 + 2 * 3_600_000),
            Some(wed_1600 + 24 * 3_600_000)
        ),
        "a calendar without business_time_only leaves wall-clock targets"
    );
    // Friday evening: not breached yet; Saturday 09:00 it is, once.
    let breached = |when: &str| {
        let app = &app;
        let id = in_hours.clone();
        let when = ms(when);
        async move {
            run_once(&app.state, when).await.unwrap();
            let (_, c) = app
                .get(&format!("/api/v1/conversations/{id}"), &app.admin_token)
                .await;
            c["history"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h["kind"] == "sla_breached")
                .count()
        }
    };
    assert_eq!(breached("2027-03-26T18:00:00Z").await, 0);
    assert_eq!(breached("2027-03-27T05:30:00Z").await, 1);
    assert_eq!(breached("2027-03-27T06:00:00Z").await, 1);
    // The helper the reports use.
    let qid = business["id"].as_str().unwrap();
    let qc = switchboard::business_hours::calendar_for_queue(app.state.store.pool(), qid)
        .await
        .unwrap()
        .expect("the queue has a calendar");
    assert!(qc.business_time_only);
    assert_eq!(
        qc.calendar
            .business_ms(wed_1600, ms("2027-03-27T05:30:00Z")),
        2 * 3_600_000
    );
}

/// UTC dates around now (yesterday, today, tomorrow) as `YYYY-MM-DD`.
fn dates_around_now() -> Vec<String> {
    let today = time::OffsetDateTime::now_utc().date();
    [today.previous_day(), Some(today), today.next_day()]
        .into_iter()
        .flatten()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .collect()
}

async fn the_widget_is_offline_outside_its_calendar(b: Backend) {
    let app = spawn_app(b).await;
    let all_day = json!([["00:00", "24:00"]]);
    let weekly = json!({"saturday": all_day, "sunday": all_day, "monday": all_day,
        "tuesday": all_day, "wednesday": all_day, "thursday": all_day, "friday": all_day});
    // Open every day except around now (holidays), in UTC.
    let cal = calendar(
        &app,
        json!({"name": "Closed today", "time_zone": "UTC", "weekly": weekly,
               "holidays": dates_around_now()}),
    )
    .await;
    // The site's older inline hours say "open all day"; the calendar decides.
    let inline_open = json!({"utc_offset_minutes": 0, "mon": [0, 1440], "tue": [0, 1440],
        "wed": [0, 1440], "thu": [0, 1440], "fri": [0, 1440], "sat": [0, 1440], "sun": [0, 1440]});
    let key = site(
        &app,
        json!({"business_hours": inline_open, "business_hours_id": cal}),
    )
    .await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = app
        .put(
            "/api/v1/agents/me/presence",
            &app.admin_token,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, w) = Visitor::join(&app, &key, None, None).await;
    assert_eq!(w["site"]["online"], false, "a holiday in the calendar");
    let (s, _) = app
        .patch(
            &format!("/api/v1/business-hours/{cal}"),
            &app.admin_token,
            json!({"holidays": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, w) = Visitor::join(&app, &key, None, None).await;
    assert_eq!(
        w["site"]["online"], true,
        "open all day once the holidays go"
    );
}

crate::storage_tests!(
    calendars_are_written_by_admins_and_read_by_supervisors,
    bad_calendars_are_refused_with_clear_codes,
    queues_and_sites_use_a_calendar_that_cannot_be_deleted_meanwhile,
    sla_clocks_count_business_time_where_the_queue_says_so,
    the_widget_is_offline_outside_its_calendar,
);

//! Call records read from the PBX's own CDR database: a real MariaDB with a `cdr` table in
//! FreePBX's column layout (each test its own database `sb_cdr_<uuid>`, dropped at the end).
use super::live::{cti, event};
use super::{conversations_of, customer_by_phone, detail};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use std::path::Path;
use switchboard::channels::voice::cdr_db::{self, CdrPass, CdrSource};

/// The MariaDB server the tests use (`SWITCHBOARD_TEST_MYSQL`); they fail when it is not up.
pub fn mysql_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cdr")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A CDR database of its own, with FreePBX's `cdr` table; dropped when the value is.
pub struct CdrDb {
    pub name: String,
    pub url: String,
}

impl CdrDb {
    pub async fn new() -> CdrDb {
        let admin = mysql_admin_url();
        let mut conn = sqlx::MySqlConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("MariaDB must be running for the tests ({admin}): {e}"));
        let name = format!("sb_cdr_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .execute(&mut conn)
            .await
            .expect("create CDR database");
        let db = CdrDb {
            url: format!("{}/{name}", admin.trim_end_matches('/')),
            name,
        };
        db.exec(&fixture("freepbx_cdr_table.sql")).await;
        db
    }

    /// Run SQL statements in the CDR database.
    pub async fn exec(&self, sql: &str) {
        let mut conn = sqlx::MySqlConnection::connect(&self.url)
            .await
            .expect("connect");
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect("CDR SQL runs");
    }

    /// The database's offset from UTC in seconds (its `NOW()` is what `calldate` is
    /// written in).
    pub async fn utc_offset(&self) -> i32 {
        let mut conn = sqlx::MySqlConnection::connect(&self.url)
            .await
            .expect("connect");
        let (secs,): (i64,) =
            sqlx::query_as("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())")
                .fetch_one(&mut conn)
                .await
                .expect("clock");
        // Rounded to the minute: the two clock readings may straddle a second.
        ((secs as f64 / 60.0).round() * 60.0) as i32
    }

    pub fn source(&self) -> CdrSource {
        CdrSource::new(&self.url, "cdr").expect("CDR source")
    }
}

impl Drop for CdrDb {
    fn drop(&mut self) {
        let (admin, name) = (mysql_admin_url(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::MySqlConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A recording link template like a FreePBX site's.
pub const TEMPLATE: &str = "https://pbx.example/recordings/{calldate:%Y/%m/%d}/{recordingfile}";

/// The phone entries on a customer's timeline.
pub async fn phone_entries(app: &TestApp, e164: &str) -> Vec<Value> {
    let customer = customer_by_phone(app, e164).await;
    let id = customer["id"].as_str().unwrap();
    let (s, timeline) = app
        .get(
            &format!("/api/v1/customers/{id}/timeline"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{timeline}");
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "message" && i["channel"] == "phone")
        .cloned()
        .collect()
}

/// The one phone entry of a customer as a message (with its meta), checking there is one.
pub async fn the_call_of(app: &TestApp, e164: &str) -> Value {
    let entries = phone_entries(app, e164).await;
    assert_eq!(
        entries.len(),
        1,
        "one entry per call for {e164}: {entries:?}"
    );
    let conv = detail(app, &entries[0]["conversation_id"]).await;
    conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == entries[0]["id"])
        .cloned()
        .expect("the entry's message")
}

async fn pass(app: &TestApp, source: &CdrSource) -> CdrPass {
    let pass = cdr_db::run_once(&app.state, source)
        .await
        .expect("CDR pass");
    assert!(pass.ran, "the lease was free");
    pass
}

async fn a_morning_of_freepbx_calls_becomes_one_entry_per_call(b: Backend) {
    let db = CdrDb::new().await;
    db.exec(&fixture("freepbx_calls.sql")).await;
    let app = spawn_app_with(b, |s| s.voice.recording_url_template = TEMPLATE.into()).await;
    let (ali, _) = app
        .agent("ali@example.com", "agent", json!({"extension": "201"}))
        .await;
    let source = db.source();
    let first = pass(&app, &source).await;
    assert_eq!(first.rows, 12, "{first:?}");
    // Five customer calls; the transfer's consultation call between 201 and 203 is internal.
    assert_eq!(
        (
            first.report.stored,
            first.report.ignored,
            first.report.rejected.len()
        ),
        (5, 1, 0),
        "{first:?}"
    );

    let answered = the_call_of(&app, "+989121234567").await;
    assert_eq!(answered["body"], "Inbound call, answered, 2m00s");
    let meta = &answered["meta"];
    assert_eq!(meta["direction"], "inbound");
    assert_eq!(meta["agent_extension"], "201");
    assert_eq!(meta["agent_id"], ali.as_str());
    assert_eq!(meta["caller_name"], "Sara Ahmadi");
    assert_eq!(meta["to"], "+982188776655", "the DID the customer dialled");
    assert_eq!(
        meta["started_at"], "2026-03-01T06:30:00Z",
        "Tehran time to UTC"
    );
    assert_eq!(meta["duration_secs"], 142);
    assert_eq!(
        meta["recording_url"],
        "https://pbx.example/recordings/2026/03/01/external-201-09121234567-20260301-100012-1772346600.1.wav"
    );
    assert_eq!(answered["external_id"], "asterisk:1772346600.1");

    // The queue call rang 201 in vain and was answered by 202: talk time counted once.
    let queued = the_call_of(&app, "+989351112233").await;
    assert_eq!(queued["body"], "Inbound call, answered, 2m05s");
    assert_eq!(queued["meta"]["agent_extension"], "202");
    assert!(queued["meta"]["recording_url"]
        .as_str()
        .unwrap()
        .ends_with("/2026/03/01/q-400-09351112233-20260301-100500-1772346900.5.wav"));

    // The transferred call: 1m30s with 201, then 3m20s with 203.
    let transferred = the_call_of(&app, "+989127778899").await;
    assert_eq!(transferred["body"], "Inbound call, answered, 4m50s");
    assert_eq!(transferred["meta"]["agent_extension"], "201");

    let missed = the_call_of(&app, "+989901234567").await;
    assert_eq!(
        missed["body"],
        "Inbound call, not answered (rang 25s) (NO ANSWER)"
    );
    assert_eq!(missed["meta"]["recording_url"], Value::Null);
    let customer = customer_by_phone(&app, "+989901234567").await;
    let convs = conversations_of(&app, customer["id"].as_str().unwrap(), "").await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["status"], "open", "a missed call opens a callback");
    assert!(convs[0]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("callback")));

    let outbound = the_call_of(&app, "+989123334455").await;
    assert_eq!(outbound["body"], "Outbound call, answered, 1m01s");
    assert_eq!(outbound["meta"]["direction"], "outbound");
    assert_eq!(outbound["meta"]["agent_extension"], "202");

    // Nothing is read again.
    let again = pass(&app, &source).await;
    assert_eq!((again.rows, again.report.stored), (0, 0), "{again:?}");
}

/// Rows of one leg, `start_ago` seconds before the database's `NOW()`, lasting `duration`.
fn leg(
    linkedid: &str,
    uniqueid: &str,
    seq: u32,
    from: &str,
    ext: &str,
    start_ago: u32,
    duration: u32,
) -> String {
    format!(
        "INSERT INTO cdr (calldate, clid, src, dst, dcontext, channel, dstchannel, lastapp, \
           lastdata, duration, billsec, disposition, amaflags, uniqueid, did, cnum, linkedid, \
           sequence) VALUES (NOW() - INTERVAL {start_ago} SECOND, '\"\" <{from}>', '{from}', \
           '{ext}', 'from-did-direct', 'PJSIP/tci-trunk-{seq:08}', 'PJSIP/{ext}-{seq:08}', 'Dial', \
           'PJSIP/{ext},20', {duration}, {billsec}, 'ANSWERED', 3, '{uniqueid}', '02133445566', \
           '{from}', '{linkedid}', {seq});",
        billsec = duration.saturating_sub(5),
    )
}

async fn restarts_read_nothing_twice_and_late_rows_are_picked_up(b: Backend) {
    let db = CdrDb::new().await;
    let offset = db.utc_offset().await;
    let app = spawn_app_with(b, |s| {
        s.voice.pbx_utc_offset_secs = offset;
        s.voice.cdr_settle_secs = 30;
    })
    .await;
    let source = db.source();
    // A call that ended nine minutes ago.
    db.exec(&leg("9000.1", "9000.1", 1, "09120000001", "201", 600, 60))
        .await;
    let r = pass(&app, &source).await;
    assert_eq!(r.report.stored, 1, "{r:?}");

    // A new server on the same database reads nothing again.
    let (url, dir) = (app.database_url.clone(), app._dir.clone());
    drop(app);
    let app = spawn_on(&url, dir, |s| {
        s.voice.pbx_utc_offset_secs = offset;
        s.voice.cdr_settle_secs = 30;
    })
    .await;
    // (Rows that ended within the look-back window are read again, and skipped before
    // storage: the calls stored are remembered.)
    let r = pass(&app, &source).await;
    assert!(r.rows <= 1, "{r:?}");
    assert_eq!(
        (r.report.clone(), r.updated),
        (Default::default(), 0),
        "{r:?}"
    );

    // A long call that started before the position and was written when it ended, a minute
    // ago; a call still going on (it ends in the future) waits.
    db.exec(&leg(
        "8000.1",
        "8000.1",
        1,
        "09120000002",
        "202",
        2400,
        2340,
    ))
    .await;
    db.exec(&leg("9500.1", "9500.1", 1, "09120000003", "203", 10, 3600))
        .await;
    let r = pass(&app, &source).await;
    assert_eq!((r.report.stored, r.pending), (1, 1), "{r:?}");
    let late = the_call_of(&app, "+989120000002").await;
    assert_eq!(late["body"], "Inbound call, answered, 38m55s");

    // A second leg of the first call (same linkedid), written after the call was stored:
    // the entry is completed, not doubled.
    db.exec(&leg("9000.1", "9000.1", 2, "09120000001", "204", 540, 300))
        .await;
    let r = pass(&app, &source).await;
    assert_eq!((r.report.stored, r.updated), (0, 1), "{r:?}");
    let grown = the_call_of(&app, "+989120000001").await;
    assert_eq!(
        grown["body"], "Inbound call, answered, 5m50s",
        "55 s then 4m55s"
    );
    let r = pass(&app, &source).await;
    assert_eq!((r.report.stored, r.updated), (0, 0), "{r:?}");
}

async fn a_call_already_logged_by_cti_is_stored_once(b: Backend) {
    let db = CdrDb::new().await;
    let offset = db.utc_offset().await;
    let app = spawn_app_with(b, |s| {
        s.voice.pbx_utc_offset_secs = offset;
        s.voice.cdr_settle_secs = 0;
    })
    .await;
    let token = app.api_token(&["voice:ingest"]).await;
    for (kind, extra) in [
        ("newCall", json!({})),
        ("answer", json!({"answeringNumber": "201"})),
        ("hangup", json!({"cause": "normalClearing"})),
    ] {
        let (s, body) = cti(&app, &token, event(kind, "c-77", "09121234567", extra)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    // The PBX's record of the same call: the IVR, then extension 201.
    db.exec(&leg("7000.1", "7000.1", 1, "09121234567", "201", 3, 2))
        .await;
    let r = pass(&app, &db.source()).await;
    assert_eq!((r.report.stored, r.report.merged), (0, 1), "{r:?}");
    let call = the_call_of(&app, "+989121234567").await;
    assert_eq!(call["external_id"], "cti:c-77");
    assert_eq!(call["meta"]["cdr_source_id"], "7000.1");
    let r = pass(&app, &db.source()).await;
    assert_eq!(r.report, Default::default(), "{r:?}");
}

async fn the_worker_reads_the_pbx_database_by_itself(b: Backend) {
    let db = CdrDb::new().await;
    db.exec(&fixture("freepbx_calls.sql")).await;
    let url = db.url.clone();
    let app = spawn_app_with(b, |s| {
        s.voice.cdr_database_url = url.into();
        s.voice.cdr_poll_secs = 1;
    })
    .await;
    for _ in 0..100 {
        let (s, page) = app
            .get("/api/v1/customers?q=%2B989123334455", &app.admin_token)
            .await;
        assert_eq!(s, StatusCode::OK);
        if !page["items"].as_array().unwrap().is_empty() {
            let call = the_call_of(&app, "+989123334455").await;
            assert_eq!(call["body"], "Outbound call, answered, 1m01s");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the worker stored nothing within 10 s");
}

crate::storage_tests!(
    a_morning_of_freepbx_calls_becomes_one_entry_per_call,
    restarts_read_nothing_twice_and_late_rows_are_picked_up,
    a_call_already_logged_by_cti_is_stored_once,
    the_worker_reads_the_pbx_database_by_itself,
);

//! Asterisk's queue log: followed with a persisted offset; calls carry their queue, wait and
//! agent.
use super::cdr_db::{the_call_of, CdrDb, TEMPLATE};
use super::upload;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use switchboard::channels::voice::{cdr_db, queue_log};

pub(crate) fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open queue log");
    f.write_all(text.as_bytes()).expect("append");
}

/// A Master.csv line of an inbound call to queue 400 (PBX clock UTC).
pub(crate) fn master_csv(
    from: &str,
    uniqueid: &str,
    start: &str,
    answer: &str,
    end: &str,
    secs: (u32, u32),
) -> String {
    let disposition = if answer.is_empty() {
        "NO ANSWER"
    } else {
        "ANSWERED"
    };
    format!(
        "\"\",\"{from}\",\"400\",\"ext-queues\",\"\"\"\"\" <{from}>\",\"PJSIP/tci-trunk-1\",\
         \"Local/202@from-queue-1;1\",\"Queue\",\"400,t\",\"{start}\",\"{answer}\",\"{end}\",{},{},\
         \"{disposition}\",\"DOCUMENTATION\",\"{uniqueid}\",\"\"\n",
        secs.0, secs.1
    )
}

/// A morning of queue 400: agents log in and pause, an answered call, an abandoned one, a
/// timeout, an empty queue, a transfer.
const QUEUE_LOG: &str = "\
1772346895|NONE|NONE|NONE|QUEUESTART|
1772346896|NONE|400|PJSIP/202|ADDMEMBER|
1772346897|NONE|400|Local/201@from-queue/n|ADDMEMBER|
1772346898|NONE|400|Local/201@from-queue/n|PAUSE|Lunch
1772346900|1772346900.5|400|NONE|DID|02188776655
1772346900|1772346900.5|400|NONE|ENTERQUEUE||09351112233|1
1772346915|1772346900.5|400|PJSIP/201|RINGNOANSWER|15000
1772346925|1772346900.5|400|PJSIP/202|CONNECT|25|1772346925.9|10
1772347000|1772347000.6|400|NONE|ENTERQUEUE||09127654321|1
1772347040|1772347000.6|400|NONE|ABANDON|1|1|40
1772347050|1772346900.5|400|PJSIP/202|COMPLETECALLER|25|125|1
1772347100|1772347100.7|400|NONE|ENTERQUEUE||09120000007|1
1772347400|1772347100.7|400|NONE|EXITWITHTIMEOUT|1|1|300
1772347500|1772347500.8|400|NONE|ENTERQUEUE||09120000008|1
1772347500|1772347500.8|400|NONE|EXITEMPTY|1|1|0
1772347600|NONE|400|Local/201@from-queue/n|UNPAUSE|
1772347700|1772347700.9|400|NONE|ENTERQUEUE||09120000009|1
1772347705|1772347700.9|400|PJSIP/202|CONNECT|5|1772347705.10|3
";

type Row = (
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
);

async fn queue_calls(app: &TestApp) -> Vec<Row> {
    sqlx::query_as(
        "SELECT call_id, wait_secs, outcome, agent_extension, agent_id, talk_secs, ended_by, rang \
         FROM voice_queue_calls ORDER BY call_id",
    )
    .fetch_all(app.state.store.pool())
    .await
    .expect("queue calls")
}

async fn queue_log_events_give_calls_their_queue_wait_and_agent(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.pbx_utc_offset_secs = 0).await;
    let (sara, _) = app
        .agent("sara@example.com", "agent", json!({"extension": "202"}))
        .await;
    // The PBX's CDRs of two of the calls (uploaded Master.csv).
    let log = [
        master_csv(
            "09351112233",
            "1772346900.5",
            "2026-03-01 06:35:00",
            "2026-03-01 06:35:25",
            "2026-03-01 06:37:30",
            (150, 125),
        ),
        master_csv(
            "09127654321",
            "1772347000.6",
            "2026-03-01 06:36:40",
            "",
            "2026-03-01 06:37:20",
            (40, 0),
        ),
    ]
    .concat();
    let (s, report) = upload(&app, &app.admin_token, "asterisk", log.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 2, "{report}");

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue_log");
    // Nothing there yet: waited for.
    let r = queue_log::run_once(&app.state, &path).await.unwrap();
    assert_eq!((r.ran, r.events), (true, 0));
    // The transfer's last line is only half written.
    let transfer = "1772347765|1772347700.9|400|PJSIP/202|TRANSFER|203|from-internal|5|60|1\n";
    append(&path, QUEUE_LOG);
    append(&path, &transfer[..30]);
    let r = queue_log::run_once(&app.state, &path).await.unwrap();
    assert_eq!((r.events, r.skipped, r.linked), (18, 0, 2), "{r:?}");
    append(&path, &transfer[30..]);
    let r = queue_log::run_once(&app.state, &path).await.unwrap();
    assert_eq!(r.events, 1, "only the completed line: {r:?}");

    let rows = queue_calls(&app).await;
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        rows,
        vec![
            (
                "1772346900.5".into(),
                Some(25),
                "answered".into(),
                s("202"),
                Some(sara.clone()),
                Some(125),
                s("caller"),
                1
            ),
            (
                "1772347000.6".into(),
                Some(40),
                "abandoned".into(),
                None,
                None,
                None,
                None,
                0
            ),
            (
                "1772347100.7".into(),
                Some(300),
                "timeout".into(),
                None,
                None,
                None,
                None,
                0
            ),
            (
                "1772347500.8".into(),
                Some(0),
                "empty".into(),
                None,
                None,
                None,
                None,
                0
            ),
            (
                "1772347700.9".into(),
                Some(5),
                "answered".into(),
                s("202"),
                Some(sara.clone()),
                Some(60),
                s("transfer"),
                0
            ),
        ]
    );
    let members: Vec<(String, Option<String>, String, Option<String>)> = sqlx::query_as(
        "SELECT agent, agent_extension, event, reason FROM voice_queue_member_events ORDER BY at",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    let events: Vec<&str> = members.iter().map(|m| m.2.as_str()).collect();
    assert_eq!(events, ["ADDMEMBER", "ADDMEMBER", "PAUSE", "UNPAUSE"]);
    assert_eq!(members[2].1.as_deref(), Some("201"));
    assert_eq!(members[2].3.as_deref(), Some("Lunch"));

    // The calls on the customers' timelines carry their queue, wait and agent.
    let answered = the_call_of(&app, "+989351112233").await;
    assert_eq!(
        answered["body"],
        "Inbound call, answered, 2m05s · queue 400, waited 25s, agent 202"
    );
    assert_eq!(answered["meta"]["queue"], "400");
    assert_eq!(answered["meta"]["wait_seconds"], 25);
    assert_eq!(answered["meta"]["queue_outcome"], "answered");
    assert_eq!(answered["meta"]["queue_agent"], "202");
    let abandoned = the_call_of(&app, "+989127654321").await;
    assert_eq!(
        abandoned["body"],
        "Inbound call, not answered (rang 40s) (NO ANSWER) · queue 400, waited 40s"
    );
    assert_eq!(abandoned["meta"]["queue_outcome"], "abandoned");

    // Rotation: the log is renamed and a new one started; it is read from its start.
    std::fs::rename(&path, dir.path().join("queue_log.1")).unwrap();
    append(
        &path,
        "1772350000|1772350000.20|400|NONE|ENTERQUEUE||09120000020|1\n\
         1772350012|1772350000.20|400|NONE|EXITWITHKEY|1|1|1|12\n\
         1772350100|NONE|400|Local/201@from-queue/n|REMOVEMEMBER|\n",
    );
    let r = queue_log::run_once(&app.state, &path).await.unwrap();
    assert_eq!(r.events, 3, "{r:?}");
    let rows = queue_calls(&app).await;
    assert_eq!(rows.len(), 6);
    assert_eq!((rows[5].1, rows[5].2.as_str()), (Some(12), "exit_key"));
    // Restarted, nothing is read twice.
    let (url, data) = (app.database_url.clone(), app._dir.clone());
    drop(app);
    let app = spawn_on(&url, data, |_| {}).await;
    let r = queue_log::run_once(&app.state, &path).await.unwrap();
    assert_eq!(r.events, 0, "{r:?}");
}

async fn calls_from_the_cdr_database_carry_their_queue_and_wait(b: Backend) {
    let db = CdrDb::new().await;
    db.exec(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cdr/freepbx_calls.sql"),
        )
        .unwrap(),
    )
    .await;
    let app = spawn_app_with(b, |s| s.voice.recording_url_template = TEMPLATE.into()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue_log");
    // Queue 400's record of the fixture's queue call (written as it happened, before the CDR).
    append(
        &path,
        "1772346900|1772346900.5|400|NONE|ENTERQUEUE||09351112233|1\n\
         1772346920|1772346900.5|400|Local/201@from-queue/n|RINGNOANSWER|20000\n\
         1772346925|1772346900.5|400|Local/202@from-queue/n|CONNECT|25|1772346925.9|5\n\
         1772347050|1772346900.5|400|Local/202@from-queue/n|COMPLETEAGENT|25|125|1\n",
    );
    let r = queue_log::run_once(&app.state, &path).await.unwrap();
    assert_eq!((r.events, r.linked), (4, 0), "no call entry yet: {r:?}");
    let r = cdr_db::run_once(&app.state, &db.source()).await.unwrap();
    assert_eq!(r.report.stored, 5, "{r:?}");
    let call = the_call_of(&app, "+989351112233").await;
    assert_eq!(
        call["body"],
        "Inbound call, answered, 2m05s · queue 400, waited 25s, agent 202"
    );
    assert_eq!(call["meta"]["wait_seconds"], 25);
    assert_eq!(call["meta"]["agent_extension"], "202");
    // A call that never entered a queue has none.
    let direct = the_call_of(&app, "+989121234567").await;
    assert_eq!(direct["meta"]["queue"], serde_json::Value::Null);
}

async fn a_queue_log_table_in_the_cdr_database_is_read_too(b: Backend) {
    let db = CdrDb::new().await;
    let fixture = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/cdr")
                .join(name),
        )
        .unwrap()
    };
    db.exec(&fixture("freepbx_calls.sql")).await;
    db.exec(&fixture("queuelog_table.sql")).await;
    let tweak =
        |s: &mut switchboard::settings::Settings| s.voice.queue_log_table = "queuelog".into();
    let app = spawn_app_with(b, tweak).await;
    let r = cdr_db::run_once(&app.state, &db.source()).await.unwrap();
    assert_eq!((r.report.stored, r.queue_events), (5, 5), "{r:?}");
    let call = the_call_of(&app, "+989351112233").await;
    assert_eq!(
        call["body"],
        "Inbound call, answered, 2m05s · queue 400, waited 25s, agent 202"
    );
    let (entered,): (i64,) = sqlx::query_as("SELECT entered_at FROM voice_queue_calls")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(entered, 1_772_346_900_000, "PBX local time to UTC");

    // Restarted, the table's position is kept; a new row is read.
    let (url, data) = (app.database_url.clone(), app._dir.clone());
    drop(app);
    let app = spawn_on(&url, data, tweak).await;
    db.exec(
        "INSERT INTO queuelog (time, callid, queuename, agent, event, data1) \
         VALUES ('1772350000', 'NONE', '400', 'Local/202@from-queue/n', 'PAUSE', 'Break');",
    )
    .await;
    let r = cdr_db::run_once(&app.state, &db.source()).await.unwrap();
    assert_eq!(r.queue_events, 1, "{r:?}");
}

crate::storage_tests!(
    queue_log_events_give_calls_their_queue_wait_and_agent,
    calls_from_the_cdr_database_carry_their_queue_and_wait,
    a_queue_log_table_in_the_cdr_database_is_read_too,
);

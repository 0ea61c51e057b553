//! Log uploads are stored in batches; the result must equal storing one record at a time.
use super::upload;
use crate::helpers::*;
use reqwest::StatusCode;
use switchboard::channels::voice::ingest::{store_contact, Contact, IngestReport, Outcome};
use switchboard::channels::voice::records::{options, parse_lines};
use switchboard_voice::Source;

/// 1,200 Asterisk lines (more than two batches): 37 callers calling back and forth, a third
/// missed, some outbound, internal, duplicated, anonymous and unusable lines.
fn log() -> String {
    let mut out = String::new();
    for i in 0..1200u32 {
        let number = format!("0912{:07}", i % 37);
        let secs = i * 131;
        let start = format!(
            "2025-03-{:02} {:02}:{:02}:{:02}",
            1 + secs / 86_400,
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60
        );
        let (src, dst) = match i {
            _ if i % 50 == 7 => ("101".to_string(), "102".to_string()),
            _ if i % 97 == 3 => ("anonymous".to_string(), "101".to_string()),
            _ if i % 11 == 0 => ("101".to_string(), number.clone()),
            _ => (number.clone(), "101".to_string()),
        };
        let (answer, disposition, billsec) = if i % 3 == 0 {
            (String::new(), "NO ANSWER", 0)
        } else {
            (start.clone(), "ANSWERED", 30)
        };
        let id = if i % 100 == 5 { i - 1 } else { i };
        out.push_str(&format!(
            "\"\",\"{src}\",\"{dst}\",\"from-trunk\",\"\"\"Caller {}\"\" <{src}>\",\"PJSIP/trunk-{i:08}\",\
             \"PJSIP/101-{i:08}\",\"Dial\",\"PJSIP/101,30\",\"{start}\",\"{answer}\",\
             \"{start}\",35,{billsec},\"{disposition}\",\"DOCUMENTATION\",\"batch.{id}\",\"\"\n",
            i % 37
        ));
    }
    out
}

/// A message and its conversation, as compared.
type SnapshotRow = (
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

/// Every stored message with what identifies its conversation across databases (the
/// external id of the conversation's first message) and the conversation's final state.
async fn snapshot(app: &TestApp) -> (Vec<Vec<String>>, Vec<(String, i64)>, i64) {
    let pool = app.state.store.pool();
    let rows: Vec<SnapshotRow> =
        sqlx::query_as(
            "SELECT i.value, m.external_id, m.seq, m.author_kind, m.body, \
               (SELECT f.external_id FROM messages f WHERE f.conversation_id = c.id AND f.seq = 1), \
               c.status || ' ' || c.channel || ' ' || c.subject, \
               (SELECT COALESCE(MAX(t.tag), '') FROM conversation_tags t WHERE t.conversation_id = c.id), \
               c.last_seq, COALESCE(c.last_message_at, 0) \
             FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             JOIN identities i ON i.customer_id = c.customer_id \
             ORDER BY m.external_id",
        )
        .fetch_all(pool)
        .await
        .expect("messages");
    let rows = rows
        .into_iter()
        .map(|r| {
            vec![
                r.0,
                r.1,
                r.2.to_string(),
                r.3,
                r.4,
                r.5,
                r.6,
                r.7,
                r.8.to_string(),
                r.9.to_string(),
            ]
        })
        .collect();
    let history: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, COUNT(*) FROM conversation_events GROUP BY kind ORDER BY kind",
    )
    .fetch_all(pool)
    .await
    .expect("history");
    let (customers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM customers")
        .fetch_one(pool)
        .await
        .expect("customers");
    (rows, history, customers)
}

async fn a_log_bigger_than_a_batch_is_stored_as_one_record_at_a_time_would_be(b: Backend) {
    let text = log();
    let batched = spawn_app(b).await;
    let (s, report) = upload(
        &batched,
        &batched.admin_token,
        "asterisk",
        text.clone().into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");

    let single = spawn_app(b).await;
    let opts = options(single.state.settings.voice.pbx_utc_offset_secs);
    let (lines, _) = parse_lines(Source::Asterisk, text.as_bytes(), 1, true, &opts);
    let mut expected = IngestReport::default();
    for (line, parsed) in lines {
        let outcome = match parsed {
            Ok(record) => {
                let contact = Contact {
                    source: "asterisk",
                    record,
                    customer_id: None,
                    notes: None,
                    logged_by: None,
                    agent_id: None,
                };
                store_contact(&single.state, &contact)
                    .await
                    .expect("stored")
            }
            Err(reason) => Outcome::Rejected(reason),
        };
        expected.add(line, &outcome);
    }
    assert!(
        expected.stored > 900 && expected.duplicates == 12,
        "{:?}",
        (
            expected.stored,
            expected.duplicates,
            expected.rejected.len()
        )
    );
    assert_eq!(
        report,
        serde_json::to_value(&expected).unwrap(),
        "same counts and rejections"
    );
    let (rows, history, customers) = snapshot(&batched).await;
    let (want_rows, want_history, want_customers) = snapshot(&single).await;
    assert_eq!(rows.len(), expected.stored);
    assert!(
        rows.iter().any(|r| r[0] == "phone"),
        "anonymous callers are stored (on the profile with identity anonymous/phone)"
    );
    for (got, want) in rows.iter().zip(&want_rows) {
        assert_eq!(got, want, "message stored the same way");
    }
    assert_eq!(rows.len(), want_rows.len());
    assert_eq!(history, want_history, "same history entries");
    assert_eq!(customers, want_customers);
    let (s, again) = upload(
        &batched,
        &batched.admin_token,
        "asterisk",
        text.into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (again["stored"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(expected.stored as u64 + 12))
    );
}

crate::storage_tests!(a_log_bigger_than_a_batch_is_stored_as_one_record_at_a_time_would_be);

//! Tailing a growing Asterisk Master.csv with a persisted offset.
use super::customer_by_phone;
use crate::helpers::*;
use std::io::Write;
use std::path::Path;
use switchboard::channels::voice::{self, IngestReport, TailSource};
use switchboard_voice::Source;

/// An answered inbound call line, as Asterisk's cdr_csv writes it.
fn cdr(uniqueid: &str, number: &str, minute: u32) -> String {
    format!(
        "\"\",\"{number}\",\"101\",\"from-trunk\",\"\"\"Caller\"\" <{number}>\",\"PJSIP/tci-trunk-0000{minute:04}\",\
         \"PJSIP/101-0000{minute:04}\",\"Dial\",\"PJSIP/101,30\",\"2025-03-01 12:{minute:02}:00\",\
         \"2025-03-01 12:{minute:02}:05\",\"2025-03-01 12:{minute:02}:35\",35,30,\"ANSWERED\",\"DOCUMENTATION\",\"{uniqueid}\",\"\"\n"
    )
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    f.write_all(text.as_bytes()).expect("append");
}

fn counts(r: &IngestReport) -> (usize, usize, usize) {
    (r.stored, r.duplicates, r.rejected.len())
}

async fn tailing_follows_appends_partial_lines_restarts_and_rotation(b: Backend) {
    let app = spawn_app(b).await;
    let logs = tempfile::tempdir().expect("temp dir");
    let path = logs.path().join("Master.csv");
    let sources = vec![TailSource {
        path: path.clone(),
        format: Source::Asterisk,
    }];
    // A configured file that does not exist yet is waited for, not an error.
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (0, 0, 0));

    append(
        &path,
        &(cdr("t.1", "09120000001", 1) + &cdr("t.2", "09120000002", 2)),
    );
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (2, 0, 0), "{r:?}");
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (0, 0, 0), "nothing re-read: {r:?}");

    // A partial last line waits for its newline.
    let line3 = cdr("t.3", "09120000003", 3);
    let (head, tail) = line3.split_at(60);
    append(&path, head);
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (0, 0, 0), "partial line is not parsed: {r:?}");
    append(&path, tail);
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (1, 0, 0), "{r:?}");
    customer_by_phone(&app, "+989120000003").await;

    // A new server on the same database continues from the persisted offset.
    let url = app.database_url.clone();
    let dir = app._dir.clone();
    drop(app);
    let app = spawn_on(&url, dir, |_| {}).await;
    append(
        &path,
        &(cdr("t.4", "09120000004", 4) + "garbage, not a CDR\n"),
    );
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (1, 0, 1), "no duplicates after restart: {r:?}");
    assert_eq!(
        r.rejected[0].line, 5,
        "line numbers count from the file's start"
    );

    // Rotation: the file is replaced by a new, shorter one, read from its start.
    let fresh = logs.path().join("Master.csv.new");
    append(&fresh, &cdr("t.5", "09120000005", 5));
    std::fs::rename(&fresh, &path).expect("rotate");
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (1, 0, 0), "{r:?}");
    customer_by_phone(&app, "+989120000005").await;

    append(&path, &cdr("t.6", "09120000006", 6));
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (1, 0, 0), "{r:?}");

    // Truncation in place (same file, now shorter than the offset) also starts over.
    std::fs::write(&path, cdr("t.7", "09120000007", 7)).expect("truncate");
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (1, 0, 0), "{r:?}");
    let r = voice::tail_once(&app.state, &sources).await.unwrap();
    assert_eq!(counts(&r), (0, 0, 0), "{r:?}");
    for n in 1..=7 {
        customer_by_phone(&app, &format!("+98912000000{n}")).await;
    }
}

async fn the_tail_worker_picks_up_appended_lines(b: Backend) {
    let logs = tempfile::tempdir().expect("temp dir");
    let path = logs.path().join("Master.csv");
    append(&path, &cdr("w.1", "09120000011", 11));
    // Configured the way an admin would: the `voice.tail` setting.
    let spec = format!("asterisk:{}", path.display());
    let app = spawn_app_with(b, move |s| s.voice.tail = spec).await;
    let found = |n: &'static str| {
        let app = &app;
        async move {
            for _ in 0..100 {
                let (_, page) = app
                    .get(&format!("/api/v1/customers?q=%2B{n}"), &app.admin_token)
                    .await;
                if !page["items"].as_array().unwrap().is_empty() {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            false
        }
    };
    assert!(
        found("989120000011").await,
        "existing line stored by the worker"
    );
    append(&path, &cdr("w.2", "09120000012", 12));
    assert!(
        found("989120000012").await,
        "appended line stored by the worker"
    );
}

#[test]
fn the_tail_setting_names_format_and_path_pairs() {
    let spec =
        "asterisk:/var/log/asterisk/cdr-csv/Master.csv, hylafax:/var/spool/hylafax/etc/xferfaxlog";
    let sources = voice::parse_tail_spec(spec).unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[1].format, Source::HylaFax);
    assert_eq!(
        sources[0].path,
        Path::new("/var/log/asterisk/cdr-csv/Master.csv")
    );
    assert!(voice::parse_tail_spec("mp3:/tmp/x").is_err());
    assert!(voice::parse_tail_spec("/tmp/no-format").is_err());
}

crate::storage_tests!(
    tailing_follows_appends_partial_lines_restarts_and_rotation,
    the_tail_worker_picks_up_appended_lines,
);

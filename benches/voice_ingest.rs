//! Call records per second from a log file to committed database rows (customer matched,
//! conversation found or opened, entry stored), on SQLite and PostgreSQL, beside CSV parsing
//! alone in the same run.
//!
//! `cargo bench --bench voice_ingest` (records: `SB_BENCH_RECORDS`, default 20000; backends:
//! `SB_BENCH_BACKENDS`, default `sqlite,postgres`)

mod support;

use std::time::Instant;
use switchboard::channels::voice::{tail_once, TailSource};
use switchboard::settings::Settings;
use switchboard::Application;
use switchboard_voice::{parse_asterisk, ParseOptions, Source};

fn log(records: usize) -> String {
    let mut out = String::with_capacity(records * 260);
    for i in 0..records {
        // 2,000 distinct callers; every tenth call missed (opens or joins a callback).
        let caller = format!("0912{:07}", i % 2000);
        let (answer, disposition, billsec) = if i % 10 == 0 {
            ("", "NO ANSWER", 0)
        } else {
            ("2025-03-01 12:00:05", "ANSWERED", 30)
        };
        out.push_str(&format!(
            "\"\",\"{caller}\",\"101\",\"from-trunk\",\"\"\"Caller\"\" <{caller}>\",\"PJSIP/trunk-{i:08}\",\
             \"PJSIP/101-{i:08}\",\"Dial\",\"PJSIP/101,30\",\"2025-03-01 12:00:00\",\"{answer}\",\
             \"2025-03-01 12:00:35\",35,{billsec},\"{disposition}\",\"DOCUMENTATION\",\"bench.{i}\",\"\"\n"
        ));
    }
    out
}

async fn run(label: &str, db_url: String, path: &std::path::Path, records: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.data_dir = dir.path().to_path_buf();
    settings.database.url = db_url.into();
    settings.logging.level = "warn".into();
    let app = Application::build(settings).await.expect("server builds");
    let state = app.state().clone();
    let sources = [TailSource {
        path: path.to_path_buf(),
        format: Source::Asterisk,
    }];
    let start = Instant::now();
    let mut stored = 0;
    while stored < records {
        let report = tail_once(&state, &sources).await.expect("tail");
        assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
        if report.stored == 0 {
            break;
        }
        stored += report.stored;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{label:<10} file → database: {stored} records in {secs:.2} s = {:.0} records/s",
        stored as f64 / secs
    );
}

#[tokio::main]
async fn main() {
    let records: usize = std::env::var("SB_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let text = log(records);
    let opts = ParseOptions {
        utc_offset_secs: 12_600,
        internal_extension_max_len: 5,
    };
    // Steady state: the phone-number metadata (loaded on first use, ~0.1 s) is loaded
    // before anything is timed, so the first backend measured does not pay for it alone.
    let _ = switchboard_text::PhoneNumber::parse("+982112345678", "");
    let start = Instant::now();
    let report = parse_asterisk(text.as_bytes(), &opts);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(report.records.len(), records);
    println!(
        "parse only  {records} records in {secs:.3} s = {:.0} records/s",
        records as f64 / secs
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Master.csv");
    std::fs::write(&path, &text).unwrap();
    let backends = std::env::var("SB_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        run(
            "sqlite",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
            &path,
            records,
        )
        .await;
    }
    if backends.contains("postgres") {
        run("postgres", support::fresh_pg().await, &path, records).await;
    }
}

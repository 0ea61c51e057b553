//! Messages per second over the test corpus: `switchboard_mail::parse`
//! (full pipeline: MIME, charsets, sanitising, quote folding,
//! classification) against `mail_parser` alone.
//!
//! Run: `cargo bench -p switchboard-mail --bench parse`

use std::hint::black_box;
use std::time::{Duration, Instant};
use switchboard_mail::{parse, Limits};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/tests/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect()
}

/// Runs `f` over every message repeatedly for about `budget`; returns
/// (messages per second, MiB per second).
fn measure(messages: &[&[u8]], budget: Duration, mut f: impl FnMut(&[u8])) -> (f64, f64) {
    for m in messages {
        f(m); // warm-up
    }
    let bytes: usize = messages.iter().map(|m| m.len()).sum();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        for m in messages {
            f(m);
        }
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let count = rounds as f64 * messages.len() as f64;
    (
        count / secs,
        rounds as f64 * bytes as f64 / secs / 1_048_576.0,
    )
}

fn main() {
    let corpus = corpus();
    let limits = Limits::default();
    let budget = Duration::from_secs(3);
    let all: Vec<&[u8]> = corpus.iter().map(|(_, b)| b.as_slice()).collect();
    let small: Vec<&[u8]> = corpus
        .iter()
        .filter(|(n, _)| n != "oversized_attachment.eml")
        .map(|(_, b)| b.as_slice())
        .collect();
    println!(
        "corpus: {} messages, {} bytes ({} without the 400 KiB attachment message)",
        all.len(),
        all.iter().map(|m| m.len()).sum::<usize>(),
        small.len()
    );
    for (label, set) in [("all", &all), ("small", &small)] {
        let (mps, mibs) = measure(set, budget, |m| {
            let _ = black_box(parse(black_box(m), &limits));
        });
        println!("switchboard_mail::parse [{label}]: {mps:>10.0} msg/s {mibs:>8.1} MiB/s");
        let parser = mail_parser::MessageParser::default();
        let (mps, mibs) = measure(set, budget, |m| {
            black_box(parser.parse(black_box(m)));
        });
        println!("mail_parser alone     [{label}]: {mps:>10.0} msg/s {mibs:>8.1} MiB/s");
    }
}

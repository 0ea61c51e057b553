//! Throughput of `parse_asterisk` on a generated 100k-line `Master.csv`.
//!
//! Run: `cargo bench -p switchboard-voice --bench parse`

use std::hint::black_box;
use std::time::Instant;

use switchboard_voice::{parse_asterisk, ParseOptions};

const LINES: usize = 100_000;
const RUNS: usize = 5;

/// Builds a realistic mix of inbound, outbound and internal CDR lines.
fn generate() -> Vec<u8> {
    let mut out = String::with_capacity(LINES * 330);
    for i in 0..LINES {
        let (src, dst, chan, dchan, disp, bill) = match i % 4 {
            0 => (
                format!("0912{:07}", i),
                format!("{}", 100 + i % 50),
                "PJSIP/tci-trunk-0000a1".to_string(),
                format!("PJSIP/{}-0000a2", 100 + i % 50),
                "ANSWERED",
                120,
            ),
            1 => (
                format!("{}", 100 + i % 50),
                format!("021{:08}", i),
                format!("PJSIP/{}-0000b1", 100 + i % 50),
                "PJSIP/tci-trunk-0000b2".to_string(),
                "NO ANSWER",
                0,
            ),
            2 => (
                format!("۰۹۳۵{:07}", i).replace('0', "۰").replace('1', "۱"),
                format!("{}", 100 + i % 50),
                "PJSIP/tci-trunk-0000c1".to_string(),
                format!("PJSIP/{}-0000c2", 100 + i % 50),
                "BUSY",
                0,
            ),
            _ => (
                "101".to_string(),
                "102".to_string(),
                "PJSIP/101-0000d1".to_string(),
                "PJSIP/102-0000d2".to_string(),
                "ANSWERED",
                60,
            ),
        };
        let sec = i % 60;
        let answer = if bill > 0 {
            format!("2025-03-01 10:{:02}:{sec:02}", (i / 60) % 60)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "\"\",\"{src}\",\"{dst}\",\"from-trunk\",\"\"\"Caller {i}\"\" <{src}>\",\"{chan}\",\"{dchan}\",\"Dial\",\"PJSIP/{dst},30,tT\",\"2025-03-01 10:{m:02}:{sec:02}\",\"{answer}\",\"2025-03-01 11:{m:02}:{sec:02}\",{d},{bill},\"{disp}\",\"DOCUMENTATION\",\"1740812400.{i}\",\"\"\n",
            m = (i / 60) % 60,
            d = bill + 5,
        ));
    }
    out.into_bytes()
}

fn main() {
    let input = generate();
    let opts = ParseOptions {
        utc_offset_secs: 12600,
        internal_extension_max_len: 5,
    };
    let mut best = f64::MAX;
    for run in 1..=RUNS {
        let start = Instant::now();
        let report = black_box(parse_asterisk(black_box(&input), &opts));
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(report.records.len(), LINES, "{:?}", report.errors.first());
        println!(
            "run {run}: {secs:.3} s, {:.0} records/s",
            LINES as f64 / secs
        );
        best = best.min(secs);
    }
    println!(
        "best of {RUNS}: {:.0} records/s ({:.1} MiB/s, {} lines, {} bytes)",
        LINES as f64 / best,
        input.len() as f64 / best / (1024.0 * 1024.0),
        LINES,
        input.len()
    );
}

//! Every committed fuzz input — the seed corpus (`fuzz/corpus/<target>/`) and each input that
//! once failed a check (`fuzz/regressions/<target>/`) — replayed through the fuzz targets' own
//! checks in the normal `cargo test`, without the fuzzing toolchain.

#[path = "../../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no committed inputs for {target}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("{} fails the {target} check", path.display());
        }
    }
}

#[test]
fn mail_parse_inputs() {
    replay("mail_parse", checks::mail_parse);
}

#[test]
fn mail_sanitize_inputs() {
    replay("mail_sanitize", checks::mail_sanitize);
}

#[test]
fn voice_logs_inputs() {
    replay("voice_logs", checks::voice_logs);
}

#[test]
fn cti_events_inputs() {
    replay("cti_events", checks::cti_events);
}

#[test]
fn widget_frames_inputs() {
    replay("widget_frames", checks::widget_frames);
}

#[test]
fn json_bodies_inputs() {
    replay("json_bodies", checks::json_bodies);
}

/// The checks are not vacuous: hostile HTML that escaped sanitising would be caught.
#[test]
fn the_html_check_catches_what_sanitising_must_remove() {
    for bad in [
        r#"<p>x</p><script>alert(1)</script>"#,
        r#"<img src="https://tracker.example/p.gif">"#,
        r#"<a href=" java&#9;script:x" onclick="x()">y</a>"#,
        r#"<a href="JAVA	SCRIPT:alert(1)">y</a>"#,
    ] {
        let caught = std::panic::catch_unwind(|| checks::assert_safe_html(bad)).is_err();
        assert!(caught, "{bad}");
    }
    checks::assert_safe_html(r#"<p title="data: javascript: text">javascript: is text</p>"#);
}

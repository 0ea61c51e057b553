//! Running one of the console's browser scripts (`tests/browser/*.test.mjs`, playwright-core and
//! Debian's chromium) against a test server, failing loudly when a piece is missing.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub const CHROMIUM: &str = "/usr/bin/chromium";
const SETUP: &str = "see tests/browser/README.md: `apt-get install -y chromium nodejs npm && npm ci --prefix tests/browser`";

/// `tests/browser`, after checking that Chromium and playwright-core are installed.
pub fn browser_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: {SETUP}"
    );
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: {SETUP}"
    );
    dir
}

/// Run `node --test script` with `vars` (plus `ARTIFACT_DIR`, `CHROMIUM`); panics with the
/// script's output unless it passes within `secs`.
pub async fn run_script(script: &str, vars: &[(&str, String)], secs: u64) -> String {
    let dir = browser_dir();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("--test")
        .arg("--test-reporter=spec")
        .arg(script)
        .current_dir(&dir)
        .env("ARTIFACT_DIR", dir.join("artifacts"))
        .env("CHROMIUM", CHROMIUM)
        .kill_on_drop(true);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    if std::env::var_os("SWITCHBOARD_README_SHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        cmd.env("README_SHOTS", docs);
    }
    let out = tokio::time::timeout(Duration::from_secs(secs), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {secs} s"))
        .unwrap_or_else(|e| panic!("cannot run node: {e}; {SETUP}"));
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{log}");
    log
}

//! Hostile traffic against a real server, in a test binary of its own because it changes
//! process-wide things (the open-file limit) and measures the process's memory:
//! ~1,100 silent connections do not stop `/healthz`, and a flood of logins for unknown
//! accounts neither grows memory beyond a bound nor hashes more than the allowed number at once.

use std::time::Duration;
use switchboard::settings::Settings;
use switchboard::Application;
use tokio_util::sync::CancellationToken;

/// The tests here measure the whole process: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Server {
    base: String,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn server(tweak: impl FnOnce(&mut Settings)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::defaults();
    s.server.bind = "127.0.0.1:0".into();
    s.server.data_dir = dir.path().to_path_buf();
    s.database.url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()).into();
    tweak(&mut s);
    let app = Application::build(s).await.expect("application builds");
    let base = format!("http://{}", app.local_addr());
    let stop = app.stop_token();
    tokio::spawn(app.run_until_stopped());
    Server {
        base,
        stop,
        _dir: dir,
    }
}

/// A field of /proc/self/status in KiB (e.g. `VmHWM`, the peak resident memory).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleven_hundred_silent_connections_do_not_stop_healthz_answering() {
    let _one = ONE_AT_A_TIME.lock().await;
    // The usual default soft limit; starting the server raises it to the hard limit.
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    assert!(
        hard >= 4096,
        "this test needs a hard open-file limit of 4096 (is {hard})"
    );
    rlimit::setrlimit(rlimit::Resource::NOFILE, 1024, hard).unwrap();
    let srv = server(|_| {}).await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut silent = Vec::new();
    for i in 0..1_100 {
        let conn = tokio::net::TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|e| panic!("silent connection {i}: {e}"));
        silent.push(conn);
    }
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(format!("{}/healthz", srv.base)).send(),
    )
    .await
    .expect("/healthz answers within 5 s despite 1,100 silent connections")
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

/// The highest value of the login-hashing gauge seen on /metrics while `work` runs.
async fn watch_hashing(base: &str, done: CancellationToken) -> f64 {
    let client = reqwest::Client::new();
    let mut max = 0f64;
    while !done.is_cancelled() {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let now = text
            .lines()
            .find(|l| l.starts_with("switchboard_login_hashing "))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0);
        max = max.max(now);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    max
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_logins_from_many_addresses_keeps_hashing_and_memory_bounded() {
    let _one = ONE_AT_A_TIME.lock().await;
    let srv = server(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        s.auth.max_concurrent_hashes = 4;
    })
    .await;
    let before = status_kib("VmHWM:");
    let client = reqwest::Client::new();
    let done = CancellationToken::new();
    let watcher = tokio::spawn(watch_hashing_owned(srv.base.clone(), done.clone()));
    let logins = (0..120).map(|i| {
        let client = client.clone();
        let url = format!("{}/api/v1/auth/login", srv.base);
        async move {
            client
                .post(url)
                .header("x-forwarded-for", format!("198.18.{}.{}", i / 200, i % 200 + 1))
                .json(&serde_json::json!({"email": format!("nobody{i}@example.com"), "password": "guess"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(logins).await;
    done.cancel();
    let max_hashing = watcher.await.unwrap();
    let grew_mib = status_kib("VmHWM:").saturating_sub(before) / 1024;
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 401).count() >= 4,
        "{statuses:?}"
    );
    assert!(max_hashing <= 4.0, "{max_hashing} hashes at once");
    // 120 argon2 hashes at once would take ~2.3 GB; four at a time in reused working memory
    // take ~80 MB (measured 87 MiB; a fresh 19 MiB buffer per check grew by ~800 MiB).
    assert!(grew_mib < 200, "peak memory grew by {grew_mib} MiB");
}

async fn watch_hashing_owned(base: String, done: CancellationToken) -> f64 {
    watch_hashing(&base, done).await
}

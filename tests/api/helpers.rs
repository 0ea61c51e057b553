//! Test harness: boots the real server on port 0 against a fresh database per test.

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard::settings::Settings;
use switchboard::state::AppState;
use switchboard::Application;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named test function once per storage backend.
#[macro_export]
macro_rules! storage_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::helpers::Backend::Postgres).await } )*
        }
    };
}

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// PostgreSQL server used for tests; the suite fails (never skips) when it is unreachable.
pub fn pg_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A new empty database for `backend`, as a URL.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = pg_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL must be running for the tests ({admin}): {e}")
                });
            let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').expect("admin URL has a database").0;
            format!("{base}/{name}")
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub stop: CancellationToken,
    pub admin_token: String,
    pub database_url: String,
    pub _dir: std::sync::Arc<tempfile::TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub fn test_settings(database_url: &str, dir: &std::path::Path) -> Settings {
    let mut s = Settings::defaults();
    s.server.bind = "127.0.0.1:0".into();
    s.server.data_dir = dir.to_path_buf();
    s.database.url = database_url.to_string().into();
    s.database.max_connections = 5;
    s.webhooks.poll_interval_ms = 100;
    s.webhooks.retry_base_secs = 1;
    // Test receivers listen on loopback.
    s.webhooks.allow_private_targets = true;
    s.email.allow_private_hosts = true;
    // Every test visitor comes from loopback: the per-address quotas are tested on their own
    // (`chat::quotas`), with their own small values.
    s.chat.new_visitors_per_ip_per_hour = 1_000_000;
    s.chat.conversations_per_ip_per_hour = 1_000_000;
    s.chat.upload_mib_per_ip_per_hour = 1_000_000;
    s
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = fresh_database(backend, dir.path()).await;
    spawn_on(&url, dir, tweak).await
}

/// Start a server on an existing database (e.g. a second node).
pub async fn spawn_on(
    url: &str,
    dir: std::sync::Arc<tempfile::TempDir>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(url, dir.path());
    tweak(&mut settings);
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let stop = app.stop_token();
    tokio::spawn(app.run_until_stopped());
    let admin_exists = switchboard::agents::find_credentials(&state.store, ADMIN_EMAIL)
        .await
        .unwrap()
        .is_some();
    if !admin_exists {
        switchboard::agents::create_from_cli(
            &state.store,
            ADMIN_EMAIL,
            "Admin",
            switchboard::auth::Role::Admin,
            PASSWORD,
        )
        .await
        .expect("admin created");
    }
    let client = reqwest::Client::new();
    let mut t = TestApp {
        base,
        client,
        state,
        stop,
        admin_token: String::new(),
        database_url: url.to_string(),
        _dir: dir,
    };
    t.admin_token = t.login(ADMIN_EMAIL, PASSWORD).await;
    t
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// One JSON request; returns status and parsed body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method.parse().unwrap(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
    }
    /// POST `body` as `content_type` to `path` as `token`: status and JSON answer.
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<String>,
    ) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body.into())
            .send()
            .await
            .expect("request sent");
        let status = resp.status();
        (status, resp.json().await.expect("JSON answer"))
    }

    /// Upload Asterisk call records (`POST /channels/voice/records?format=asterisk`) as
    /// `token`; the import's report, after checking it answered 200 and stored `stored`.
    pub async fn upload_asterisk(&self, token: &str, records: &str, stored: i64) -> Value {
        let path = "/api/v1/channels/voice/records?format=asterisk";
        let (status, report) = self.post_raw(path, token, "text/plain", records).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(report["stored"], stored, "{report}");
        report
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }
    /// Refit the customer-value models now (as the admin); the fitted model.
    pub async fn refit(&self) -> Value {
        let (s, model) = self
            .post(
                "/api/v1/insights/customer-value/refit",
                &self.admin_token,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{model}");
        model
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("PATCH", path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("PUT", path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("DELETE", path, Some(token), None).await
    }

    /// Create an agent with `role` (as admin) and return (id, token).
    pub async fn agent(&self, email: &str, role: &str, extra: Value) -> (String, String) {
        let mut body = json!({"email": email, "name": email.split('@').next().unwrap(), "role": role, "password": PASSWORD});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let (status, created) = self.post("/api/v1/agents", &self.admin_token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = self.login(email, PASSWORD).await;
        (created["id"].as_str().unwrap().to_string(), token)
    }

    /// Create an API token with `scopes` and return its value.
    pub async fn api_token(&self, scopes: &[&str]) -> String {
        let (status, body) = self
            .post(
                "/api/v1/api-tokens",
                &self.admin_token,
                json!({"name": "integration", "scopes": scopes}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Open a conversation through the API for a customer identified by email.
    pub async fn conversation(
        &self,
        token: &str,
        email: &str,
        subject: &str,
        extra: Value,
    ) -> Value {
        let mut body = json!({"customer": {"email": email}, "subject": subject, "body": format!("hello about {subject}")});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let (status, conv) = self.post("/api/v1/conversations", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{conv}");
        conv
    }
}

/// Assert an error response has the documented shape and code.
pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "unexpected status, body: {body}");
    assert_eq!(body["code"], code, "unexpected code in {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "missing error text in {body}"
    );
}

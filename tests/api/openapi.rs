//! The generated OpenAPI document: valid OpenAPI 3.1, and it describes what the handlers
//! really accept (where each parameter goes, which fields are optional, upload bodies).
use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeSet;

async fn document() -> Value {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{doc}");
    doc
}

/// Every operation as (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() > 40, "the document lists the API: {}", out.len());
    out
}

fn template_names(path: &str) -> BTreeSet<String> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

fn params<'a>(op: &'a Value, location: &str) -> Vec<&'a Value> {
    op["parameters"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["in"] == location).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_parameters_are_exactly_the_names_in_each_path_template() {
    let doc = document().await;
    for (path, method, op) in operations(&doc) {
        let declared: BTreeSet<String> = params(&op, "path")
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(declared, template_names(&path), "{method} {path}");
        for p in params(&op, "path") {
            assert_eq!(p["required"], true, "{method} {path}: {p}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_parameters_are_declared_in_the_query_and_optional_ones_not_required() {
    let doc = document().await;
    let ops = operations(&doc);
    let find = |path: &str, method: &str| {
        ops.iter()
            .find(|(p, m, _)| p == path && m == method)
            .unwrap_or_else(|| panic!("{method} {path} is documented"))
            .2
            .clone()
    };
    let expect = [
        ("/customers", "get", vec!["q", "limit", "cursor"]),
        ("/queues", "get", vec!["limit", "cursor"]),
        ("/agents", "get", vec!["limit", "cursor"]),
        (
            "/conversations",
            "get",
            vec![
                "status", "queue", "assignee", "channel", "customer", "tag", "limit", "cursor",
            ],
        ),
        ("/customers/{id}/timeline", "get", vec!["limit", "cursor"]),
        ("/channels/email/inbound", "post", vec!["mailbox"]),
    ];
    for (path, method, names) in expect {
        let op = find(path, method);
        let query: Vec<&Value> = params(&op, "query");
        for name in names {
            let p = query
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{method} {path}: `{name}` in the query: {op}"));
            assert_ne!(p["required"], true, "{method} {path}: `{name}` is optional");
        }
    }
    let upload = find("/channels/voice/records", "post");
    let format = params(&upload, "query")
        .into_iter()
        .find(|p| p["name"] == "format")
        .expect("`format` in the query");
    assert_eq!(format["required"], true, "`format` is required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_input_fields_are_not_required_and_uploads_document_their_multipart_body() {
    let doc = document().await;
    let input = &doc["components"]["schemas"]["CustomerInput"];
    assert!(input.is_object(), "CustomerInput documented");
    let required: Vec<&str> = input["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(!required.contains(&"attributes"), "{input}");
    assert!(!required.contains(&"identities"), "{input}");
    for path in [
        "/widget/attachments",
        "/channels/chat/conversations/{id}/attachments",
        "/channels/email/conversations/{id}/reply",
    ] {
        let body = &doc["paths"][path]["post"]["requestBody"];
        let form = &body["content"]["multipart/form-data"]["schema"];
        assert!(
            form["properties"]["file"].is_object(),
            "{path} documents a multipart `file`: {body}"
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(op) = item.get("post") {
            let raw = ["/channels/email/inbound", "/channels/voice/records"];
            if raw.contains(&path.as_str()) {
                assert!(op["requestBody"].is_object(), "{path} documents its body");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_with_that_method_and_path() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    // What an unrouted path answers, so the check below can tell.
    let (s, body) = app.call("GET", "/api/v1/no/such/route", None, None).await;
    assert_eq!(s, reqwest::StatusCode::NOT_FOUND);
    assert!(body.to_string().contains("route not found"), "{body}");
    for (path, method, _) in operations(&doc) {
        let concrete = path.replace(['{', '}'], "");
        let url = app.url(&format!("/api/v1{concrete}"));
        let resp = app
            .client
            .request(method.to_uppercase().parse().unwrap(), url)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert_ne!(
            status,
            reqwest::StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(
            !body.contains("route not found"),
            "{method} {path} is documented but not routed: {status} {body}"
        );
    }
}

/// Validated by `openapi-spec-validator` (PyPI; `scripts/test` installs it). A missing
/// validator fails the test rather than skipping it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_openapi_3_1() {
    let doc = document().await;
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs (scripts/test installs it with openapi-spec-validator)");
    assert!(
        out.status.success(),
        "openapi-spec-validator (pip install openapi-spec-validator) rejects the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

//! Chat sites, the widget script, files, identity verification, pre-chat matching and the
//! online flag.

use super::client::*;
use crate::helpers::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;

async fn sites_are_managed_by_admins_with_validated_fields(b: Backend) {
    let app = spawn_app(b).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, body) = app
        .post("/api/v1/channels/chat/sites", &agent, json!({"name": "x"}))
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app.get("/api/v1/channels/chat/sites", &agent).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "x", "allowed_origins": ["https://a.example/path"]}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_origin");
    let (s, body) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "x", "prechat_fields": ["phone"]}),
        )
        .await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_prechat_field",
    );
    let (s, body) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "x", "queue_id": "nope"}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_queue");
    let (s, body) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "x", "business_hours": {"utc_offset_minutes": 210, "mon": [600, 500]}}),
        )
        .await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_business_hours",
    );
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Web", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let created = site(&app, json!({"queue_id": q["id"], "prechat_fields": ["name", "email"], "identity_secret": "0123456789abcdef0123"})).await;
    assert_eq!(created["allowed_origins"], json!([ORIGIN]));
    assert_eq!(created["identity_verification"], true);
    assert!(
        created.get("identity_secret").is_none(),
        "the secret is write-only"
    );
    assert!(created["site_key"].as_str().unwrap().len() >= 20);
    let id = created["id"].as_str().unwrap();
    let (s, patched) = app.patch(&format!("/api/v1/channels/chat/sites/{id}"), &app.admin_token, json!({"identity_secret": null, "allowed_origins": [ORIGIN, "https://a.example", "HTTPS://A.example/"]})).await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["identity_verification"], false);
    assert_eq!(
        patched["allowed_origins"],
        json!([ORIGIN, "https://a.example"])
    );
    assert_eq!(patched["queue_id"], q["id"], "absent fields are kept");
    let (s, list) = app
        .get("/api/v1/channels/chat/sites", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, body) = app
        .get("/api/v1/channels/chat/sites/nope", &app.admin_token)
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    // The first message of a visitor lands in the site's queue.
    let (mut v, _) = Visitor::join(&app, created["site_key"].as_str().unwrap(), None, None).await;
    let conv = v.say("c", "hello").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, detail) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    assert_eq!(detail["queue_id"], q["id"]);
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn upload(app: &TestApp, token: Option<&str>, name: &str, bytes: &[u8]) -> reqwest::Response {
    upload_to(app, "/api/v1/widget/attachments", token, name, bytes).await
}

async fn upload_to(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    name: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let boundary = "sbBoundary7MA4YWxkTrZu0gW";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut req = app
        .client
        .post(app.url(path))
        .header("Origin", ORIGIN)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    // Visitors upload with their visitor token; agents with their bearer token.
    let scheme = if path.starts_with("/api/v1/widget/") {
        "Visitor"
    } else {
        "Bearer"
    };
    if let Some(t) = token {
        req = req.header("Authorization", format!("{scheme} {t}"));
    }
    req.send().await.unwrap()
}

async fn visitors_upload_images_and_pdfs_that_load_from_a_signed_url(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, w) = Visitor::join(&app, &key, None, None).await;
    let token = w["visitor_token"].as_str().unwrap().to_string();
    let resp = upload(&app, Some(&token), "رسید.png", PNG).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["access-control-allow-origin"], ORIGIN);
    let att: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["size"], PNG.len());
    assert_eq!(att["name"], "رسید.png");
    // The URL works without any header, and only with its signature.
    let url = att["url"].as_str().unwrap();
    let got = reqwest::get(app.url(url)).await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), PNG);
    let forged = reqwest::get(app.url(&format!(
        "/api/v1/widget/attachments/{}?sig=00",
        att["id"].as_str().unwrap()
    )))
    .await
    .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
    // Only sniffed images and PDFs, only for visitors, only under the limit.
    assert_eq!(
        upload(&app, Some(&token), "x.png", b"<script>alert(1)</script>")
            .await
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        upload(&app, Some(&token), "a.pdf", b"%PDF-1.4 tiny")
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        upload(&app, None, "x.png", PNG).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        upload(&app, Some(&app.admin_token), "x.png", PNG)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let mut big = PNG.to_vec();
    big.resize(10 * 1024 * 1024 + 1, 0);
    assert_eq!(
        upload(&app, Some(&token), "big.png", &big).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Preflight from an allowed origin.
    let pre = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/api/v1/widget/attachments"),
        )
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), StatusCode::NO_CONTENT);
    assert_eq!(pre.headers()["access-control-allow-origin"], ORIGIN);
    let bad = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/api/v1/widget/attachments"),
        )
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
    // The message carries the file; other visitors cannot attach it.
    v.send(json!({"type": "message", "client_id": "f1", "text": "", "attachment_id": att["id"]}))
        .await;
    let echo = v.next_of("message").await;
    assert_eq!(echo["attachment"]["id"], att["id"]);
    // Signed afresh for the echo (its expiry may fall in the next second): same file path.
    let echo_url = echo["attachment"]["url"].as_str().unwrap();
    assert_eq!(echo_url.split('?').next(), url.split('?').next());
    let fetched = reqwest::get(app.url(echo_url)).await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    let (mut other, _) = Visitor::join(&app, &key, None, None).await;
    other
        .send(json!({"type": "message", "client_id": "f2", "text": "", "attachment_id": att["id"]}))
        .await;
    assert_eq!(other.next_of("error").await["code"], "attachment_not_found");
}

fn hmac_hex(secret: &str, user: &str) -> String {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(user.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

async fn verified_identities_join_the_existing_customer_and_prechat_emails_only_suggest_a_match(
    b: Backend,
) {
    let app = spawn_app(b).await;
    let secret = "s3cret-s3cret-s3cret";
    let key = site(&app, json!({"identity_secret": secret})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    // Invalid hash: refused with identity_invalid.
    let mut v = open(&app, &key, Some(ORIGIN)).await.unwrap();
    v.send(json!({"type": "hello", "site": key, "identity": {"user_id": "42", "hash": hmac_hex("wrong", "42")}})).await;
    assert_eq!(v.next_of("error").await["code"], "identity_invalid");
    // Valid hash: the customer is found by the external identity, on every device.
    let hello = json!({"type": "hello", "site": key, "identity": {"user_id": "42", "hash": hmac_hex(secret, "42"), "name": "سارا"}});
    let mut v1 = open(&app, &key, Some(ORIGIN)).await.unwrap();
    v1.send(hello.clone()).await;
    v1.next_of("welcome").await;
    let c1 = v1.say("i1", "از لپ‌تاپ").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut v2 = open(&app, &key, Some(ORIGIN)).await.unwrap();
    v2.send(hello).await;
    v2.next_of("welcome").await;
    let c2 = v2.say("i2", "از موبایل").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, d1) = app
        .get(&format!("/api/v1/conversations/{c1}"), &app.admin_token)
        .await;
    let (_, d2) = app
        .get(&format!("/api/v1/conversations/{c2}"), &app.admin_token)
        .await;
    assert_eq!(d1["customer_id"], d2["customer_id"]);
    let (_, cust) = app
        .get(
            &format!("/api/v1/customers/{}", d1["customer_id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert!(
        cust.to_string().contains("42"),
        "external identity recorded: {cust}"
    );
    // Pre-chat email of an existing customer: typed, not proven. The chat stays on the
    // visitor's own profile; the owner is only a possible match for the agent to check.
    let known = app
        .conversation(
            &app.admin_token,
            "reza@example.com",
            "Earlier email",
            json!({"customer": {"email": "reza@example.com", "name": "Reza"}}),
        )
        .await;
    let (s, vip) = app
        .patch(
            &format!(
                "/api/v1/customers/{}",
                known["customer_id"].as_str().unwrap()
            ),
            &app.admin_token,
            json!({"tier": "vip"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{vip}");
    let (mut p, _) = Visitor::join(&app, &key, None, None).await;
    p.send(json!({"type": "prechat", "name": "رضا", "email": "Reza@Example.com"}))
        .await;
    let c3 = p.say("p1", "سلام دوباره").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, d3) = app
        .get(&format!("/api/v1/conversations/{c3}"), &app.admin_token)
        .await;
    assert_ne!(
        d3["customer_id"], known["customer_id"],
        "an unverified email never joins"
    );
    let (s, info) = app
        .get(
            &format!("/api/v1/channels/chat/conversations/{c3}/visitor"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["email"], "reza@example.com");
    assert_eq!(info["email_verified"], false);
    assert_eq!(info["possible_match"]["customer_id"], known["customer_id"]);
    assert_eq!(info["possible_match"]["tier"], "vip");
    // The visitor's profile does not claim the address either, and the owner's is untouched.
    let (_, mine) = app
        .get(
            &format!("/api/v1/customers/{}", d3["customer_id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert!(!mine.to_string().contains("reza@example.com"), "{mine}");
    let (_, owner) = app
        .get(
            &format!(
                "/api/v1/customers/{}",
                known["customer_id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(owner["conversation_count"], 1, "{owner}");
    // A verified visitor's email on their own profile is verified, with no other match.
    let (s, info) = app
        .get(
            &format!("/api/v1/channels/chat/conversations/{c1}/visitor"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["possible_match"], serde_json::Value::Null);
    p.send(json!({"type": "prechat", "email": "not an email"}))
        .await;
    assert_eq!(p.next_of("error").await["code"], "invalid_email");
}

async fn the_site_is_online_only_with_an_available_agent_inside_business_hours(b: Backend) {
    let app = spawn_app(b).await;
    let open_all_day = json!({"utc_offset_minutes": 0, "mon": [0, 1440], "tue": [0, 1440], "wed": [0, 1440], "thu": [0, 1440], "fri": [0, 1440], "sat": [0, 1440], "sun": [0, 1440]});
    let key = site(
        &app,
        json!({"business_hours": open_all_day, "prechat_fields": ["email"]}),
    )
    .await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let closed = site(&app, json!({"business_hours": {"utc_offset_minutes": 0}})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, w) = Visitor::join(&app, &key, None, None).await;
    assert_eq!(w["site"]["online"], false, "nobody is available");
    assert_eq!(w["site"]["prechat_fields"], json!(["email"]));
    assert_eq!(w["site"]["name"], "فروشگاه");
    let (s, _) = app
        .put(
            "/api/v1/agents/me/presence",
            &app.admin_token,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (mut v, w) = Visitor::join(&app, &key, None, None).await;
    assert_eq!(w["site"]["online"], true);
    let (_, w) = Visitor::join(&app, &closed, None, None).await;
    assert_eq!(w["site"]["online"], false, "outside business hours");
    // Offline or not, messages are accepted and queued.
    assert_eq!(v.say("o", "پیام آفلاین").await["seq"], 1);
}

async fn agents_send_files_that_reach_the_visitor_with_a_preview_url(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    let conv = v.say("c1", "can you send the invoice?").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/channels/chat/conversations/{conv}/attachments");
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let resp = upload_to(&app, &path, Some(&agent), "فاکتور.png", PNG).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let msg: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(msg["author_kind"], "agent");
    assert_eq!(msg["meta"]["attachment"]["content_type"], "image/png");
    // The visitor's widget receives it with a signed URL that loads without headers.
    let frame = loop {
        let f = v.next_of("message").await;
        if f["author"] == "agent" {
            break f;
        }
    };
    assert_eq!(frame["attachment"]["name"], "فاکتور.png");
    let url = frame["attachment"]["url"].as_str().unwrap();
    let got = reqwest::get(app.url(url)).await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), PNG);
    // Only images and PDFs, only agents, only chat conversations.
    let bad = upload_to(&app, &path, Some(&agent), "x.exe", b"MZ\x90\0").await;
    assert_eq!(bad.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let anon = upload_to(&app, &path, None, "x.png", PNG).await;
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let other = app
        .conversation(&app.admin_token, "x@example.com", "Not a chat", json!({}))
        .await;
    let not_chat = format!(
        "/api/v1/channels/chat/conversations/{}/attachments",
        other["id"].as_str().unwrap()
    );
    let resp = upload_to(&app, &not_chat, Some(&agent), "x.png", PNG).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

crate::storage_tests!(
    agents_send_files_that_reach_the_visitor_with_a_preview_url,
    sites_are_managed_by_admins_with_validated_fields,
    visitors_upload_images_and_pdfs_that_load_from_a_signed_url,
    verified_identities_join_the_existing_customer_and_prechat_emails_only_suggest_a_match,
    the_site_is_online_only_with_an_available_agent_inside_business_hours,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_script_is_served_with_a_long_cache_and_javascript_type() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.client.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=86400"));
    let etag = resp.headers()["etag"].clone();
    let body = resp.text().await.unwrap();
    assert_eq!(body, include_str!("../../../web-widget/dist/widget.js"));
    let again = app
        .client
        .get(app.url("/widget.js"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

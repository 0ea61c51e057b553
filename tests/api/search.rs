//! Full-text search over conversations and customers (issue 21), on both backends.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn open(app: &TestApp, email: &str, subject: &str, body: &str) -> String {
    let c = app
        .conversation(&app.admin_token, email, subject, json!({"body": body}))
        .await;
    c["id"].as_str().unwrap().to_string()
}

async fn search(app: &TestApp, query: &str) -> Value {
    let (s, body) = app
        .get(&format!("/api/v1/search?{query}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {body}");
    body
}

fn ids(result: &Value) -> Vec<String> {
    result["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn q(s: &str) -> String {
    format!("q={}", urlencode(s))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn words_are_found_in_any_letter_form_and_digits(b: Backend) {
    let app = spawn_app(b).await;
    // Written with Arabic letter forms and Persian digits.
    let tracking = open(
        &app,
        "a@example.com",
        "سفارش",
        "سلام، كد رهگيري من ۴۴۷۸۱۲ است",
    )
    .await;
    let zwnj = open(&app, "b@example.com", "مشکل", "دستگاه کار نمی\u{200C}کند").await;
    let other = open(
        &app,
        "c@example.com",
        "tracking page",
        "the tracking page is slow",
    )
    .await;

    let found = search(&app, &q("کد رهگیری")).await;
    assert_eq!(ids(&found), vec![tracking.clone()], "{found}");
    let snippet = found["conversations"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("<mark>كد</mark> <mark>رهگيري</mark>"),
        "{snippet}"
    );
    assert_eq!(
        ids(&search(&app, &q("447812")).await),
        vec![tracking.clone()]
    );
    assert_eq!(ids(&search(&app, &q("نمیکند")).await), vec![zwnj.clone()]);
    // Whole words: "track" is not a match for "tracking".
    assert!(ids(&search(&app, &q("track")).await).is_empty());
    assert_eq!(
        ids(&search(&app, &q("tracking")).await),
        vec![other.clone()]
    );
    // Every word must occur.
    assert!(ids(&search(&app, &q("tracking 447812")).await).is_empty());
    let (s, body) = app.get("/api/v1/search?q=%20--%20", &app.admin_token).await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query");
}

async fn notes_and_subjects_are_searched_and_best_matches_come_first(b: Backend) {
    let app = spawn_app(b).await;
    // Unrelated conversations, so "billing" is a rare word (ranking weighs rare words).
    for i in 0..4 {
        open(
            &app,
            &format!("f{i}@example.com"),
            "Delivery",
            "where is my parcel",
        )
        .await;
    }
    let noted = open(&app, "a@example.com", "Question", "hello").await;
    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{noted}/messages"),
            &app.admin_token,
            json!({"body": "escalate to billing team", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let titled = open(
        &app,
        "b@example.com",
        "Billing address",
        "my billing address changed",
    )
    .await;
    let found = search(&app, &q("billing")).await;
    assert_eq!(ids(&found), vec![titled.clone(), noted.clone()], "{found}");
    assert_eq!(found["conversations"][1]["message_id"], m["id"]);
    assert!(found["conversations"][1]["snippet"]
        .as_str()
        .unwrap()
        .contains("<mark>billing</mark>"));
    // Pages follow the same order.
    let first = search(&app, &format!("{}&limit=1", q("billing"))).await;
    assert_eq!(ids(&first), vec![titled.clone()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = search(&app, &format!("{}&limit=1&cursor={cursor}", q("billing"))).await;
    assert_eq!(ids(&second), vec![noted.clone()]);
    assert!(second["next_cursor"].is_null());
}

async fn filters_combine_with_the_words(b: Backend) {
    let app = spawn_app(b).await;
    let resolved = open(&app, "a@example.com", "Refund", "refund please").await;
    let open_one = open(&app, "b@example.com", "Refund", "refund again").await;
    let (s, body) = app
        .patch(
            &format!("/api/v1/conversations/{resolved}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r = search(&app, &format!("{}&status=resolved", q("refund"))).await;
    assert_eq!(ids(&r), vec![resolved.clone()]);
    let customer = app
        .get(
            &format!("/api/v1/conversations/{open_one}"),
            &app.admin_token,
        )
        .await
        .1["customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = search(&app, &format!("{}&customer={customer}", q("refund"))).await;
    assert_eq!(ids(&r), vec![open_one.clone()]);
    let r = search(&app, &format!("{}&channel=email", q("refund"))).await;
    assert!(ids(&r).is_empty());
    let r = search(
        &app,
        &format!("{}&assignee=none&from=2000-01-01", q("refund")),
    )
    .await;
    assert_eq!(ids(&r).len(), 2);
    let r = search(&app, &format!("{}&to=2000-01-01", q("refund"))).await;
    assert!(ids(&r).is_empty());
    let (s, body) = app
        .get("/api/v1/search?q=refund&from=yesterday", &app.admin_token)
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_date");
}

async fn customers_are_found_by_name_and_identity(b: Backend) {
    let app = spawn_app(b).await;
    let (s, c) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "علي كريمي", "identities": [{"kind": "email", "value": "ali@example.com"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let r = search(&app, &q("علی کریمی")).await;
    assert_eq!(r["customers"][0]["id"], c["id"], "{r}");
    let r = search(&app, &q("ali@example.com")).await;
    assert_eq!(r["customers"][0]["id"], c["id"], "{r}");
    // Only agents search.
    let (s, body) = app.call("GET", "/api/v1/search?q=ali", None, None).await;
    assert_error(s, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let token = app.api_token(&["voice:ingest"]).await;
    let (s, body) = app.get("/api/v1/search?q=ali", &token).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
}

/// A common word ranks only its newest matches (`limits.search_ranked_matches`), and filters
/// apply before that cut: an older conversation is still found when a filter names it.
async fn a_common_word_ranks_its_newest_matches_and_filters_come_first(b: Backend) {
    let app = spawn_app_with(b, |s| s.limits.search_ranked_matches = 3).await;
    let mut made = Vec::new();
    for i in 0..5 {
        let email = format!("parcel{i}@example.com");
        made.push(open(&app, &email, "question", &format!("where is my parcel {i}")).await);
    }
    let found = ids(&search(&app, &q("parcel")).await);
    let mut newest: Vec<String> = made[2..].to_vec();
    newest.sort();
    let mut got = found.clone();
    got.sort();
    assert_eq!(
        got, newest,
        "the newest three matches, whatever their order"
    );
    // The oldest conversation, beyond the cut for the word alone, is found by its customer.
    let (_, conv) = app
        .get(
            &format!("/api/v1/conversations/{}", made[0]),
            &app.admin_token,
        )
        .await;
    let customer = conv["customer_id"].as_str().unwrap();
    let filtered = search(&app, &format!("{}&customer={customer}", q("parcel"))).await;
    assert_eq!(ids(&filtered), vec![made[0].clone()], "{filtered}");
}

/// Of several words, the rarer weighs more (both backends rank alike: in Rust, over what the
/// database matched): the older conversation with the rare number three times comes before the
/// newer one with the common word three times.
async fn a_rare_word_weighs_more_than_a_common_one(b: Backend) {
    let app = spawn_app(b).await;
    let rare = open(&app, "r@example.com", "Hi", "tracking 447812 447812 447812").await;
    let common = open(
        &app,
        "c@example.com",
        "Hi",
        "tracking tracking tracking 447812",
    )
    .await;
    for i in 0..6 {
        let email = format!("t{i}@example.com");
        open(&app, &email, "Hi", "my tracking code does not work").await;
    }
    let found = search(&app, &q("tracking 447812")).await;
    assert_eq!(ids(&found), vec![rare, common], "{found}");
}

crate::storage_tests!(
    words_are_found_in_any_letter_form_and_digits,
    notes_and_subjects_are_searched_and_best_matches_come_first,
    filters_combine_with_the_words,
    customers_are_found_by_name_and_identity,
    a_common_word_ranks_its_newest_matches_and_filters_come_first,
    a_rare_word_weighs_more_than_a_common_one,
);

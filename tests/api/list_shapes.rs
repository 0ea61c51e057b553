//! Lists read in the shapes that stay fast with a year of history (issue 21): a tagged inbox
//! walks the tag's conversations, a customer search takes the newest matching ids first. What
//! a page holds must not change with the shape, on both backends.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which ends in a query) followed by its cursors, joined.
async fn all_pages(app: &TestApp, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!(
                "{path}&cursor={}",
                c.replace('+', "%2B").replace('=', "%3D")
            ),
            None => path.to_string(),
        };
        let (s, page) = app.get(&url, &app.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{url}: {page}");
        let got = ids(&page);
        assert!(got.len() <= 2, "a page holds at most its limit: {page}");
        out.extend(got);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
        assert!(out.len() < 50, "paging ends");
    }
}

async fn a_tagged_inbox_pages_newest_first_through_its_other_filters(b: Backend) {
    let app = spawn_app(b).await;
    let mut open_tagged = Vec::new();
    for i in 0..7 {
        let tags = if i % 3 == 2 {
            json!(["other"])
        } else {
            json!(["callback", "vip"])
        };
        let c = app
            .conversation(
                &app.admin_token,
                &format!("c{i}@example.com"),
                &format!("Call {i}"),
                json!({ "tags": tags, "channel": "phone" }),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_string();
        if i == 3 {
            let (s, body) = app
                .patch(
                    &format!("/api/v1/conversations/{id}"),
                    &app.admin_token,
                    json!({"status": "resolved"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
        } else if i % 3 != 2 {
            open_tagged.push(id);
        }
    }
    open_tagged.reverse();
    let got = all_pages(
        &app,
        "/api/v1/conversations?tag=callback&status=open&limit=2",
    )
    .await;
    assert_eq!(got, open_tagged, "open callbacks, newest first, each once");
    let (_, page) = app
        .get(
            "/api/v1/conversations?tag=CALLBACK&status=open&limit=2",
            &app.admin_token,
        )
        .await;
    assert_eq!(
        ids(&page),
        open_tagged[..2].to_vec(),
        "a tag matches in any case"
    );
    assert_eq!(page["items"][0]["tags"], json!(["callback", "vip"]));
    let (_, page) = app
        .get("/api/v1/conversations?tag=none-such", &app.admin_token)
        .await;
    assert_eq!(ids(&page), Vec::<String>::new());
}

async fn a_customer_search_page_stays_full_when_newer_matches_were_merged_away(b: Backend) {
    let app = spawn_app(b).await;
    let mut made = Vec::new();
    for i in 0..6 {
        let (s, c) = app
            .post(
                "/api/v1/customers",
                &app.admin_token,
                json!({"name": format!("Sara Tehrani {i}"),
                       "identities": [{"kind": "email", "value": format!("st{i}@example.com")}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        made.push(c["id"].as_str().unwrap().to_string());
    }
    // The three newest matches are merged into a customer of another name.
    let (_, keeper) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Keeper"}),
        )
        .await;
    let keeper = keeper["id"].as_str().unwrap();
    for source in &made[3..] {
        let (s, body) = app
            .post(
                &format!("/api/v1/customers/{keeper}/merge"),
                &app.admin_token,
                json!({ "source_id": source }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let got = all_pages(&app, "/api/v1/customers?q=sara%20tehrani&limit=2").await;
    let want: Vec<String> = made[..3].iter().rev().cloned().collect();
    assert_eq!(
        got, want,
        "merged-away customers are left out, pages stay full"
    );
    // The keeper now holds the merged identities: found by one of them as a substring.
    let (_, page) = app
        .get(
            "/api/v1/customers?q=st4%40example&limit=2",
            &app.admin_token,
        )
        .await;
    assert_eq!(ids(&page), vec![keeper.to_string()]);
}

/// Short statements the planner costs high were compiled by JIT on every run (30 ms of the
/// router's 75 ms look over a backlog): the server's PostgreSQL connections run without it.
#[tokio::test]
async fn the_servers_postgresql_connections_run_without_jit() {
    let app = spawn_app(Backend::Postgres).await;
    for _ in 0..3 {
        let jit: String = sqlx::query_scalar("SHOW jit")
            .fetch_one(app.state.store.pool())
            .await
            .expect("SHOW jit");
        assert_eq!(jit, "off");
    }
}

crate::storage_tests!(
    a_tagged_inbox_pages_newest_first_through_its_other_filters,
    a_customer_search_page_stays_full_when_newer_matches_were_merged_away,
);

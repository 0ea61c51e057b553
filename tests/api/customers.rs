//! Customers, identities, search, merge and timeline.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn identities_are_normalised_and_unique(b: Backend) {
    let app = spawn_app(b).await;
    let (s, c) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "علي كريمي", "identities": [
            {"kind": "email", "value": " Ali.Karimi@Example.COM "},
            {"kind": "phone", "value": "۰۹۱۲ ۱۲۳ ۴۵۶۷"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let values: Vec<_> = c["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_string())
        .collect();
    assert!(
        values.contains(&"ali.karimi@example.com".to_string()),
        "{values:?}"
    );
    assert!(values.contains(&"+989121234567".to_string()), "{values:?}");
    // The same phone in Arabic-Indic digits is the same identity.
    let (s, body) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"identities": [{"kind": "phone", "value": "+٩٨٩١٢١٢٣٤٥٦٧"}]}),
        )
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    let (s, body) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"identities": [{"kind": "phone", "value": "12"}]}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone");
    // Nothing half-written: the failed create left no customer behind.
    let (_, list) = app.get("/api/v1/customers", &app.admin_token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Add and remove identities.
    let id = c["id"].as_str().unwrap();
    let (s, c2) = app
        .post(
            &format!("/api/v1/customers/{id}/identities"),
            &app.admin_token,
            json!({"kind": "visitor", "value": "v-123"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let visitor = c2["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "visitor")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = app
        .delete(
            &format!("/api/v1/customers/{id}/identities/{visitor}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .delete(
            &format!("/api/v1/customers/{id}/identities/{visitor}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn search_folds_persian_and_arabic_letter_forms(b: Backend) {
    let app = spawn_app(b).await;
    for (name, email) in [
        ("علي كريمي", "ali@example.com"),
        ("Sara Ahmadi", "sara@example.com"),
        ("زهرا", "zahra@example.com"),
    ] {
        let (s, _) = app
            .post(
                "/api/v1/customers",
                &app.admin_token,
                json!({"name": name, "identities": [{"kind": "email", "value": email}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    for (q, expected) in [
        ("علی", "علي كريمي"),
        ("کریمی", "علي كريمي"),
        ("sara", "Sara Ahmadi"),
        ("ZAHRA@example", "زهرا"),
    ] {
        let (s, res) = app
            .get(
                &format!("/api/v1/customers?q={}", urlencode(q)),
                &app.admin_token,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let names: Vec<_> = res["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec![expected.to_string()], "query {q}");
    }
    // A national phone number in Persian digits finds the E.164 identity.
    let (_, c) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Reza", "identities": [{"kind": "phone", "value": "+989121112233"}]}),
        )
        .await;
    let (_, res) = app
        .get(
            &format!("/api/v1/customers?q={}", urlencode("۰۹۱۲۱۱۱۲۲۳۳")),
            &app.admin_token,
        )
        .await;
    assert_eq!(res["items"][0]["id"], c["id"]);
    // LIKE wildcards in the query are literal.
    let (_, res) = app.get("/api/v1/customers?q=%25", &app.admin_token).await;
    assert_eq!(res["items"].as_array().unwrap().len(), 0);
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn customer_update_merges_attributes_and_sets_tier(b: Backend) {
    let app = spawn_app(b).await;
    let (_, c) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Sara", "attributes": {"plan": "gold", "city": "Tehran"}}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    let (s, c2) = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &app.admin_token,
            json!({"tier": "VIP", "language": "fa", "attributes": {"city": null, "orders": 3}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c2}");
    assert_eq!(c2["tier"], "vip");
    assert_eq!(c2["language"], "fa");
    assert_eq!(c2["attributes"], json!({"plan": "gold", "orders": 3}));
    let (s, body) = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &app.admin_token,
            json!({"attributes": [1, 2]}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
}

async fn merging_moves_identities_conversations_and_history(b: Backend) {
    let app = spawn_app(b).await;
    let c1 = app
        .conversation(
            &app.admin_token,
            "sara@example.com",
            "Order late",
            json!({}),
        )
        .await;
    let (_, phone_customer) = app.post("/api/v1/customers", &app.admin_token, json!({"name": "Sara A.", "tier": "vip", "identities": [{"kind": "phone", "value": "09121234567"}]})).await;
    let c2 = app
        .conversation(
            &app.admin_token,
            "unused@example.com",
            "Call back",
            json!({"customer": null, "customer_id": phone_customer["id"], "channel": "phone"}),
        )
        .await;
    let target = c1["customer_id"].as_str().unwrap();
    let source = phone_customer["id"].as_str().unwrap();
    let (s, merged) = app
        .post(
            &format!("/api/v1/customers/{target}/merge"),
            &app.admin_token,
            json!({"source_id": source}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    assert_eq!(merged["identities"].as_array().unwrap().len(), 2);
    assert_eq!(merged["tier"], "vip");
    assert_eq!(merged["conversation_count"], 2);
    let (_, conv2) = app
        .get(
            &format!("/api/v1/conversations/{}", c2["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert_eq!(conv2["customer_id"], target);
    assert!(conv2["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == "customer_merged"));
    let (_, src) = app
        .get(&format!("/api/v1/customers/{source}"), &app.admin_token)
        .await;
    assert_eq!(src["merged_into"], target);
    let (s, _) = app
        .post(
            &format!("/api/v1/customers/{target}/merge"),
            &app.admin_token,
            json!({"source_id": source}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .post(
            &format!("/api/v1/customers/{target}/merge"),
            &app.admin_token,
            json!({"source_id": target}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Merged-away profiles leave the list; the phone now finds the target.
    let (_, res) = app
        .get("/api/v1/customers?q=09121234567", &app.admin_token)
        .await;
    assert_eq!(res["items"].as_array().unwrap().len(), 1);
    assert_eq!(res["items"][0]["id"], target);
}

async fn timeline_lists_every_channel_newest_first_with_pagination(b: Backend) {
    let app = spawn_app(b).await;
    let email = app
        .conversation(
            &app.admin_token,
            "reza@example.com",
            "Invoice",
            json!({"channel": "email"}),
        )
        .await;
    let cid = email["customer_id"].as_str().unwrap();
    let phone = app
        .conversation(
            &app.admin_token,
            "x@example.com",
            "Missed call",
            json!({"customer": null, "customer_id": cid, "channel": "phone"}),
        )
        .await;
    let (s, _) = app
        .post(
            &format!(
                "/api/v1/conversations/{}/messages",
                phone["id"].as_str().unwrap()
            ),
            &app.admin_token,
            // A note: nobody can be sent a reply on a call (`no_reply_channel`).
            json!({"body": "called back", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, tl) = app
        .get(
            &format!("/api/v1/customers/{cid}/timeline?limit=100"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tl}");
    let items = tl["items"].as_array().unwrap();
    // 2 conversations + 2 first messages + 1 reply.
    assert_eq!(items.len(), 5, "{tl}");
    assert_eq!(items[0]["body"], "called back");
    assert_eq!(items[0]["channel"], "phone");
    let channels: std::collections::BTreeSet<_> = items
        .iter()
        .map(|i| i["channel"].as_str().unwrap())
        .collect();
    assert_eq!(
        channels.into_iter().collect::<Vec<_>>(),
        vec!["email", "phone"]
    );
    let times: Vec<_> = items
        .iter()
        .map(|i| i["at"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    // Paging two at a time yields the same items without gaps or repeats.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/customers/{cid}/timeline?limit=2&cursor={c}"),
            None => format!("/api/v1/customers/{cid}/timeline?limit=2"),
        };
        let (_, page) = app.get(&path, &app.admin_token).await;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let all: Vec<_> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paged, all);
}

async fn a_page_of_customers_carries_each_ones_identities_and_figures(b: Backend) {
    let app = spawn_app(b).await;
    // Three customers with 1, 2 and 3 conversations; one without any.
    for (k, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        for n in 0..=k {
            app.conversation(&app.admin_token, email, &format!("topic {n}"), json!({}))
                .await;
        }
    }
    let (s, lonely) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "بدون گفتگو"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{lonely}");
    let (s, page) = app
        .get("/api/v1/customers?limit=10", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{page}");
    for item in items {
        // Each list item is exactly the profile its own endpoint shows (which adds the
        // customer's `value`, computed per profile).
        let (_, mut one) = app
            .get(
                &format!("/api/v1/customers/{}", item["id"].as_str().unwrap()),
                &app.admin_token,
            )
            .await;
        assert!(one["value"].is_object(), "{one}");
        one.as_object_mut().unwrap().remove("value");
        assert_eq!(item, &one);
    }
    let count = |email: &str| {
        items
            .iter()
            .find(|c| c["identities"][0]["value"] == email)
            .map(|c| c["conversation_count"].clone())
    };
    assert_eq!(count("a@example.com"), Some(json!(1)));
    assert_eq!(count("b@example.com"), Some(json!(2)));
    assert_eq!(count("c@example.com"), Some(json!(3)));
    let none = items.iter().find(|c| c["id"] == lonely["id"]).unwrap();
    assert_eq!(none["conversation_count"], 0);
    assert_eq!(none["identities"], json!([]));
    assert!(none["last_contact_at"].is_null(), "{none}");
}

async fn a_whole_email_or_number_finds_exactly_its_owner(b: Backend) {
    let app = spawn_app(b).await;
    for (name, ident) in [
        ("Ali", json!({"kind": "email", "value": "ali@example.com"})),
        (
            "Mali",
            json!({"kind": "email", "value": "mali@example.com"}),
        ),
        ("Reza", json!({"kind": "phone", "value": "09121234567"})),
        (
            "Reza Office",
            json!({"kind": "phone", "value": "09121234568"}),
        ),
    ] {
        let (s, c) = app
            .post(
                "/api/v1/customers",
                &app.admin_token,
                json!({"name": name, "identities": [ident]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
    }
    for (q, expected) in [
        ("ali@example.com", vec!["Ali"]),
        (" ALI@Example.COM ", vec!["Ali"]),
        ("example.com", vec!["Mali", "Ali"]),
        ("۰۹۱۲ ۱۲۳ ۴۵۶۷", vec!["Reza"]),
        ("+98 912 123 4567", vec!["Reza"]),
        ("0912123456", vec!["Reza Office", "Reza"]),
        ("nobody@example.com", vec![]),
    ] {
        let (s, page) = app
            .get(
                &format!("/api/v1/customers?q={}", urlencode(q)),
                &app.admin_token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{q}");
    }
}

/// Part of a name, email or number finds its customer (indexed from three characters, read
/// through for shorter text), and the index follows renames and removed identities.
async fn search_by_part_follows_renames_and_removed_identities(b: Backend) {
    let app = spawn_app(b).await;
    let names = |res: &serde_json::Value| -> Vec<String> {
        res["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let find = |q: &str| format!("/api/v1/customers?q={}", urlencode(q));
    let (_, maryam) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Maryam Tehrani", "identities": [
                {"kind": "email", "value": "m.tehrani@shop.example"},
                {"kind": "phone", "value": "+989351234567"},
                {"kind": "visitor", "value": "vtok-unsearchable"}]}),
        )
        .await;
    let id = maryam["id"].as_str().unwrap();
    for (q, expected) in [
        ("ryam teh", vec!["Maryam Tehrani"]),
        ("shop.exa", vec!["Maryam Tehrani"]),
        ("hr", vec!["Maryam Tehrani"]),
        ("۰۹۳۵۱۲", vec!["Maryam Tehrani"]),
        ("unsearchable", vec![]),
        ("nobody", vec![]),
    ] {
        let (s, res) = app.get(&find(q), &app.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{res}");
        assert_eq!(names(&res), expected, "query {q}");
    }
    let (s, _) = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &app.admin_token,
            json!({"name": "Maryam Shirazi"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, res) = app.get(&find("tehrani"), &app.admin_token).await;
    // Still found by the email, which keeps the old surname.
    assert_eq!(names(&res), vec!["Maryam Shirazi"]);
    let (_, res) = app.get(&find("shiraz"), &app.admin_token).await;
    assert_eq!(names(&res), vec!["Maryam Shirazi"]);
    let email = maryam["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "email")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = app
        .delete(
            &format!("/api/v1/customers/{id}/identities/{email}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, res) = app.get(&find("tehrani"), &app.admin_token).await;
    assert_eq!(names(&res), Vec::<String>::new());
}

crate::storage_tests!(
    a_whole_email_or_number_finds_exactly_its_owner,
    a_page_of_customers_carries_each_ones_identities_and_figures,
    identities_are_normalised_and_unique,
    search_folds_persian_and_arabic_letter_forms,
    search_by_part_follows_renames_and_removed_identities,
    customer_update_merges_attributes_and_sets_tier,
    merging_moves_identities_conversations_and_history,
    timeline_lists_every_channel_newest_first_with_pagination,
);

//! Scale mode: two nodes on one PostgreSQL database refit one at a time (the refit lease),
//! and a refit never holds up other requests.
use super::*;
use serde_json::json;
use std::time::{Duration, Instant};
use switchboard::store::now_ms;

/// 3,000 customers with four orders each: enough that a refit takes a while.
async fn many_orders(app: &TestApp) {
    let mut csv = String::from("customer,external_id,amount,placed_at\n");
    for i in 0..12_000 {
        let day = 1 + (i * 7) % 28;
        let month = 1 + (i / 3_000) * 2;
        csv.push_str(&format!(
            "c{}@example.com,o{i},{}.25,2025-{month:02}-{day:02}\n",
            i % 3_000,
            5 + i % 90
        ));
    }
    let (s, report) = import(app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 12_000);
}

fn ms(v: &Value) -> i64 {
    switchboard::orders::parse::time(v.as_str().expect("a time")).expect("RFC 3339")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_never_refit_at_once_and_a_held_lease_makes_a_refit_wait() {
    let tweak = |s: &mut switchboard::settings::Settings| {
        s.value.default_currency = "USD".into();
        s.value.refit_interval_secs = 0;
        s.value.refit_after_orders_secs = 3600;
        s.value.refit_lease_secs = 30;
    };
    let one = spawn_app_with(Backend::Postgres, tweak).await;
    let two = spawn_on(&one.database_url, one._dir.clone(), tweak).await;
    assert_ne!(one.state.bus.node(), two.state.bus.node());
    many_orders(&one).await;

    // Refits asked of both nodes at once: whatever models they answer, no two were being
    // computed at the same time.
    let mut asks = Vec::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { &one } else { &two };
        let (client, url, token) = (
            node.client.clone(),
            node.url("/api/v1/insights/customer-value/refit"),
            node.admin_token.clone(),
        );
        asks.push(tokio::spawn(async move {
            let resp = client.post(url).bearer_auth(token).json(&json!({})).send();
            let resp = resp.await.expect("refit answered");
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<Value>().await.expect("a model")
        }));
    }
    let mut spans = std::collections::BTreeSet::new();
    for a in asks {
        let m = a.await.unwrap();
        assert_eq!(m["customers"], 3_000, "{m}");
        spans.insert((ms(&m["started_at"]), ms(&m["fitted_at"])));
    }
    let spans: Vec<_> = spans.into_iter().collect();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "two refits overlapped: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }

    // Another node holds the lease for 1.5 s more: a refit asked now waits for it, and
    // meanwhile customers are read as usual.
    let free_at = now_ms() + 1_500;
    sqlx::query(
        "UPDATE routing_leases SET holder = 'a-third-node', expires_at = $1 \
         WHERE name = 'value_refit'",
    )
    .bind(free_at)
    .execute(one.state.store.pool())
    .await
    .unwrap();
    let asked = Instant::now();
    let refit = {
        let (client, url, token) = (
            two.client.clone(),
            two.url("/api/v1/insights/customer-value/refit"),
            two.admin_token.clone(),
        );
        tokio::spawn(async move {
            let resp = client.post(url).bearer_auth(token).json(&json!({})).send();
            resp.await.unwrap().json::<Value>().await.unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = customer_id(&one, "c7@example.com").await;
    let (s, profile) = one
        .get(&format!("/api/v1/customers/{c}"), &one.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(profile["value"]["orders"], 4, "{profile}");
    assert!(!refit.is_finished(), "the refit waits for the lease");
    assert!(
        asked.elapsed() < Duration::from_millis(1_400),
        "reads did not wait"
    );
    let m = refit.await.unwrap();
    assert!(
        ms(&m["started_at"]) >= free_at,
        "the refit started only once the lease was free: {m}"
    );
    let (holder, until): (String, i64) =
        sqlx::query_as("SELECT holder, expires_at FROM routing_leases WHERE name = 'value_refit'")
            .fetch_one(one.state.store.pool())
            .await
            .unwrap();
    assert!(
        holder.starts_with(&format!("{}:", two.state.bus.node())),
        "{holder}"
    );
    assert!(until < now_ms(), "released after the refit");
}

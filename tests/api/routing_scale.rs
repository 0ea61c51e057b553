//! Scale mode: two server nodes on one PostgreSQL database routing at the same time.
use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::routing::run_once;
use switchboard::store::now_ms;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_database_never_double_assign_nor_exceed_capacity() {
    let one = spawn_app(Backend::Postgres).await;
    let two = spawn_on(&one.database_url, one._dir.clone(), |_| {}).await;
    let q = queue(&one, json!({"name": "Support"})).await;
    let mut agents = Vec::new();
    for i in 0..3 {
        let (_, t) = agent_with(
            &one,
            &format!("a{i}@example.com"),
            json!({"capacity": {"api": 2}}),
            "available",
        )
        .await;
        agents.push(t);
    }
    let mut convs = Vec::new();
    for i in 0..30 {
        let node = if i % 2 == 0 { &one } else { &two };
        let c = node
            .conversation(
                &node.admin_token,
                &format!("c{i}@example.com"),
                "Help",
                json!({"queue_id": q}),
            )
            .await;
        convs.push(c["id"].as_str().unwrap().to_string());
    }
    // Besides both nodes' own workers, hammer the router from both nodes in tight loops.
    let done = Arc::new(AtomicBool::new(false));
    let mut hammers = Vec::new();
    for state in [
        one.state.clone(),
        two.state.clone(),
        one.state.clone(),
        two.state.clone(),
    ] {
        let done = done.clone();
        hammers.push(tokio::spawn(async move {
            let mut passes = 0;
            while !done.load(Ordering::Relaxed) {
                run_once(&state, now_ms()).await.expect("routing pass");
                passes += 1;
            }
            passes
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut served = 0;
    let mut round = 0;
    while served < 30 {
        assert!(Instant::now() < deadline, "only {served} of 30 served");
        round += 1;
        for (i, tok) in agents.iter().enumerate() {
            let node = if (i + round) % 2 == 0 { &one } else { &two };
            for o in offers(node, tok).await {
                let id = o["id"].as_str().unwrap();
                let (s, c) = node
                    .post(&format!("/api/v1/offers/{id}/accept"), tok, json!({}))
                    .await;
                if s == StatusCode::CONFLICT {
                    continue; // expired meanwhile; it will be offered again
                }
                assert_eq!(s, StatusCode::OK, "{c}");
                let cid = c["id"].as_str().unwrap();
                let (s, r) = node
                    .patch(
                        &format!("/api/v1/conversations/{cid}"),
                        tok,
                        json!({"status": "resolved"}),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "{r}");
                served += 1;
            }
        }
        assert_invariants(&one).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done.store(true, Ordering::Relaxed);
    for h in hammers {
        assert!(h.await.unwrap() > 0);
    }
    assert_invariants(&one).await;
    assert!(
        assigned_twice(&one).await.is_empty(),
        "a conversation was assigned twice"
    );
    // Offers of one conversation never overlap in time.
    let rows: Vec<(String, i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT conversation_id, created_at, decided_at, status FROM offers ORDER BY conversation_id, created_at, id",
    )
    .fetch_all(one.state.store.pool())
    .await
    .unwrap();
    for w in rows.windows(2) {
        if w[0].0 == w[1].0 {
            let closed = w[0].2.expect("an earlier offer was decided");
            assert!(closed <= w[1].1, "overlapping offers for {}: {w:?}", w[0].0);
        }
    }
    let (resolved,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM conversations WHERE status = 'resolved' AND assignee_id IS NOT NULL",
    )
    .fetch_one(one.state.store.pool())
    .await
    .unwrap();
    assert_eq!(resolved, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicting_decisions_from_two_nodes_are_arbitrated_by_the_database() {
    use switchboard_routing::{Decision, DecisionKind};
    let one = spawn_app(Backend::Postgres).await;
    let two = spawn_on(&one.database_url, one._dir.clone(), |_| {}).await;
    let q = queue(&one, json!({"name": "Support"})).await;
    let (x_id, _) = agent_with(
        &one,
        "x@example.com",
        json!({"capacity": {"api": 2}}),
        "away",
    )
    .await;
    let mut convs = Vec::new();
    for i in 0..10 {
        convs.push(queued(&one, &format!("c{i}@example.com"), &q).await);
    }
    // Available without an event: both nodes' routers only notice it on their next tick, while
    // every conversation is pushed at the agent from both nodes at once.
    sqlx::query("UPDATE agents SET presence = 'available' WHERE id = $1")
        .bind(&x_id)
        .execute(one.state.store.pool())
        .await
        .unwrap();
    let now = now_ms();
    let mut tasks = Vec::new();
    for c in &convs {
        for state in [one.state.clone(), two.state.clone()] {
            let d = Decision {
                conversation: c.as_str().into(),
                agent: x_id.as_str().into(),
                kind: DecisionKind::Offer {
                    expires_at: now + 30_000,
                },
            };
            tasks.push(tokio::spawn(async move {
                switchboard::routing::apply_decision(&state, &d, now)
                    .await
                    .expect("no error surfaces")
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (held,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM offers WHERE agent_id = $1 AND status = 'offered'")
            .bind(&x_id)
            .fetch_one(one.state.store.pool())
            .await
            .unwrap();
    assert_eq!(held, 2, "exactly the agent's capacity is offered");
    assert_invariants(&one).await;
    // One conversation pushed at three free agents from both nodes: one offer wins.
    let mut others = Vec::new();
    for i in 0..3 {
        let (id, _) = agent_with(
            &one,
            &format!("o{i}@example.com"),
            json!({"capacity": {"api": 5}}),
            "away",
        )
        .await;
        others.push(id);
    }
    let waiting: Vec<(String,)> = sqlx::query_as(
        "SELECT c.id FROM conversations c WHERE c.assignee_id IS NULL AND NOT EXISTS \
         (SELECT 1 FROM offers o WHERE o.conversation_id = c.id AND o.status = 'offered') ORDER BY c.id",
    )
    .fetch_all(one.state.store.pool())
    .await
    .unwrap();
    let target = waiting[0].0.clone();
    sqlx::query("UPDATE agents SET presence = 'available' WHERE id IN ($1, $2, $3)")
        .bind(&others[0])
        .bind(&others[1])
        .bind(&others[2])
        .execute(one.state.store.pool())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for a in &others {
        for state in [one.state.clone(), two.state.clone()] {
            let d = Decision {
                conversation: target.as_str().into(),
                agent: a.as_str().into(),
                kind: DecisionKind::Offer {
                    expires_at: now + 30_000,
                },
            };
            tasks.push(tokio::spawn(async move {
                switchboard::routing::apply_decision(&state, &d, now)
                    .await
                    .expect("no error surfaces")
            }));
        }
    }
    let mut won = 0;
    for t in tasks {
        won += t.await.unwrap().is_some() as usize;
    }
    assert!(won <= 1, "{won} offers of one conversation were applied");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM offers WHERE conversation_id = $1 AND status = 'offered'",
    )
    .bind(&target)
    .fetch_one(one.state.store.pool())
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert_invariants(&one).await;
}

async fn lease_holder(app: &TestApp) -> Option<String> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT holder, expires_at FROM routing_leases WHERE name = 'router'")
            .fetch_optional(app.state.store.pool())
            .await
            .unwrap();
    row.filter(|(_, until)| *until > now_ms()).map(|(h, _)| h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_leads_the_periodic_pass_and_another_takes_over_when_it_stops() {
    let one = spawn_app(Backend::Postgres).await;
    let two = spawn_on(&one.database_url, one._dir.clone(), |_| {}).await;
    let nodes = [
        one.state.bus.node().to_string(),
        two.state.bus.node().to_string(),
    ];
    let mut leader = None;
    for _ in 0..50 {
        leader = lease_holder(&one).await;
        if leader.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let leader = leader.expect("a node holds the router lease");
    assert!(nodes.contains(&leader));
    // The lease is held, not passed back and forth.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(lease_holder(&one).await.as_deref(), Some(leader.as_str()));
    let (stopped, survivor) = if leader == nodes[0] {
        (&one, &two)
    } else {
        (&two, &one)
    };
    stopped.stop.cancel();
    let mut taken = false;
    for _ in 0..80 {
        if lease_holder(survivor).await.as_deref() == Some(survivor.state.bus.node()) {
            taken = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(taken, "the surviving node never took the lease over");
    // Routing goes on through the survivor.
    let q = queue(survivor, json!({"name": "Support"})).await;
    let (_, x) = agent_with(
        survivor,
        "x@example.com",
        json!({"capacity": {"api": 1}}),
        "available",
    )
    .await;
    queued(survivor, "one@example.com", &q).await;
    wait_offers(survivor, &x, 1).await;
}

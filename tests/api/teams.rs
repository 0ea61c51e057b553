//! Access by team (issue 15): teams claim queues; with the deployment's switch on, agents and
//! supervisors see, search and are offered only their teams' queues' conversations (plus
//! those assigned to them and queues no team claims); admins see everything.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[path = "teams_live.rs"]
mod live;

/// A contact center of two departments: queues Sales and Support claimed by their teams,
/// Billing claimed by nobody; agent A and supervisor S in Sales, agent B in Support; one
/// conversation in each queue.
pub struct World {
    pub app: TestApp,
    pub sales: String,
    pub support: String,
    pub billing: String,
    pub a: (String, String),
    pub b: (String, String),
    pub s: (String, String),
    pub sales_team: String,
    /// Conversation ids in Sales, Support and Billing.
    pub in_sales: String,
    pub in_support: String,
    pub in_billing: String,
}

pub async fn queue(app: &TestApp, name: &str) -> String {
    let (s, q) = app
        .post("/api/v1/queues", &app.admin_token, json!({"name": name}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    q["id"].as_str().unwrap().to_string()
}

pub async fn team(app: &TestApp, name: &str, queues: &[&str], agents: &[&str]) -> String {
    let (s, t) = app
        .post(
            "/api/v1/teams",
            &app.admin_token,
            json!({"name": name, "queue_ids": queues, "agent_ids": agents}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["id"].as_str().unwrap().to_string()
}

pub async fn switch(app: &TestApp, on: bool) {
    let (s, body) = app
        .put(
            "/api/v1/access",
            &app.admin_token,
            json!({"teams_enabled": on}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["teams_enabled"], on);
}

async fn in_queue(app: &TestApp, email: &str, subject: &str, queue: &str) -> String {
    let c = app
        .conversation(&app.admin_token, email, subject, json!({"queue_id": queue}))
        .await;
    c["id"].as_str().unwrap().to_string()
}

impl World {
    pub async fn new(b: Backend, on: bool) -> World {
        let app = spawn_app(b).await;
        let sales = queue(&app, "Sales").await;
        let support = queue(&app, "Support").await;
        let billing = queue(&app, "Billing").await;
        let a = app.agent("a@example.com", "agent", json!({})).await;
        let b = app.agent("b@example.com", "agent", json!({})).await;
        let s = app.agent("s@example.com", "supervisor", json!({})).await;
        let sales_team = team(&app, "Sales", &[&sales], &[&a.0, &s.0]).await;
        team(&app, "Support", &[&support], &[&b.0]).await;
        // The same customer writes to every department: one timeline.
        let in_sales = in_queue(&app, "cu@example.com", "quote marmalade", &sales).await;
        let in_support = in_queue(&app, "cu@example.com", "broken marmalade", &support).await;
        let in_billing = in_queue(&app, "cu@example.com", "invoice marmalade", &billing).await;
        if on {
            switch(&app, true).await;
        }
        World {
            app,
            sales,
            support,
            billing,
            a,
            b,
            s,
            sales_team,
            in_sales,
            in_support,
            in_billing,
        }
    }

    /// Ids of the conversations `token` lists with `query` (e.g. `?assignee=none`).
    pub async fn listed(&self, token: &str, query: &str) -> Vec<String> {
        let (s, page) = self
            .app
            .get(&format!("/api/v1/conversations{query}"), token)
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        ids(&page["items"])
    }

    /// Ids of the conversations `token` finds searching "marmalade".
    pub async fn found(&self, token: &str) -> Vec<String> {
        let (s, r) = self.app.get("/api/v1/search?q=marmalade", token).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        ids(&r["conversations"])
    }

    /// Conversation ids on the customer's timeline as `token` reads it.
    pub async fn timeline(&self, token: &str) -> Vec<String> {
        let (_, c) = self
            .app
            .get(
                &format!("/api/v1/conversations/{}", self.in_sales),
                &self.app.admin_token,
            )
            .await;
        let customer = c["customer_id"].as_str().unwrap();
        let (s, page) = self
            .app
            .get(&format!("/api/v1/customers/{customer}/timeline"), token)
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let mut out: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["conversation_id"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn has(list: &[String], id: &str) -> bool {
    list.iter().any(|x| x == id)
}

async fn teams_are_written_by_admins_read_by_supervisors_and_refused_to_agents(b: Backend) {
    let w = World::new(b, false).await;
    let app = &w.app;
    let (s, body) = app.get("/api/v1/teams", &w.a.1).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .post("/api/v1/teams", &w.s.1, json!({"name": "Mine"}))
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, page) = app.get("/api/v1/teams", &w.s.1).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{page}");
    assert!(names.contains(&"Sales") && names.contains(&"Support"));
    let (s, t) = app
        .get(&format!("/api/v1/teams/{}", w.sales_team), &w.s.1)
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["queue_ids"], json!([w.sales]));
    let mut members = vec![w.a.0.clone(), w.s.0.clone()];
    members.sort();
    assert_eq!(t["agent_ids"], json!(members));
    // Unknown queues and agents are refused with a code, and nothing is written.
    let (s, body) = app
        .post(
            "/api/v1/teams",
            &app.admin_token,
            json!({"name": "Ghosts", "queue_ids": ["nope"]}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "unknown_queue");
    let path = format!("/api/v1/teams/{}", w.sales_team);
    let (s, body) = app
        .patch(&path, &app.admin_token, json!({"agent_ids": ["nobody"]}))
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "unknown_agent");
    let (_, t) = app.get(&path, &app.admin_token).await;
    assert_eq!(
        t["agent_ids"],
        json!(members),
        "a refused change changes nothing"
    );
    let (s, body) = app
        .post("/api/v1/teams", &app.admin_token, json!({"name": " "}))
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (s, body) = app
        .post("/api/v1/teams", &app.admin_token, json!({"name": "Sales"}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    // A change replaces the lists; the name stays unless given.
    let (s, t) = app
        .patch(
            &path,
            &app.admin_token,
            json!({"queue_ids": [w.sales, w.billing, w.sales], "agent_ids": [w.a.0]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let mut queues = vec![w.sales.clone(), w.billing.clone()];
    queues.sort();
    assert_eq!(t["queue_ids"], json!(queues));
    assert_eq!(t["agent_ids"], json!([w.a.0]));
    assert_eq!(t["name"], "Sales");
    let (s, _) = app.delete(&path, &w.s.1).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.delete(&path, &app.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = app.get(&path, &app.admin_token).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    // The switch: anyone reads it, only admins turn it.
    let (s, body) = app.get("/api/v1/access", &w.a.1).await;
    assert_eq!((s, body), (StatusCode::OK, json!({"teams_enabled": false})));
    let (s, body) = app
        .put("/api/v1/access", &w.s.1, json!({"teams_enabled": true}))
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn with_teams_on_an_agent_sees_only_their_teams_queues_and_their_own(b: Backend) {
    let w = World::new(b, true).await;
    let app = &w.app;
    let a = &w.a.1;
    for query in ["", "?assignee=none", "?status=open"] {
        let seen = w.listed(a, query).await;
        assert!(has(&seen, &w.in_sales), "{query}: {seen:?}");
        assert!(
            has(&seen, &w.in_billing),
            "unclaimed queue: {query}: {seen:?}"
        );
        assert!(!has(&seen, &w.in_support), "{query}: {seen:?}");
    }
    let seen = w.listed(a, &format!("?queue={}", w.support)).await;
    assert!(seen.is_empty(), "{seen:?}");
    let found = w.found(a).await;
    assert!(
        has(&found, &w.in_sales) && has(&found, &w.in_billing),
        "{found:?}"
    );
    assert!(!has(&found, &w.in_support), "{found:?}");
    let timeline = w.timeline(a).await;
    assert!(has(&timeline, &w.in_sales), "{timeline:?}");
    assert!(!has(&timeline, &w.in_support), "{timeline:?}");
    // Outside their teams: 404, as if it did not exist, for reading and changing alike.
    let conv = format!("/api/v1/conversations/{}", w.in_support);
    for (status, body) in [
        app.get(&conv, a).await,
        app.get(&format!("{conv}/messages"), a).await,
        app.patch(&conv, a, json!({"status": "pending"})).await,
        app.post(
            &format!("{conv}/messages"),
            a,
            json!({"body": "hi", "internal": true}),
        )
        .await,
        app.post(&format!("{conv}/assign"), a, json!({"agent_id": w.a.0}))
            .await,
        app.post(&format!("{conv}/viewing"), a, json!({"on": true}))
            .await,
    ] {
        assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    }
    let (_, c) = app.get(&conv, &app.admin_token).await;
    assert_eq!(c["status"], "open", "nothing changed");
    let (s, _) = app
        .get(&format!("/api/v1/conversations/{}", w.in_sales), a)
        .await;
    assert_eq!(s, StatusCode::OK);
    // Assigned to them, a Support conversation is theirs to see and work.
    let (s, body) = app
        .post(
            &format!("{conv}/assign"),
            &app.admin_token,
            json!({"agent_id": w.a.0, "override_capacity": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(has(&w.listed(a, "?assignee=me").await, &w.in_support));
    assert!(has(&w.found(a).await, &w.in_support));
    let (s, body) = app
        .post(
            &format!("{conv}/messages"),
            a,
            json!({"body": "on it", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Agent B of Support sees it still; admins see everything.
    assert!(has(&w.listed(&w.b.1, "").await, &w.in_support));
    assert!(!has(&w.listed(&w.b.1, "").await, &w.in_sales));
    let all = w.listed(&app.admin_token, "").await;
    for id in [&w.in_sales, &w.in_support, &w.in_billing] {
        assert!(has(&all, id), "{all:?}");
    }
}

async fn with_teams_on_a_supervisor_sees_their_teams_queues_and_figures(b: Backend) {
    let w = World::new(b, true).await;
    let app = &w.app;
    let sup = &w.s.1;
    let seen = w.listed(sup, "").await;
    assert!(
        has(&seen, &w.in_sales) && has(&seen, &w.in_billing),
        "{seen:?}"
    );
    assert!(!has(&seen, &w.in_support), "{seen:?}");
    let (s, _) = app
        .get(&format!("/api/v1/conversations/{}", w.in_support), sup)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, stats) = app.get("/api/v1/stats/queues", sup).await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let queues: Vec<&str> = stats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["queue_id"].as_str().unwrap())
        .collect();
    assert!(queues.contains(&w.sales.as_str()) && queues.contains(&w.billing.as_str()));
    assert!(!queues.contains(&w.support.as_str()), "{queues:?}");
    let (_, agents) = app.get("/api/v1/stats/agents", sup).await;
    let agents: Vec<&str> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent_id"].as_str().unwrap())
        .collect();
    assert!(agents.contains(&w.a.0.as_str()), "{agents:?}");
    assert!(!agents.contains(&w.b.0.as_str()), "{agents:?}");
    let (_, stats) = app.get("/api/v1/stats/queues", &app.admin_token).await;
    assert!(stats["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|q| q["queue_id"] == w.support.as_str()));
    // Reports too: the admin's cover Support, the supervisor's only their teams' queues.
    let report = |token: &str| {
        let token = token.to_string();
        async move {
            let (s, r) = app
                .get("/api/v1/reports/summary?group_by=queue", &token)
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            let keys: Vec<String> = r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_string())
                .collect();
            (keys, r["total"]["offered"].as_i64().unwrap())
        }
    };
    let (all, all_offered) = report(&app.admin_token).await;
    assert!(
        all.contains(&w.support) && all.contains(&w.sales),
        "{all:?}"
    );
    let (mine, mine_offered) = report(sup).await;
    assert!(
        mine.contains(&w.sales) && !mine.contains(&w.support),
        "{mine:?}"
    );
    assert!(mine_offered < all_offered, "{mine_offered} < {all_offered}");
}

async fn with_teams_off_everyone_sees_every_queue_and_turning_it_on_takes_effect_at_once(
    b: Backend,
) {
    let w = World::new(b, false).await;
    for token in [&w.a.1, &w.b.1, &w.s.1] {
        let seen = w.listed(token, "").await;
        for id in [&w.in_sales, &w.in_support, &w.in_billing] {
            assert!(has(&seen, id), "{seen:?}");
        }
        assert_eq!(w.found(token).await.len(), 3);
        assert_eq!(w.timeline(token).await.len(), 3);
    }
    switch(&w.app, true).await;
    assert!(!has(&w.listed(&w.a.1, "").await, &w.in_support));
    // Membership changes take effect at once too: A joins Support.
    let (s, body) = w
        .app
        .patch(
            &format!("/api/v1/teams/{}", w.sales_team),
            &w.app.admin_token,
            json!({"queue_ids": [w.sales, w.support]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(has(&w.listed(&w.a.1, "").await, &w.in_support));
    switch(&w.app, false).await;
    assert!(has(&w.listed(&w.b.1, "").await, &w.in_sales));
}

crate::storage_tests!(
    teams_are_written_by_admins_read_by_supervisors_and_refused_to_agents,
    with_teams_on_an_agent_sees_only_their_teams_queues_and_their_own,
    with_teams_on_a_supervisor_sees_their_teams_queues_and_figures,
    with_teams_off_everyone_sees_every_queue_and_turning_it_on_takes_effect_at_once,
);

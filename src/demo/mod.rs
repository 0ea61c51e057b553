//! `switchboard demo`: a small Persian/English contact center on a fresh database, built
//! through the server's own public interfaces (the HTTP API, raw email in, PBX record upload,
//! the widget socket), so what a newcomer sees is what real traffic produces.

use crate::auth::Role;
use crate::state::AppState;
use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod shop;

/// A demo agent: (email, name, role, skills, languages).
type DemoAgent = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// The demo's people.
const AGENTS: &[DemoAgent] = &[
    ("admin@demo.example", "Admin", "admin", &[], &["fa", "en"]),
    (
        "shirin@demo.example",
        "شیرین احمدی",
        "supervisor",
        &["sales"],
        &["fa", "en"],
    ),
    (
        "reza@demo.example",
        "رضا کریمی",
        "agent",
        &["sales"],
        &["fa"],
    ),
    (
        "emma@demo.example",
        "Emma Stone",
        "agent",
        &[],
        &["en", "fa"],
    ),
];

/// A talking client of the running server, logged in as the demo's admin.
struct Client {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Client {
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let resp = req.bearer_auth(&self.token).send().await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("demo: {what} failed with {status}: {body}");
        }
        Ok(body)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        self.send(self.http.post(url).json(&body), path).await
    }

    async fn raw(&self, path: &str, content_type: &str, body: String) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        let req = self
            .http
            .post(url)
            .header("content-type", content_type)
            .body(body);
        self.send(req, path).await
    }
}

/// A random password for a demo agent (shown once).
fn password() -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..14)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// Fill the fresh database behind the running server at `addr`; returns the lines to print
/// (the agents' passwords, the test page). Refuses a database that already has agents.
pub async fn seed(state: &AppState, addr: SocketAddr) -> anyhow::Result<Vec<String>> {
    let (agents,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM agents")
        .fetch_one(state.store.pool())
        .await
        .context("counting agents")?;
    if agents > 0 {
        bail!(
            "the demo needs a fresh database, and this one has agents: point \
             SWITCHBOARD_DATA_DIR at a new directory (e.g. SWITCHBOARD_DATA_DIR=./demo-data)"
        );
    }
    let base = crate::startup::base_url(addr);
    let mut lines = vec!["demo agents (passwords are shown this once):".to_string()];
    let (admin_email, admin_name, _, _, _) = AGENTS[0];
    let admin_password = password();
    crate::agents::create_from_cli(
        &state.store,
        admin_email,
        admin_name,
        Role::Admin,
        &admin_password,
    )
    .await?;
    lines.push(format!(
        "  {:<11} {admin_email:<22} {admin_password}",
        "admin"
    ));
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": admin_email, "password": admin_password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().context("demo: login")?.to_string();
    let c = Client { base, http, token };
    for (email, name, role, skills, languages) in &AGENTS[1..] {
        let pw = password();
        c.post(
            "/agents",
            json!({"email": email, "name": name, "role": role, "password": pw,
                   "skills": skills, "languages": languages}),
        )
        .await?;
        lines.push(format!("  {role:<11} {email:<22} {pw}"));
    }
    let sales = queues(&c).await?;
    let key = site(&c, &sales).await?;
    lines.push(format!("demo chat site: {}/widget/test?site={key}", c.base));
    customers(&c).await?;
    emails(&c).await?;
    calls(&c, state.settings.voice.pbx_utc_offset_secs).await?;
    chats(&c, &key).await?;
    lines.push(
        "log in to the console as admin (or any agent), set yourself available, and open the \
         test page to chat"
            .to_string(),
    );
    Ok(lines)
}

/// Sales (chat, skill `sales`) and Support (email, phone, fax); returns Sales' id.
async fn queues(c: &Client) -> anyhow::Result<String> {
    let sales = c
        .post(
            "/queues",
            json!({"name": "Sales — فروش", "channels": ["chat", "api"], "skills": ["sales"],
                   "priority": 5}),
        )
        .await?;
    c.post(
        "/queues",
        json!({"name": "Support — پشتیبانی", "channels": ["email", "phone", "fax"],
               "first_response_minutes": 240}),
    )
    .await?;
    Ok(sales["id"].as_str().unwrap_or_default().to_string())
}

/// The demo shop's chat site, allowing the server's own address (its test page).
async fn site(c: &Client, sales: &str) -> anyhow::Result<String> {
    let site = c
        .post(
            "/channels/chat/sites",
            json!({"name": "فروشگاه نمونه — Demo shop", "allowed_origins": [c.base],
                   "queue_id": sales, "prechat_fields": ["name", "email"]}),
        )
        .await?;
    Ok(site["site_key"].as_str().unwrap_or_default().to_string())
}

async fn customers(c: &Client) -> anyhow::Result<()> {
    let people = [
        (
            "مریم حسینی",
            "maryam@example.ir",
            "+989123456789",
            Some("vip"),
        ),
        ("Daniel Brooks", "daniel@example.com", "+442071234567", None),
        ("علی رضایی", "ali@example.ir", "+989351112233", None),
    ];
    for (i, (name, email, phone, tier)) in people.into_iter().enumerate() {
        let customer = c
            .post(
                "/customers",
                json!({"name": name, "tier": tier, "identities": [
                    {"kind": "email", "value": email}, {"kind": "phone", "value": phone}]}),
            )
            .await?;
        let id = customer["id"].as_str().unwrap_or_default();
        let conv = c
            .post(
                "/conversations",
                json!({"customer_id": id, "subject": "پیگیری سفارش / Order follow-up",
                       "body": "سفارش ۱۲۳۴ من کی می‌رسد؟ When will order 1234 arrive?"}),
            )
            .await?;
        let conv_id = conv["id"].as_str().unwrap_or_default();
        c.post(
            &format!("/conversations/{conv_id}/messages"),
            json!({"body": "مشتری ویژه؛ با انبار هماهنگ شد.", "internal": true}),
        )
        .await?;
        orders(c, id, ORDERS[i]).await?;
    }
    shoppers(c).await?;
    // Segments and lifetime value from the orders just stored (a refit also runs on its own).
    c.post("/insights/customer-value/refit", json!({})).await?;
    Ok(())
}

/// Each demo customer's purchases: (days ago, amount in rials, the default currency).
const ORDERS: [&[(i64, i64)]; 3] = [
    &[
        (400, 12_000_000),
        (330, 8_500_000),
        (270, 24_000_000),
        (200, 9_900_000),
        (140, 31_000_000),
        (90, 17_500_000),
        (40, 20_500_000),
        (6, 46_000_000),
    ],
    &[(300, 4_500_000)],
    &[(250, 6_000_000), (35, 3_800_000)],
];

/// The shop's past customers ([`shop`]) with their names, and their orders in one import.
async fn shoppers(c: &Client) -> anyhow::Result<()> {
    let shoppers = shop::shoppers();
    for s in &shoppers {
        c.post(
            "/customers",
            json!({"name": s.name, "identities": [{"kind": "email", "value": s.email}]}),
        )
        .await?;
    }
    let today = time::OffsetDateTime::now_utc().date();
    let report = c
        .raw(
            "/orders/import",
            "text/csv",
            shop::orders_csv(&shoppers, today),
        )
        .await?;
    if report["rejected_total"] != 0 {
        bail!("demo: the shop's orders were refused: {report}");
    }
    Ok(())
}

/// Store `orders` of customer `id` as the shop would send them (in `value.order_currency`).
async fn orders(c: &Client, id: &str, orders: &[(i64, i64)]) -> anyhow::Result<()> {
    let today = time::OffsetDateTime::now_utc().date();
    for (n, (days_ago, amount)) in orders.iter().enumerate() {
        let placed = today - time::Duration::days(*days_ago);
        c.post(
            "/orders",
            json!({"customer_id": id, "external_id": format!("demo-{id}-{n}"),
                   "amount": amount, "placed_at": placed.to_string()}),
        )
        .await?;
    }
    Ok(())
}

/// Two emails pushed as raw MIME (one Persian, one English).
async fn emails(c: &Client) -> anyhow::Result<()> {
    let mails = [
        (
            "=?UTF-8?B?2YXYsduM2YUg2K3Ys9uM2YbbjA==?= <maryam@example.ir>",
            "=?UTF-8?B?2YHYp9qp2KrZiNixINiu2LHbjNiv?=",
            "سلام، فاکتور خرید هفته‌ی گذشته را می‌خواستم.",
            "demo-1",
        ),
        (
            "Daniel Brooks <daniel@example.com>",
            "Return request",
            "Hello, the jacket I bought is too small. Can I return it?",
            "demo-2",
        ),
    ];
    for (from, subject, body, id) in mails {
        let raw = format!(
            "From: {from}\r\nTo: support@demo.example\r\nSubject: {subject}\r\n\
             Message-ID: <{id}@demo.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
             {body}\r\n"
        );
        c.raw("/channels/email/inbound", "message/rfc822", raw)
            .await?;
    }
    Ok(())
}

/// An answered call, a missed one (a callback) and a received fax, as the PBX logs them.
async fn calls(c: &Client, pbx_offset_secs: i32) -> anyhow::Result<()> {
    let local = time::OffsetDateTime::now_utc()
        + time::Duration::seconds(i64::from(pbx_offset_secs))
        - time::Duration::minutes(30);
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let at = |mins: i64| {
        (local + time::Duration::minutes(mins))
            .format(&fmt)
            .unwrap_or_default()
    };
    let asterisk = format!(
        "\"\",\"09123456789\",\"101\",\"from-trunk\",\"\"\"Maryam\"\" <09123456789>\",\"PJSIP/trunk-1\",\
         \"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"{}\",\"{}\",\"{}\",190,184,\"ANSWERED\",\
         \"DOCUMENTATION\",\"demo.1\",\"\"\n\
         \"\",\"09351112233\",\"101\",\"from-trunk\",\"\"\"Ali\"\" <09351112233>\",\"PJSIP/trunk-2\",\
         \"PJSIP/101-2\",\"Dial\",\"PJSIP/101,30\",\"{}\",\"\",\"{}\",25,0,\"NO ANSWER\",\
         \"DOCUMENTATION\",\"demo.2\",\"\"\n",
        at(0),
        at(0),
        at(3),
        at(10),
        at(10)
    );
    c.raw(
        "/channels/voice/records?format=asterisk",
        "text/plain",
        asterisk,
    )
    .await?;
    let fax_fmt =
        time::macros::format_description!("[month]/[day]/[year repr:last_two] [hour]:[minute]");
    let fax_at = (local + time::Duration::minutes(20))
        .format(&fax_fmt)
        .unwrap_or_default();
    let fax = format!(
        "{fax_at}\tRECV\t00000901\tttyS1\tfax00901.tif\t\"\"\tfax\t\"02133445566\"\t\"ACME TEHRAN\"\t\
         4196528\t2\t0:01:10\t0:01:00\t\"\"\t\"09123456789\"\t\"ACME\"\t\"\"\t\"\"\t\"\"\n"
    );
    c.raw("/channels/voice/records?format=hylafax", "text/plain", fax)
        .await?;
    Ok(())
}

/// Two visitors chat through the widget socket, as from the shop's page.
async fn chats(c: &Client, key: &str) -> anyhow::Result<()> {
    let visitors = [
        (
            "fa",
            "سارا",
            "sara@example.ir",
            "سلام، این کفش سایز ۴۰ هم دارد؟",
        ),
        ("en", "Tom", "tom@example.com", "Hi! Do you ship to Canada?"),
    ];
    for (locale, name, email, text) in visitors {
        let url = format!("{}/ws/widget?site={key}", c.base.replacen("http", "ws", 1));
        let mut req = url.into_client_request()?;
        req.headers_mut().insert("Origin", c.base.parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .context("demo: widget socket")?;
        let frames = [
            json!({"type": "hello", "site": key, "locale": locale}),
            json!({"type": "prechat", "name": name, "email": email}),
            json!({"type": "message", "client_id": "demo-1", "text": text}),
        ];
        for f in frames {
            ws.send(Message::text(f.to_string())).await?;
        }
        // Stored once acknowledged.
        while let Some(m) = ws.next().await {
            if let Message::Text(t) = m? {
                let f: Value = serde_json::from_str(&t)?;
                match f["type"].as_str() {
                    Some("ack") => break,
                    Some("error") => bail!("demo: chat refused: {f}"),
                    _ => {}
                }
            }
        }
        let _ = ws.close(None).await;
    }
    Ok(())
}

//! Filling a deployment with a year of history through the product's own ingest paths: call
//! records as an uploaded Asterisk `Master.csv` (`voice::records`, 1,000-record batches), mail
//! as IMAP fetches (`email::inbound::ingest_batch`, groups of 50) and visitor messages as the
//! chat writer's group commits (`chat::store_visitor_batch`, 256 messages).

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use switchboard::channels::{chat, email, voice};
use switchboard::state::AppState;
use switchboard_voice::Source;

use super::Api;

/// Agents of the deployment (`a0@bench.test` …).
pub const AGENTS: usize = 20;
/// Callers with hundreds of calls each (their timelines are measured).
pub const HEAVY: usize = 50;
/// Messages per chat conversation and per mail thread.
pub const CHAT_MESSAGES: usize = 6;
pub const MAIL_MESSAGES: usize = 5;
/// Conversations left open at the end (per channel: chat and email), the rest resolved.
pub const KEEP_OPEN: i64 = 5_000;
pub const PASSWORD: &str = "bench password 123";
/// A word in one message of 200,000, and the Persian word stored with Persian letters
/// (searched with the Arabic forms ك and ي).
pub const RARE: &str = "zanzibar";
pub const PERSIAN: &str = "کیف";

const EN: [&str; 16] = [
    "order", "delivery", "refund", "invoice", "account", "password", "shipping", "broken", "late",
    "price", "discount", "address", "change", "cancel", "thanks", "please",
];
const FA: [&str; 12] = [
    "سلام",
    "سفارش",
    "ارسال",
    "پیگیری",
    "تحویل",
    "مشکل",
    "لطفا",
    "ممنون",
    "کد",
    "یک",
    "بسته",
    "پرداخت",
];
const NAMES: [&str; 12] = [
    "Sara Ahmadi",
    "Reza Karimi",
    "Maryam Hosseini",
    "Ali Rezaei",
    "John Smith",
    "Emma Brown",
    "مریم کریمی",
    "علی احمدی",
    "زهرا موسوی",
    "Mohammad Jafari",
    "Lena Fischer",
    "Omar Haddad",
];

/// A deterministic pseudo-random number for `i` (splitmix64).
pub fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The text of message `i`: English and Persian words, `order` in half of them, the Persian
/// word in one of 50, the rare word in one of 200,000.
pub fn text(i: u64) -> String {
    let r = mix(i);
    let mut words: Vec<&str> = (0..8)
        .map(|k| {
            let x = (r >> (k * 6)) as usize;
            if k % 2 == 0 {
                EN[x % EN.len()]
            } else {
                FA[x % FA.len()]
            }
        })
        .filter(|w| *w != "order")
        .collect();
    if r % 2 == 0 {
        words.push("order");
    }
    if r % 50 == 7 {
        words.push(PERSIAN);
    }
    if i % 200_000 == 7 {
        words.push(RARE);
    }
    words.join(" ")
}

/// The phone number of caller `k` (heavy callers first).
pub fn phone(k: u64) -> String {
    format!("0912{:07}", k)
}

/// Conversations per channel for `n` in all: half calls, a twentieth mail threads, the rest
/// chats.
pub fn split(n: usize) -> (usize, usize, usize) {
    let voice = n / 2;
    let mail = n / 20;
    (voice, mail, n - voice - mail)
}

pub struct Ids {
    pub agents: Vec<String>,
    pub site: String,
}

/// Queues (Email, Sales), agents, a mailbox feeding Email, a chat site feeding Sales.
pub async fn setup(api: &Api) -> Ids {
    let post = |path: &'static str, body: Value| api.post(path, body);
    let mut queues = Vec::new();
    for name in ["Email", "Sales"] {
        queues.push(id(post("/api/v1/queues", json!({ "name": name })).await));
    }
    let mut agents = Vec::new();
    for a in 0..AGENTS {
        let body = json!({"email": format!("a{a}@bench.test"), "name": format!("Agent {a}"),
            "role": "agent", "password": PASSWORD});
        agents.push(id(post("/api/v1/agents", body).await));
    }
    post(
        "/api/v1/channels/email/mailboxes",
        json!({"name": "Support", "address": "support@bench.test", "queue_id": queues[0]}),
    )
    .await;
    let site = post(
        "/api/v1/channels/chat/sites",
        json!({"name": "Shop", "allowed_origins": ["https://shop.bench.test"], "queue_id": queues[1]}),
    )
    .await;
    Ids {
        agents,
        site: id(site),
    }
}

fn id(v: Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// `count` call records: 4 % from the heavy callers, the rest from 150,000 others; missed calls
/// only in the last 2 % (they open callback conversations, which stay open).
pub async fn voice(state: &AppState, count: usize) {
    const CHUNK: usize = 20_000;
    let started = Instant::now();
    let opts = voice::records::options(12_600);
    let year_start = 1_742_502_600i64; // 2025-03-21 Tehran
    let mut stored = 0;
    for start in (0..count).step_by(CHUNK) {
        let mut csv = String::with_capacity(CHUNK * 260);
        for i in start..(start + CHUNK).min(count) {
            let r = mix(i as u64 ^ 0x5eed);
            let caller = if r % 25 == 0 {
                (r >> 8) % HEAVY as u64
            } else {
                HEAVY as u64 + (r >> 8) % 150_000
            };
            let num = phone(caller);
            let name = NAMES[(caller % NAMES.len() as u64) as usize];
            let t = year_start + (i as i64 * 365 * 86_400 / count as i64);
            let ts = |s: i64| {
                time::OffsetDateTime::from_unix_timestamp(t + s + 12_600)
                    .unwrap()
                    .format(time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second]"
                    ))
                    .unwrap()
            };
            let missed = i * 50 >= count * 49 && r % 5 == 0;
            let (answer, disposition, billsec) = if missed {
                (String::new(), "NO ANSWER", 0)
            } else {
                (ts(5), "ANSWERED", 30)
            };
            csv.push_str(&format!(
                "\"\",\"{num}\",\"101\",\"from-trunk\",\"\"\"{name}\"\" <{num}>\",\"PJSIP/trunk-{i:08}\",\
                 \"PJSIP/101-{i:08}\",\"Dial\",\"PJSIP/101,30\",\"{}\",\"{answer}\",\
                 \"{}\",35,{billsec},\"{disposition}\",\"DOCUMENTATION\",\"year.{i}\",\"\"\n",
                ts(0),
                ts(35)
            ));
        }
        let (lines, _) =
            voice::records::parse_lines(Source::Asterisk, csv.as_bytes(), 1, true, &opts);
        let report = voice::records::store_lines(state, Source::Asterisk, lines)
            .await
            .expect("call records stored");
        assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
        stored += report.stored;
    }
    println!(
        "  voice: {stored} call records in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn mail(thread: usize, k: usize) -> Vec<u8> {
    let sender = thread % 40_000;
    let name = NAMES[sender % NAMES.len()];
    let mut m = format!(
        "From: {name} <c{sender}@mail.bench.test>\r\nTo: support@bench.test\r\n\
         Subject: {}Order question {thread}\r\nMessage-ID: <t{thread}-{k}@mail.bench.test>\r\n",
        if k > 0 { "Re: " } else { "" }
    );
    if k > 0 {
        let prev = format!("<t{thread}-{}@mail.bench.test>", k - 1);
        m.push_str(&format!("In-Reply-To: {prev}\r\nReferences: {prev}\r\n"));
    }
    m.push_str("Date: Fri, 21 Mar 2025 10:00:00 +0330\r\nMIME-Version: 1.0\r\n");
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    m.push_str(&text((thread * MAIL_MESSAGES + k) as u64 ^ 0xa11));
    m.push_str("\r\n");
    m.into_bytes()
}

/// `threads` mail threads of [`MAIL_MESSAGES`] messages, 40,000 senders.
pub async fn mail_threads(state: &AppState, threads: usize) {
    const BLOCK: usize = 2_000;
    let started = Instant::now();
    let mut stored = 0;
    for start in (0..threads).step_by(BLOCK) {
        let end = (start + BLOCK).min(threads);
        for k in 0..MAIL_MESSAGES {
            let raws: Vec<Vec<u8>> = (start..end).map(|t| mail(t, k)).collect();
            for group in raws.chunks(50) {
                let out = email::inbound::ingest_batch(state, None, group, None)
                    .await
                    .expect("mail stored");
                stored += out
                    .iter()
                    .filter(|o| matches!(o, email::inbound::Outcome::Stored { .. }))
                    .count();
            }
        }
    }
    println!(
        "  email: {stored} messages in {threads} threads in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// `visitors` chats of [`CHAT_MESSAGES`] messages, group-committed 256 at a time.
pub async fn chats(state: &AppState, site_id: &str, visitors: usize) {
    const BLOCK: usize = 256;
    let started = Instant::now();
    let mut conn = state.store.pool().acquire().await.expect("conn");
    let site = chat::sites::by_id(&mut conn, site_id)
        .await
        .expect("site")
        .expect("site exists");
    drop(conn);
    let site = Arc::new(site);
    let mut stored = 0;
    for start in (0..visitors).step_by(BLOCK) {
        let end = (start + BLOCK).min(visitors);
        for k in 0..CHAT_MESSAGES {
            let batch: Vec<(String, String, String)> = (start..end)
                .map(|v| {
                    (
                        format!("year-visitor-{v}"),
                        format!("m{k}"),
                        text((v * CHAT_MESSAGES + k) as u64),
                    )
                })
                .collect();
            stored += chat::store_visitor_batch(state, site.clone(), &batch)
                .await
                .expect("chat batch stored");
        }
    }
    println!(
        "  chat: {stored} messages from {visitors} visitors in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// What agents did over the year, written directly (the ingest paths only create): every
/// chat and mail conversation but the newest [`KEEP_OPEN`] of each resolved, the resolved ones
/// and half of the open ones assigned to the agents in turn.
pub async fn settle(state: &AppState, agents: &[String]) {
    let started = Instant::now();
    let pool = state.store.pool();
    for channel in ["chat", "email"] {
        let (max,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(number) FROM conversations WHERE channel = $1")
                .bind(channel)
                .fetch_one(pool)
                .await
                .expect("max number");
        let mut newest: Vec<(i64,)> = sqlx::query_as(
            "SELECT number FROM conversations WHERE channel = $1 AND number <= $2 \
             ORDER BY number DESC LIMIT $3",
        )
        .bind(channel)
        .bind(max.unwrap_or(0))
        .bind(KEEP_OPEN)
        .fetch_all(pool)
        .await
        .expect("newest");
        let keep_from = newest.pop().map(|r| r.0).unwrap_or(0);
        sqlx::query(
            "UPDATE conversations SET status = 'resolved', resolved_at = updated_at \
             WHERE channel = $1 AND status = 'open' AND number < $2",
        )
        .bind(channel)
        .bind(keep_from)
        .execute(pool)
        .await
        .expect("resolve");
    }
    let case: String = agents
        .iter()
        .enumerate()
        .map(|(k, a)| format!(" WHEN {k} THEN '{a}'"))
        .collect();
    let n = agents.len();
    sqlx::query(&format!(
        "UPDATE conversations SET assignee_id = CASE number % {n}{case} END \
         WHERE status <> 'open' OR number % 2 = 0"
    ))
    .execute(pool)
    .await
    .expect("assign");
    state
        .store
        .refresh_statistics(&[
            "conversations",
            "messages",
            "customers",
            "identities",
            "conversation_tags",
            "conversation_events",
        ])
        .await
        .expect("analyze");
    println!(
        "  settled (resolved, assigned, analysed) in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

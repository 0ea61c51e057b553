//! A fetch of mail stored as one set (lookups and inserts for the whole batch) leaves exactly
//! what storing the same messages one after another leaves — also where they depend on each
//! other: a reply to a message of the same fetch, the same message twice, a sender new to the
//! fetch writing twice, a `[#number]` token of one's own conversation and of someone else's, a
//! reply reopening a resolved conversation, an auto-reply that does not.

use super::support::*;
use crate::helpers::*;
use serde_json::json;
use switchboard::channels::email::inbound::{self, Outcome};

/// A stored message: its conversation's number, status and last seq, then seq, Message-ID,
/// body and the conversation's customer.
type Row = (i64, String, i64, i64, Option<String>, String, String);

/// What a deployment holds after the messages: per conversation (by number) its status,
/// customer and messages in order, its history kinds; quarantined and customer counts.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let pool = app.state.store.pool();
    let msgs: Vec<Row> = sqlx::query_as(
        "SELECT c.number, c.status, c.last_seq, m.seq, m.external_id, m.body, \
           COALESCE((SELECT i.value FROM identities i WHERE i.customer_id = c.customer_id), \
             (SELECT name FROM customers WHERE id = c.customer_id)) \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         ORDER BY c.number, m.seq",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out: Vec<String> = msgs
        .into_iter()
        .map(|(n, status, last, seq, ext, body, who)| {
            format!("#{n} {status} last={last} of {who}: {seq} {ext:?} {body}")
        })
        .collect();
    let mut history: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT c.number, e.kind, e.actor_kind FROM conversation_events e \
         JOIN conversations c ON c.id = e.conversation_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    history.sort();
    out.extend(history.into_iter().map(|h| format!("{h:?}")));
    for sql in [
        "SELECT COUNT(*) FROM email_quarantine",
        "SELECT COUNT(*) FROM customers",
        "SELECT COUNT(*) FROM identities",
        "SELECT COUNT(*) FROM conversations",
    ] {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
        out.push(format!("{sql}: {n}"));
    }
    out
}

fn mail(from: &str, id: &str, extra: &[&str], subject: &str, body: &str) -> Vec<u8> {
    let mut headers = vec![
        format!("From: {from}"),
        format!("Message-ID: <{id}>"),
        format!("Subject: {subject}"),
    ];
    headers.extend(extra.iter().map(|h| h.to_string()));
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    eml(&refs, body)
}

/// Two conversations stored and resolved before the fetch: Ali's (#1000) and Dara's (#1001).
async fn before(app: &TestApp) {
    for (from, id) in [
        ("Ali <ali@example.ir>", "old-ali@example.ir"),
        ("Dara <dara@example.ir>", "old-dara@example.ir"),
    ] {
        let out = stored(app, &mail(from, id, &[], "old order", "قدیمی"), "").await;
        let conv = out["conversation_id"].as_str().unwrap();
        let (s, body) = app
            .patch(
                &format!("/api/v1/conversations/{conv}"),
                &app.admin_token,
                json!({"status": "resolved"}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::OK, "{body}");
    }
}

/// The fetch: eleven messages that depend on each other and on what was stored before.
fn fetch() -> Vec<Vec<u8>> {
    let ali = "Ali <ali@example.ir>";
    vec![
        mail(ali, "a1@example.ir", &[], "tracking 447812", "first"),
        mail(
            ali,
            "a2@example.ir",
            &["In-Reply-To: <a1@example.ir>"],
            "Re: tracking",
            "second",
        ),
        mail(ali, "a1@example.ir", &[], "tracking 447812", "first"),
        mail(
            "Bahar <bahar@example.ir>",
            "b1@example.ir",
            &["References: <a1@example.ir> <unknown@example.ir>"],
            "Re: tracking",
            "from a colleague",
        ),
        mail(
            ali,
            "a3@example.ir",
            &[],
            "Re: [#1000] old order",
            "still there?",
        ),
        mail(
            "Mallory <m@example.ir>",
            "m1@example.ir",
            &[],
            "[#1001] hi",
            "guessing",
        ),
        mail(
            "Dara <dara@example.ir>",
            "d1@example.ir",
            &[
                "In-Reply-To: <old-dara@example.ir>",
                "Auto-Submitted: auto-replied",
            ],
            "Out of office",
            "away",
        ),
        corpus("binary_garbage.eml"),
        corpus("from_no_address.eml"),
        mail("Sara <sara@example.ir>", "s1@example.ir", &[], "one", "یک"),
        mail("Sara <SARA@example.ir>", "s2@example.ir", &[], "two", "دو"),
    ]
}

fn kinds(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Stored {
                new_conversation, ..
            } => format!("stored new={new_conversation}"),
            Outcome::Duplicate { .. } => "duplicate".into(),
            Outcome::Quarantined { .. } => "quarantined".into(),
        })
        .collect()
}

async fn a_fetch_stored_as_one_set_leaves_what_storing_it_message_by_message_leaves(b: Backend) {
    let raws = fetch();
    let batched = spawn_app(b).await;
    before(&batched).await;
    // Stored in one transaction (without the fallback to one message at a time).
    let parsed: Vec<_> = raws.iter().map(|r| inbound::parse(r)).collect();
    let as_set = inbound::store_batch(&batched.state, None, &raws, &parsed, None)
        .await
        .expect("batch stored as one set");
    let one_by_one = spawn_app(b).await;
    before(&one_by_one).await;
    let mut each = Vec::new();
    for raw in &raws {
        each.push(inbound::ingest(&one_by_one.state, None, raw).await.unwrap());
    }
    assert_eq!(kinds(&as_set), kinds(&each));
    assert_eq!(
        kinds(&as_set),
        [
            "stored new=true",
            "stored new=false",
            "duplicate",
            "stored new=false",
            "stored new=false",
            "stored new=true",
            "stored new=false",
            "quarantined",
            "stored new=true",
            "stored new=true",
            "stored new=true",
        ]
    );
    let conv = |o: &Outcome| match o {
        Outcome::Stored {
            conversation_id, ..
        }
        | Outcome::Duplicate { conversation_id } => conversation_id.clone(),
        Outcome::Quarantined { .. } => String::new(),
    };
    // The reply, the repeat and the colleague's message join the first message's conversation.
    for k in [1, 2, 3] {
        assert_eq!(conv(&as_set[k]), conv(&as_set[0]), "message {k}");
    }
    let got = snapshot(&batched).await;
    assert_eq!(got, snapshot(&one_by_one).await);
    for expected in [
        // Ali's resolved conversation reopened by his [#1000] reply; Dara's auto-reply did not.
        "#1000 open last=2 of ali@example.ir: 2 Some(\"a3@example.ir\") still there?",
        "#1001 resolved last=2 of dara@example.ir: 2 Some(\"d1@example.ir\") away",
        "#1002 open last=3 of ali@example.ir: 3 Some(\"b1@example.ir\") from a colleague",
        // Mallory's guessed token opened a conversation of her own.
        "#1003 open last=1 of m@example.ir: 1 Some(\"m1@example.ir\") guessing",
        "(1000, \"status_changed\", \"customer\")",
        "SELECT COUNT(*) FROM email_quarantine: 1",
    ] {
        assert!(got.iter().any(|l| l == expected), "{expected}\n{got:#?}");
    }
    let sara: Vec<_> = got
        .iter()
        .filter(|l| l.contains("of sara@example.ir"))
        .collect();
    assert_eq!(sara.len(), 2, "{got:#?}");
}

crate::storage_tests!(a_fetch_stored_as_one_set_leaves_what_storing_it_message_by_message_leaves);

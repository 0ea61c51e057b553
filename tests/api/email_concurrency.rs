//! Concurrent deliveries: the same message pushed many times at once is stored once,
//! several first messages from one new sender make one customer, and pushes that share a
//! group commit (mixed mailboxes, garbage, repeats) each get their own answer.

use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;

async fn the_same_message_pushed_concurrently_is_stored_exactly_once(b: Backend) {
    let app = spawn_app(b).await;
    let raw = corpus("persian_utf8_plain.eml");
    let pushes = (0..8).map(|_| inbound(&app, &app.admin_token, &raw, ""));
    let results = futures::future::join_all(pushes).await;
    let stored: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .collect();
    let dups: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    assert_eq!(stored.len(), 1, "{results:?}");
    assert_eq!(dups.len(), 7, "{results:?}");
    let conv = stored[0].1["conversation_id"].clone();
    assert!(
        dups.iter().all(|(_, b)| b["conversation_id"] == conv),
        "{results:?}"
    );
    assert_eq!(messages(&app, conv.as_str().unwrap()).await.len(), 1);
}

async fn first_messages_from_one_new_sender_at_once_make_one_customer(b: Backend) {
    let app = spawn_app(b).await;
    let raws: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            eml(
                &[
                    "From: Nima <nima@example.ir>",
                    &format!("Subject: topic {i}"),
                    &format!("Message-ID: <nima-{i}@example.ir>"),
                ],
                "hello",
            )
        })
        .collect();
    let results =
        futures::future::join_all(raws.iter().map(|r| inbound(&app, &app.admin_token, r, "")))
            .await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::CREATED),
        "{results:?}"
    );
    let mut customers: Vec<String> = Vec::new();
    for (_, out) in &results {
        let c = conversation(&app, out["conversation_id"].as_str().unwrap()).await;
        customers.push(c["customer_id"].as_str().unwrap().to_string());
    }
    customers.dedup();
    assert_eq!(customers.len(), 1, "{customers:?}");
}

async fn concurrent_pushes_for_two_mailboxes_with_garbage_and_repeats_each_get_their_own_answer(
    b: Backend,
) {
    let app = spawn_app(b).await;
    let sales = mailbox(
        &app,
        serde_json::json!({"name": "Sales", "address": "sales@switchboard.example"}),
    )
    .await;
    let help = mailbox(
        &app,
        serde_json::json!({"name": "Help", "address": "help@switchboard.example"}),
    )
    .await;
    let mut pushes: Vec<(Vec<u8>, String)> = (0..12)
        .map(|i| {
            let mb = if i % 2 == 0 { &sales } else { &help };
            let raw = eml(
                &[
                    &format!("From: Sender {i} <sender{i}@example.ir>"),
                    &format!("Subject: question {i}"),
                    &format!("Message-ID: <q-{i}@example.ir>"),
                ],
                "سلام",
            );
            (raw, format!("?mailbox={mb}"))
        })
        .collect();
    pushes.push((corpus("binary_garbage.eml"), String::new()));
    let repeated = corpus("persian_utf8_plain.eml");
    for _ in 0..3 {
        pushes.push((repeated.clone(), format!("?mailbox={sales}")));
    }
    let results = futures::future::join_all(
        pushes
            .iter()
            .map(|(raw, q)| inbound(&app, &app.admin_token, raw, q)),
    )
    .await;
    let mut convs = std::collections::HashSet::new();
    for (i, (s, out)) in results.iter().take(12).enumerate() {
        assert_eq!(*s, StatusCode::CREATED, "push {i}: {out}");
        let conv = out["conversation_id"].as_str().unwrap();
        assert!(
            convs.insert(conv.to_string()),
            "push {i} got its own conversation"
        );
        let msgs = messages(&app, conv).await;
        assert_eq!(msgs.len(), 1, "push {i} stored once");
        let mb = if i % 2 == 0 { &sales } else { &help };
        assert_eq!(
            msgs[0]["meta"]["mailbox_id"],
            mb.as_str(),
            "push {i}: its mailbox"
        );
    }
    assert_eq!(results[12].0, StatusCode::ACCEPTED, "{:?}", results[12]);
    assert_eq!(results[12].1["status"], "quarantined");
    let repeats = &results[13..];
    let created = repeats
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let dups = repeats.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!((created, dups), (1, 2), "{repeats:?}");
    let conv = repeats[0].1["conversation_id"].as_str().unwrap();
    assert!(
        repeats.iter().all(|(_, o)| o["conversation_id"] == conv),
        "{repeats:?}"
    );
    assert_eq!(messages(&app, conv).await.len(), 1);
}

crate::storage_tests!(
    the_same_message_pushed_concurrently_is_stored_exactly_once,
    first_messages_from_one_new_sender_at_once_make_one_customer,
    concurrent_pushes_for_two_mailboxes_with_garbage_and_repeats_each_get_their_own_answer,
);

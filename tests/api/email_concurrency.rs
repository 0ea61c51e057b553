//! Concurrent deliveries: the same message pushed many times at once is stored once, and
//! several first messages from one new sender make one customer.

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

crate::storage_tests!(
    the_same_message_pushed_concurrently_is_stored_exactly_once,
    first_messages_from_one_new_sender_at_once_make_one_customer,
);

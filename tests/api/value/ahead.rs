//! Customers found by identity ahead of an import batch's transaction (`Owners::read`, while
//! the previous batch is written) are used only while no identity has left its customer
//! since: a merge or an identity's removal in between sends the batch back to finding them
//! itself.
use super::*;
use crate::storage_tests;
use switchboard::customers::owners::Owners;
use switchboard::orders::resolve_identities_ahead;

const A: &str = "a@example.com";

/// A server with customers a and b, each with one imported order; their ids.
async fn two_customers(b: Backend) -> (TestApp, String, String) {
    let app = value_app(b).await;
    let csv = "customer,external_id,amount,placed_at\n\
        a@example.com,i-1,10,2026-01-02\n\
        b@example.com,i-2,20,2026-01-03\n";
    let (s, report) = import(&app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let a = customer_id(&app, A).await;
    let bee = customer_id(&app, "b@example.com").await;
    (app, a, bee)
}

/// `A`'s owners as read ahead now.
async fn read_ahead(app: &TestApp) -> Owners {
    Owners::read(&app.state.store, &[("email", A)])
        .await
        .unwrap()
}

/// The customer a batch holding `A` goes to, given what was read ahead.
async fn owner_in_batch(app: &TestApp, ahead: Owners) -> String {
    let wanted = vec![("email".to_string(), A.to_string(), A.to_string())];
    let mut tx = app.state.store.begin().await.unwrap();
    let found = resolve_identities_ahead(&mut tx, &wanted, Some(ahead))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    found[&("email".to_string(), A.to_string())].clone()
}

async fn owners_read_ahead_are_used_while_no_identity_left_its_customer(b: Backend) {
    let (app, a, bee) = two_customers(b).await;
    let ahead = read_ahead(&app).await;
    assert_eq!(ahead.found.get(&("email".into(), A.into())), Some(&a));
    // Changed behind the server's back, the epoch its trigger moved put back: the batch
    // keeps what it read ahead rather than looking the identity up again.
    let pool = app.state.store.pool();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("UPDATE identities SET customer_id = $1 WHERE value = $2")
        .bind(&bee)
        .bind(A)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE identity_epoch SET n = n - 1")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(owner_in_batch(&app, ahead).await, a);
}

async fn a_merge_after_the_read_ahead_sends_the_orders_to_the_merged_profile(b: Backend) {
    let (app, a, bee) = two_customers(b).await;
    let ahead = read_ahead(&app).await;
    merge(&app, &bee, &a).await;
    assert_eq!(owner_in_batch(&app, ahead).await, bee);
}

async fn an_identity_removed_after_the_read_ahead_is_not_its_old_owners(b: Backend) {
    let (app, a, _) = two_customers(b).await;
    let ahead = read_ahead(&app).await;
    let (s, profile) = app
        .get(&format!("/api/v1/customers/{a}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{profile}");
    let identity = profile["identities"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .delete(
            &format!("/api/v1/customers/{a}/identities/{identity}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let owner = owner_in_batch(&app, ahead).await;
    assert_ne!(
        owner, a,
        "a new customer for an address nobody holds any more"
    );
    assert_eq!(customer_id(&app, A).await, owner);
}

storage_tests!(
    owners_read_ahead_are_used_while_no_identity_left_its_customer,
    a_merge_after_the_read_ahead_sends_the_orders_to_the_merged_profile,
    an_identity_removed_after_the_read_ahead_is_not_its_old_owners,
);

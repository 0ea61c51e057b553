//! Merging two customer profiles that turn out to be one person.

use super::routes::not_found;
use super::{get, get_with, update_profile, Customer, Profile};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::events;
use crate::state::AppState;
use crate::store::now_ms;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The profile to fold into the one in the path; it is kept, marked `merged_into`.
    pub source_id: String,
}

/// Merge `source_id` into `{id}`: identities and conversations move, attributes are combined
/// (the target's win), the higher tier wins, and nothing is deleted.
#[utoipa::path(post, path = "/customers/{id}/merge", tag = "customers", request_body = MergeRequest, responses((status = 200, body = Customer), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn merge_customers(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> ApiResult<Json<Customer>> {
    caller.require(Role::Agent, "customers")?;
    if req.source_id == id {
        return Err(ApiError::invalid(
            "invalid_merge",
            "cannot merge a customer into itself",
        ));
    }
    let (actor_kind, actor_id) = caller.actor();
    let mut tx = state.store.begin().await?;
    let target = get_with(tx.conn(), &id).await.map_err(not_found)?;
    let source = get_with(tx.conn(), &req.source_id)
        .await
        .map_err(not_found)?;
    if target.merged_into.is_some() || source.merged_into.is_some() {
        return Err(ApiError::Conflict(
            "one of these customers was already merged".into(),
        ));
    }
    // The shared profile of callers with withheld numbers is not a person: merging it would
    // move its reserved identity, and every later anonymous call, onto a real customer.
    let shared = |c: &Customer| c.identities.iter().any(|i| i.kind == super::ANONYMOUS_KIND);
    if shared(&target) || shared(&source) {
        return Err(ApiError::Conflict(
            "the shared anonymous-caller profile cannot be merged".into(),
        ));
    }
    let now = now_ms();
    let mut attributes = source.attributes.clone();
    if let (Some(a), Some(t)) = (attributes.as_object_mut(), target.attributes.as_object()) {
        for (k, v) in t {
            a.insert(k.clone(), v.clone());
        }
    }
    let tier = if target.tier == "standard" {
        source.tier.clone()
    } else {
        target.tier.clone()
    };
    let name = target.name.clone().or(source.name.clone());
    let language = target.language.clone().or(source.language.clone());
    let profile = Profile {
        name: name.as_deref(),
        language: language.as_deref(),
        tier: &tier,
        attributes: &attributes,
    };
    update_profile(&mut tx, &id, &profile).await?;
    sqlx::query("UPDATE identities SET customer_id = $1 WHERE customer_id = $2")
        .bind(&id)
        .bind(&source.id)
        .execute(tx.conn())
        .await?;
    crate::orders::move_customer(
        &mut tx,
        &source.id,
        &id,
        &state.settings.value.default_currency,
    )
    .await?;
    crate::conversations::ledger::record_merged(
        &mut tx, &source.id, &id, actor_kind, &actor_id, now,
    )
    .await?;
    sqlx::query("UPDATE conversations SET customer_id = $1 WHERE customer_id = $2")
        .bind(&id)
        .bind(&source.id)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE customers SET merged_into = $1, updated_at = $2 WHERE id = $3")
        .bind(&id)
        .bind(now)
        .bind(&source.id)
        .execute(tx.conn())
        .await?;
    // Profiles previously merged into the source now point at the target.
    sqlx::query("UPDATE customers SET merged_into = $1 WHERE merged_into = $2")
        .bind(&id)
        .bind(&source.id)
        .execute(tx.conn())
        .await?;
    let mut ev = events::new_event(
        "customer.merged",
        serde_json::json!({ "source_id": source.id }),
    );
    ev.customer_id = Some(id.clone());
    events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(Json(get(&state.store, &id).await?))
}

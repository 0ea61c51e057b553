//! Merging two customer profiles that turn out to be one person.

use super::{get_with, update_profile, Customer, Profile};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::events;
use crate::state::AppState;
use crate::store::now_ms;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::{IntoParams, ToSchema};

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
    let (actor_kind, actor_id) = caller.actor();
    let mut tx = state.store.begin().await?;
    let (target, source) = pair(tx.conn(), &id, &req.source_id).await?;
    let now = now_ms();
    let plan = Combined::of(&target, &source);
    let profile = Profile {
        name: plan.name.as_deref(),
        language: plan.language.as_deref(),
        tier: &plan.tier,
        attributes: &plan.attributes,
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
    Ok(Json(super::whole(&state, &id).await?))
}

/// Both profiles of a merge, checked: different, neither merged already, neither the shared
/// anonymous-caller profile.
async fn pair(
    conn: &mut AnyConnection,
    id: &str,
    source_id: &str,
) -> ApiResult<(Customer, Customer)> {
    if source_id == id {
        return Err(ApiError::invalid(
            "invalid_merge",
            "cannot merge a customer into itself",
        ));
    }
    let target = get_with(&mut *conn, id)
        .await
        .map_err(ApiError::missing("customer"))?;
    let source = get_with(&mut *conn, source_id)
        .await
        .map_err(ApiError::missing("customer"))?;
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
    Ok((target, source))
}

/// The profile a merge leaves: the target's name, language and attributes win, the higher
/// tier wins; `overridden` lists the source's attributes the target's values replace.
#[derive(Debug, Serialize, ToSchema)]
pub struct Combined {
    pub name: Option<String>,
    pub language: Option<String>,
    pub tier: String,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub overridden: Vec<String>,
}

impl Combined {
    fn of(target: &Customer, source: &Customer) -> Combined {
        let mut attributes = source.attributes.clone();
        let mut overridden = Vec::new();
        if let (Some(a), Some(t)) = (attributes.as_object_mut(), target.attributes.as_object()) {
            for (k, v) in t {
                if a.get(k).is_some_and(|old| old != v) {
                    overridden.push(k.clone());
                }
                a.insert(k.clone(), v.clone());
            }
        }
        let tier = if target.tier == "standard" {
            source.tier.clone()
        } else {
            target.tier.clone()
        };
        Combined {
            name: target.name.clone().or(source.name.clone()),
            language: target.language.clone().or(source.language.clone()),
            tier,
            attributes,
            overridden,
        }
    }
}

/// What merging `source_id` into `{id}` would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergePreview {
    pub target: Customer,
    pub source: Customer,
    /// The profile after the merge.
    pub result: Combined,
    /// What moves from the source to the target.
    pub moves: MergeMoves,
}

/// Counts and identities that move in a merge.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeMoves {
    pub conversations: i64,
    pub orders: i64,
    pub identities: Vec<super::Identity>,
}

/// Query of the merge preview.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The profile that would be folded into the one in the path.
    pub source_id: String,
}

/// Preview a merge: the resulting profile and what would move; nothing is changed.
#[utoipa::path(get, path = "/customers/{id}/merge-preview", tag = "customers", params(PreviewQuery), responses((status = 200, body = MergePreview), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn merge_preview(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> ApiResult<Json<MergePreview>> {
    caller.require(Role::Agent, "customers")?;
    let mut conn = state.store.pool().acquire().await?;
    let (target, source) = pair(&mut conn, &id, &q.source_id).await?;
    let count = |sql: &'static str| sqlx::query_as::<_, (i64,)>(sql).bind(source.id.clone());
    let (conversations,) = count("SELECT COUNT(*) FROM conversations WHERE customer_id = $1")
        .fetch_one(&mut *conn)
        .await?;
    let (orders,) = count("SELECT COUNT(*) FROM customer_orders WHERE customer_id = $1")
        .fetch_one(&mut *conn)
        .await?;
    let result = Combined::of(&target, &source);
    let moves = MergeMoves {
        conversations,
        orders,
        identities: source.identities.clone(),
    };
    Ok(Json(MergePreview {
        target,
        source,
        result,
        moves,
    }))
}

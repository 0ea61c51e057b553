//! `/customers`, identities, merge and timeline routes.

use super::{
    add_identity, get, insert, normalise_identity, update_profile, whole, with_value, Customer,
    CustomerRow, ListParams, Profile, COLS, IDENTITY_KINDS,
};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::events;
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{bulk, dialect, fulltext, StoreError};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(add_identity_route))
        .routes(routes!(delete_identity))
        .routes(routes!(super::merge::merge_customers))
        .routes(routes!(super::merge::merge_preview))
        .routes(routes!(super::timeline::customer_timeline))
}

/// List or search customers (merged-away profiles are left out).
#[utoipa::path(get, path = "/customers", tag = "customers", params(ListParams), responses((status = 200, body = Page<Customer>)))]
async fn list_customers(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Customer>>> {
    caller.require(Role::Agent, "customers")?;
    if p.segment.is_some() || p.sort.is_some() {
        return crate::value::routes::list_by_value(&state, &p)
            .await
            .map(Json);
    }
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let before = match &p.cursor {
        Some(c) => decode_cursor(c)?,
        None => String::new(),
    };
    let q = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let rows: Vec<CustomerRow> = match q {
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLS} FROM customers WHERE merged_into IS NULL AND ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2"
            ))
            .bind(&before)
            .bind((limit + 1) as i64)
            .fetch_all(state.store.pool())
            .await?
        }
        Some(q) => search_rows(&state, q, &before, limit + 1).await?,
    };
    let mut conn = state.store.pool().acquire().await?;
    let items = super::hydrate(&mut conn, state.store.backend(), rows).await?;
    Ok(Json(finish(items, limit, |c: &Customer| c.id.clone())))
}

/// Customers whose folded name or an identity contains `q` (or whose phone starts with `q`), newest
/// first, ids below `before` (`""`: from the newest); at most `limit`.
pub(crate) async fn search_rows(
    state: &AppState,
    q: &str,
    before: &str,
    limit: usize,
) -> ApiResult<Vec<CustomerRow>> {
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("too_long", "query too long"));
    }
    let exact = exact_rows(state, q, before, limit).await?;
    if !exact.is_empty() {
        return Ok(exact);
    }
    // A whole number, or the start of one as typed (`۰۹۱۲` → numbers starting `+98912`).
    let region = &state.settings.text.default_region;
    let phone = switchboard_text::PhoneNumber::parse(q, region)
        .map(|p| p.into_string())
        .ok()
        .or_else(|| switchboard_text::phone_search_prefix(q, region));
    let folded = switchboard_text::search_fold(q);
    let backend = state.store.backend();
    let (matching, [text, prefix]) = fulltext::customer_ids(backend, &folded, phone.as_deref());
    // The newest matching ids first, then their rows. As one statement PostgreSQL walked the
    // customers backwards until it met the matches: the 450,000 newest (chat visitors) before
    // the first «Reza Karimi», 300 ms. Merged-away customers are left out after the cut, so
    // a page short of them reads the next ids (rarely needed).
    let ids_sql = format!(
        "SELECT id FROM ({matching}) m WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $4"
    );
    let rows_sql = format!(
        "SELECT {COLS} FROM customers WHERE merged_into IS NULL AND id {} ORDER BY id DESC",
        dialect::in_json_list(backend, 1, None)
    );
    let mut out: Vec<CustomerRow> = Vec::new();
    let mut before = before.to_string();
    while out.len() < limit {
        let ids: Vec<String> = sqlx::query_scalar(&ids_sql)
            .bind(&before)
            .bind(&text)
            .bind(&prefix)
            .bind(limit as i64)
            .fetch_all(state.store.pool())
            .await?;
        let Some(last) = ids.last().cloned() else {
            break;
        };
        let rows: Vec<CustomerRow> = sqlx::query_as(&rows_sql)
            .bind(bulk::json_param(&ids)?)
            .fetch_all(state.store.pool())
            .await?;
        out.extend(rows);
        if ids.len() < limit {
            break;
        }
        before = last;
    }
    out.truncate(limit);
    Ok(out)
}

/// The owner of the identity `q` names exactly — a whole email address or phone number, in any
/// digits — found by one probe of the `(kind, value)` index; empty when `q` is neither or
/// nobody owns it (the caller then searches by substring).
async fn exact_rows(
    state: &AppState,
    q: &str,
    before: &str,
    limit: usize,
) -> ApiResult<Vec<CustomerRow>> {
    let region = &state.settings.text.default_region;
    let key = if q.contains('@') {
        super::normalise_identity("email", q, region).map(|v| ("email", v))
    } else {
        super::normalise_identity("phone", q, region).map(|v| ("phone", v))
    };
    let Ok((kind, value)) = key else {
        return Ok(Vec::new());
    };
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM customers WHERE merged_into IS NULL AND ($1 = '' OR id < $1) AND \
           id IN (SELECT customer_id FROM identities WHERE kind = $2 AND value = $3) \
         ORDER BY id DESC LIMIT $4"
    ))
    .bind(before)
    .bind(kind)
    .bind(value)
    .bind(limit as i64)
    .fetch_all(state.store.pool())
    .await?)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    pub kind: String,
    pub value: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub name: Option<String>,
    pub language: Option<String>,
    pub tier: Option<String>,
    /// Custom attributes (a JSON object; PATCH merges keys, `null` values delete them).
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
    #[serde(default)]
    pub identities: Vec<IdentityInput>,
}

fn check_tier(t: &str) -> ApiResult<String> {
    validate::labels("tier", &[t.to_string()]).map(|mut v| v.remove(0))
}

fn check_attributes(v: &serde_json::Value) -> ApiResult<()> {
    if !v.is_object() {
        return Err(ApiError::invalid(
            "invalid_field",
            "`attributes` must be a JSON object",
        ));
    }
    if v.to_string().len() > 64 * 1024 {
        return Err(ApiError::invalid(
            "too_long",
            "`attributes` must be under 64 KiB",
        ));
    }
    Ok(())
}

fn identity_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => {
            ApiError::Conflict("this identity already belongs to a customer".into())
        }
        o => o.into(),
    }
}

/// Create a customer, optionally with identities.
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = CustomerInput, responses((status = 201, body = Customer), (status = 409, body = crate::error::ErrorBody)))]
async fn create_customer(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CustomerInput>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    caller.require(Role::Agent, "customers")?;
    let max = state.settings.limits.max_name_chars;
    let name = req
        .name
        .as_deref()
        .map(|n| validate::name("name", n, max))
        .transpose()?;
    let language = req.language.as_deref().map(check_tier).transpose()?;
    let tier = check_tier(req.tier.as_deref().unwrap_or("standard"))?;
    let attributes = req.attributes.unwrap_or_else(|| serde_json::json!({}));
    check_attributes(&attributes)?;
    let region = &state.settings.text.default_region;
    let mut idents = Vec::new();
    for i in &req.identities {
        idents.push((
            i.kind.clone(),
            normalise_identity(&i.kind, &i.value, region)?,
            i.value.trim().to_string(),
        ));
    }
    let mut tx = state.store.begin().await?;
    let id = insert(
        &mut tx,
        name.as_deref(),
        language.as_deref(),
        &tier,
        &attributes.to_string(),
    )
    .await?;
    for (kind, value, raw) in &idents {
        add_identity(&mut tx, &id, kind, value, raw)
            .await
            .map_err(identity_conflict)?;
    }
    let mut ev = events::new_event("customer.created", serde_json::json!({}));
    ev.customer_id = Some(id.clone());
    events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok((StatusCode::CREATED, Json(whole(&state, &id).await?)))
}

/// One customer with identities and contact figures.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers", responses((status = 200, body = Customer), (status = 404, body = crate::error::ErrorBody)))]
async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Customer>> {
    caller.require(Role::Agent, "customers")?;
    let customer = get(&state.store, &id)
        .await
        .map_err(ApiError::missing("customer"))?;
    Ok(Json(with_value(&state, customer).await?))
}

/// Update name, language, tier or attributes.
#[utoipa::path(patch, path = "/customers/{id}", tag = "customers", request_body = CustomerInput, responses((status = 200, body = Customer)))]
async fn update_customer(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CustomerInput>,
) -> ApiResult<Json<Customer>> {
    caller.require(Role::Agent, "customers")?;
    if !req.identities.is_empty() {
        return Err(ApiError::invalid(
            "invalid_field",
            "use the identities endpoints to change identities",
        ));
    }
    let cur = get(&state.store, &id)
        .await
        .map_err(ApiError::missing("customer"))?;
    let max = state.settings.limits.max_name_chars;
    let name = match &req.name {
        Some(n) if n.trim().is_empty() => None,
        Some(n) => Some(validate::name("name", n, max)?),
        None => cur.name.clone(),
    };
    let language = match &req.language {
        Some(l) if l.trim().is_empty() => None,
        Some(l) => Some(check_tier(l)?),
        None => cur.language.clone(),
    };
    let tier = match &req.tier {
        Some(t) => check_tier(t)?,
        None => cur.tier.clone(),
    };
    let mut attributes = cur.attributes.clone();
    if let Some(patch) = &req.attributes {
        check_attributes(patch)?;
        let obj = attributes
            .as_object_mut()
            .expect("stored attributes are an object");
        for (k, v) in patch.as_object().expect("checked") {
            if v.is_null() {
                obj.remove(k);
            } else {
                obj.insert(k.clone(), v.clone());
            }
        }
        check_attributes(&attributes)?;
    }
    let mut tx = state.store.begin().await?;
    let profile = Profile {
        name: name.as_deref(),
        language: language.as_deref(),
        tier: &tier,
        attributes: &attributes,
    };
    update_profile(&mut tx, &id, &profile).await?;
    let mut ev = events::new_event("customer.updated", serde_json::json!({ "tier": tier }));
    ev.customer_id = Some(id.clone());
    events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(Json(whole(&state, &id).await?))
}

/// Add an identity (email, phone, visitor, external) to a customer.
#[utoipa::path(post, path = "/customers/{id}/identities", tag = "customers", request_body = IdentityInput, responses((status = 201, body = Customer), (status = 409, body = crate::error::ErrorBody)))]
async fn add_identity_route(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<IdentityInput>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    caller.require(Role::Agent, "customers")?;
    if !IDENTITY_KINDS.contains(&req.kind.as_str()) {
        return Err(ApiError::invalid(
            "invalid_identity_kind",
            "kind must be email, phone, visitor or external",
        ));
    }
    let value = normalise_identity(&req.kind, &req.value, &state.settings.text.default_region)?;
    let cur = get(&state.store, &id)
        .await
        .map_err(ApiError::missing("customer"))?;
    if cur.merged_into.is_some() {
        return Err(ApiError::Conflict(
            "this customer was merged into another".into(),
        ));
    }
    let mut tx = state.store.begin().await?;
    add_identity(&mut tx, &id, &req.kind, &value, req.value.trim())
        .await
        .map_err(identity_conflict)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(whole(&state, &id).await?)))
}

/// Remove an identity from a customer.
#[utoipa::path(delete, path = "/customers/{id}/identities/{identity_id}", tag = "customers", responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_identity(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, identity_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Agent, "customers")?;
    let res = sqlx::query("DELETE FROM identities WHERE id = $1 AND customer_id = $2")
        .bind(&identity_id)
        .bind(&id)
        .execute(state.store.pool())
        .await?;
    if res.rows_affected() == 0 {
        return Err(ApiError::NotFound("identity"));
    }
    Ok(StatusCode::NO_CONTENT)
}

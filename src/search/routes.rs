//! `GET /search`: conversations whose subject or messages contain every word of `q` (best
//! matches first, each with a highlighted snippet), and customers whose names or identities
//! match, with the conversation filters of `/conversations`.

use super::rank::{self, Hit};
use crate::auth::{Caller, Role};
use crate::conversations::{Conversation, ConversationRow, COLS, STATUSES};
use crate::customers::Customer;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, encode_cursor, page_size};
use crate::state::AppState;
use crate::store::{dialect, fulltext, Backend};
use crate::validate;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find (Persian/Arabic letter forms, digits and ZWNJ folded; whole words).
    pub q: String,
    pub status: Option<String>,
    pub channel: Option<String>,
    pub queue: Option<String>,
    /// An agent id, `me`, or `none` for unassigned.
    pub assignee: Option<String>,
    pub customer: Option<String>,
    /// Conversations created on or after this date (`YYYY-MM-DD`) or instant (RFC 3339).
    pub from: Option<String>,
    /// Conversations created before the end of this date, or before this instant.
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A conversation found by search.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationHit {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// The best-matching message (or the subject), HTML-escaped, matches in `<mark>`.
    pub snippet: String,
    /// The message the snippet comes from (`null` when it is the subject).
    pub message_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    pub conversations: Vec<ConversationHit>,
    /// Matching customers (first page only).
    pub customers: Vec<Customer>,
    /// Pass as `?cursor=` for more conversations; `null` on the last page.
    pub next_cursor: Option<String>,
}

struct HitRow {
    conversation: ConversationRow,
    message_id: Option<String>,
}

/// Search conversations (subjects, messages, notes) and customers.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResult), (status = 422, body = crate::error::ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchResult>> {
    caller.require(Role::Agent, "conversations")?;
    let q = p.q.trim();
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("too_long", "query too long"));
    }
    let terms = super::terms(q);
    if terms.is_empty() {
        return Err(ApiError::invalid(
            "invalid_query",
            "`q` needs at least one word",
        ));
    }
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let offset: usize = match &p.cursor {
        Some(c) => decode_cursor(c)?
            .parse()
            .map_err(|_| ApiError::BadRequest("invalid cursor".into()))?,
        None => 0,
    };
    let backend = state.store.backend();
    let scope = crate::teams::Scope::of(&state.store, &caller).await?;
    let ranked = state.settings.limits.search_ranked_matches.max(1);
    let (sql, binds) = hits_query(&p, &caller, &scope, backend, &terms, ranked)?;
    let mut tx = state.store.pool().begin().await?;
    let weights = weights(&mut tx, backend, &terms).await?;
    fulltext::choose_plan(&mut tx, backend, &fulltext::match_param(backend, &terms)).await?;
    let mut query = sqlx::query_as::<_, Hit>(&sql);
    for b in &binds {
        query = query.bind(b);
    }
    let hits = query.fetch_all(&mut *tx).await?;
    tx.rollback().await?;
    let mut best = rank::best_per_conversation(hits, &terms, &weights)
        .into_iter()
        .skip(offset)
        .take(limit + 1)
        .collect::<Vec<_>>();
    let next_cursor = (best.len() > limit).then(|| encode_cursor(&(offset + limit).to_string()));
    best.truncate(limit);
    let rows = conversation_rows(&state, backend, best).await?;
    let conversations = with_snippets(&state, backend, rows, &terms).await?;
    let customers = match p.cursor {
        Some(_) => Vec::new(),
        None => {
            let rows = crate::customers::routes::search_rows(&state, q, "", 10).await?;
            let mut conn = state.store.pool().acquire().await?;
            crate::customers::hydrate(&mut conn, backend, rows).await?
        }
    };
    Ok(Json(SearchResult {
        conversations,
        customers,
        next_cursor,
    }))
}

/// The statement finding the newest matching messages and subjects of conversations passing
/// the filters, and its bind values (`$1` is the match expression).
fn hits_query(
    p: &SearchParams,
    caller: &Caller,
    scope: &crate::teams::Scope,
    backend: Backend,
    terms: &[String],
    ranked: usize,
) -> ApiResult<(String, Vec<String>)> {
    let mut binds = vec![fulltext::match_param(backend, terms)];
    let mut filter = String::new();
    let mut add = |clause: &str, value: Option<String>| match value {
        Some(v) => {
            binds.push(v);
            filter.push_str(&clause.replace('?', &format!("${}", binds.len())));
        }
        None => filter.push_str(clause),
    };
    if let Some(s) = &p.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::invalid(
                "invalid_status",
                "status must be open, pending, resolved or closed",
            ));
        }
        add(" AND c.status = ?", Some(s.clone()));
    }
    if let Some(c) = &p.channel {
        add(" AND c.channel = ?", Some(validate::channel(c)?));
    }
    if let Some(q) = &p.queue {
        add(" AND c.queue_id = ?", Some(q.clone()));
    }
    match p.assignee.as_deref() {
        None => {}
        Some("none") => add(" AND c.assignee_id IS NULL", None),
        Some("me") => add(
            " AND c.assignee_id = ?",
            Some(caller.require_role(Role::Agent)?.id.clone()),
        ),
        Some(a) => add(" AND c.assignee_id = ?", Some(a.to_string())),
    }
    if let Some(c) = &p.customer {
        add(" AND c.customer_id = ?", Some(c.clone()));
    }
    if let Some(f) = &p.from {
        add(
            " AND c.created_at >= CAST(? AS BIGINT)",
            Some(bound("from", f, false)?.to_string()),
        );
    }
    if let Some(t) = &p.to {
        add(
            " AND c.created_at < CAST(? AS BIGINT)",
            Some(bound("to", t, true)?.to_string()),
        );
    }
    scope.restrict(backend, "c.", &mut filter, &mut binds);
    Ok((fulltext::hits_sql(backend, &filter, ranked), binds))
}

/// Each term's weight in ranking: how many messages hold it, counted up to
/// [`rank::DF_CAP`]. A single term's weight orders nothing, so it is not counted.
async fn weights(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    terms: &[String],
) -> ApiResult<Vec<f64>> {
    if terms.len() < 2 {
        return Ok(vec![1.0; terms.len()]);
    }
    let mut out = Vec::with_capacity(terms.len());
    for t in terms {
        let n = count(tx, backend, std::slice::from_ref(t)).await?;
        out.push(rank::weight(n));
    }
    Ok(out)
}

/// How many messages hold every one of `terms`, counted up to [`rank::DF_CAP`] through the
/// full-text index; a word the database's statistics know as common is not counted.
async fn count(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    terms: &[String],
) -> ApiResult<u32> {
    let param = fulltext::match_param(backend, terms);
    if fulltext::choose_plan(tx, backend, &param).await? == fulltext::Plan::Newest {
        return Ok(rank::DF_CAP);
    }
    let n: i64 = sqlx::query_scalar(&fulltext::capped_count_sql(backend, rank::DF_CAP))
        .bind(param)
        .fetch_one(&mut **tx)
        .await?;
    Ok(u32::try_from(n).unwrap_or(rank::DF_CAP))
}

/// The conversations of a page of best hits, in the hits' order, each with the message its
/// snippet comes from.
async fn conversation_rows(
    state: &AppState,
    backend: Backend,
    best: Vec<Hit>,
) -> ApiResult<Vec<HitRow>> {
    if best.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = best.iter().map(|h| h.conversation_id.as_str()).collect();
    let sql = format!(
        "SELECT {COLS} FROM conversations WHERE id {}",
        dialect::in_json_list(backend, 1, None)
    );
    let mut found: HashMap<String, ConversationRow> = sqlx::query_as::<_, ConversationRow>(&sql)
        .bind(serde_json::to_string(&ids).map_err(|e| ApiError::Internal(e.into()))?)
        .fetch_all(state.store.pool())
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    Ok(best
        .into_iter()
        .filter_map(|h| {
            found.remove(&h.conversation_id).map(|conversation| HitRow {
                conversation,
                message_id: h.message_id,
            })
        })
        .collect())
}

/// Unix milliseconds of a `from`/`to` bound: a date (its start, or for `to` the next day's
/// start) or an RFC 3339 instant.
fn bound(field: &'static str, s: &str, end_of_day: bool) -> ApiResult<i64> {
    use time::format_description::well_known::Rfc3339;
    let invalid = || {
        ApiError::invalid(
            "invalid_date",
            format!("`{field}` must be a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    };
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let date = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| invalid())?;
    let date = if end_of_day {
        date.next_day().ok_or_else(invalid)?
    } else {
        date
    };
    Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// The conversations of `rows` with a snippet of their best-matching message (one query for
/// all the messages and one for all the tags).
async fn with_snippets(
    state: &AppState,
    backend: Backend,
    rows: Vec<HitRow>,
    terms: &[String],
) -> ApiResult<Vec<ConversationHit>> {
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.message_id.as_deref())
        .collect();
    let mut conn = state.store.pool().acquire().await?;
    let bodies: HashMap<String, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (String, String)>(&format!(
            "SELECT id, body FROM messages WHERE id IN (SELECT value FROM {})",
            dialect::json_values_on(backend)
        ))
        .bind(serde_json::to_string(&ids).map_err(|e| ApiError::Internal(e.into()))?)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect()
    };
    let conv_ids: Vec<String> = rows.iter().map(|r| r.conversation.id.clone()).collect();
    let mut tags = crate::conversations::tags_of(&mut conn, backend, &conv_ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let text = match &r.message_id {
                Some(m) => bodies.get(m).map(String::as_str).unwrap_or(""),
                None => r.conversation.subject.as_str(),
            };
            let snippet = super::snippet(text, terms);
            let t = tags.remove(&r.conversation.id).unwrap_or_default();
            ConversationHit {
                conversation: r.conversation.into_model(t),
                snippet,
                message_id: r.message_id,
            }
        })
        .collect())
}

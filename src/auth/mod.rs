//! Authentication and authorisation: argon2 password hashes, opaque session and API tokens
//! (stored only as SHA-256 hashes), and the [`Caller`] extractor that every route uses.

pub mod cache;
mod caller;
pub mod guard;
pub mod hash_pool;
pub mod origin;
pub mod routes;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::now_ms;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
pub use cache::REVOKED;
pub use caller::{AgentRef, Caller, Role};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Name of the session cookie set at login.
pub const SESSION_COOKIE: &str = "sb_session";

/// Hash a password with argon2id and a random salt (CPU-heavy: call from a blocking task).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Check a password against a stored argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let mut memory = Vec::new();
    verify_password_with(&mut memory, password, hash)
}

/// [`verify_password`] in caller-provided working memory (grown to the hash's memory cost and
/// kept): argon2 needs 19 MiB per check, and allocating it afresh for every login let the
/// allocator's per-thread arenas keep hundreds of MiB after a burst of logins.
pub fn verify_password_with(memory: &mut Vec<argon2::Block>, password: &str, hash: &str) -> bool {
    use argon2::{Algorithm, Params, Version};
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), argon2::Block::default());
    }
    let blocks = params.block_count();
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// Hash a password on the blocking pool.
pub async fn hash_password_async(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::Internal)
}

/// A new random opaque token (256 bits, URL-safe).
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How tokens are stored: only their SHA-256, so a database leak reveals no usable token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Find the raw token in `Authorization: Bearer …` or the session cookie.
pub fn token_from_parts(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        return v
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
    }
    for v in parts.headers.get_all(axum::http::header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == SESSION_COOKIE && !val.is_empty() {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    kind: String,
    name: Option<String>,
    scopes: String,
    agent_id: Option<String>,
    email: Option<String>,
    agent_name: Option<String>,
    role: Option<String>,
    active: Option<i64>,
    expires_at: Option<i64>,
}

/// Resolve a raw token to a caller, or `None` when unknown, expired, revoked or inactive.
/// A caller resolved lately is taken from [`cache::TokenCache`].
pub async fn resolve_token(state: &AppState, token: &str) -> ApiResult<Option<Caller>> {
    let hash = token_hash(token);
    if let Some(caller) = state.tokens.get(&hash) {
        return Ok(Some(caller));
    }
    let generation = state.tokens.generation();
    let Some((caller, expires_at)) = read_token(state, &hash).await? else {
        return Ok(None);
    };
    let expires_in = expires_at.map(|at| Duration::from_millis((at - now_ms()).max(0) as u64));
    state
        .tokens
        .put(generation, hash, caller.clone(), expires_in);
    Ok(Some(caller))
}

/// [`resolve_token`] read from the database past any kept caller (a console's heartbeat,
/// which must notice a revocation whose bus event this node missed).
pub async fn resolve_token_fresh(state: &AppState, token: &str) -> ApiResult<Option<Caller>> {
    Ok(read_token(state, &token_hash(token))
        .await?
        .map(|(caller, _)| caller))
}

/// The caller of the token with `hash` and when the token expires, if it is valid.
async fn read_token(state: &AppState, hash: &str) -> ApiResult<Option<(Caller, Option<i64>)>> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT t.id, t.kind, t.name, t.scopes, t.agent_id, a.email, a.name AS agent_name, \
                a.role, a.active, t.expires_at \
         FROM auth_tokens t LEFT JOIN agents a ON a.id = t.agent_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
           AND (t.expires_at IS NULL OR t.expires_at > $2)",
    )
    .bind(hash)
    .bind(now_ms())
    .fetch_optional(state.store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.kind == "api" {
        let scopes: Vec<String> = serde_json::from_str(&row.scopes).unwrap_or_default();
        let caller = Caller::Integration {
            token_id: row.id,
            name: row.name.unwrap_or_default(),
            scopes,
        };
        return Ok(Some((caller, row.expires_at)));
    }
    match (
        row.agent_id,
        row.email,
        row.agent_name,
        row.role,
        row.active,
    ) {
        (Some(id), Some(email), Some(name), Some(role), Some(1)) => {
            let role = Role::parse(&role).unwrap_or(Role::Agent);
            let agent = AgentRef {
                id,
                email,
                name,
                role,
            };
            let caller = Caller::Agent {
                agent,
                token_id: row.id,
            };
            Ok(Some((caller, row.expires_at)))
        }
        _ => Ok(None),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = token_from_parts(parts).ok_or(ApiError::Unauthorized)?;
        resolve_token(state, &token)
            .await?
            .ok_or(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_verified_in_reused_memory() {
        let hash = hash_password("correct horse").unwrap();
        let mut memory = Vec::new();
        assert!(verify_password_with(&mut memory, "correct horse", &hash));
        assert!(!verify_password_with(&mut memory, "wrong horse", &hash));
        assert!(!verify_password_with(
            &mut memory,
            "correct horse",
            "not a hash"
        ));
        assert_eq!(
            memory.len(),
            19 * 1024,
            "argon2's default 19 MiB, kept for reuse"
        );
    }
}

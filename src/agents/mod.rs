//! Agents: the people answering conversations, with role, skills, languages, per-channel
//! capacity, PBX extension and presence.

pub mod phone;
pub mod routes;

use crate::auth::Role;
use crate::store::{ms_to_rfc3339, Store, StoreError, StoreResult};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub use routes::router;

/// Presence states an agent can be in.
pub const PRESENCES: &[&str] = &["available", "away", "offline"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Agent {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub skills: Vec<String>,
    pub languages: Vec<String>,
    /// Conversations the agent can hold at once per channel, e.g. `{"chat": 3, "email": 10}`.
    pub capacity: BTreeMap<String, u32>,
    /// While busy on a key channel, no new work on the listed channels, e.g.
    /// `{"phone": ["chat"]}`: a call blocks new chats.
    pub blocks: BTreeMap<String, Vec<String>>,
    /// PBX extension, used to map call records to the agent.
    pub extension: Option<String>,
    pub presence: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    id: String,
    email: String,
    name: String,
    role: String,
    password_hash: String,
    active: i64,
    skills: String,
    languages: String,
    capacity: String,
    blocks: String,
    extension: Option<String>,
    presence: String,
    created_at: i64,
    updated_at: i64,
}

pub(crate) const AGENT_COLUMNS: &str =
    "id, email, name, role, password_hash, active, skills, languages, \
     capacity, blocks, extension, presence, created_at, updated_at";

impl From<AgentRow> for Agent {
    fn from(r: AgentRow) -> Self {
        Agent {
            id: r.id,
            email: r.email,
            name: r.name,
            role: Role::parse(&r.role).unwrap_or(Role::Agent),
            active: r.active == 1,
            skills: serde_json::from_str(&r.skills).unwrap_or_default(),
            languages: serde_json::from_str(&r.languages).unwrap_or_default(),
            capacity: serde_json::from_str(&r.capacity).unwrap_or_default(),
            blocks: serde_json::from_str(&r.blocks).unwrap_or_default(),
            extension: r.extension,
            presence: r.presence,
            created_at: ms_to_rfc3339(r.created_at),
            updated_at: ms_to_rfc3339(r.updated_at),
        }
    }
}

/// Default capacity for a new agent: chat 3, email 10, phone 1, api 10.
pub fn default_capacity() -> BTreeMap<String, u32> {
    [("chat", 3), ("email", 10), ("phone", 1), ("api", 10)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

pub async fn get(store: &Store, id: &str) -> StoreResult<Agent> {
    let row: Option<AgentRow> =
        sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
            .bind(id)
            .fetch_optional(store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    row.map(Agent::from).ok_or(StoreError::NotFound)
}

/// The agent and password hash for a (normalised) email address.
pub async fn find_credentials(store: &Store, email: &str) -> StoreResult<Option<(Agent, String)>> {
    let row: Option<AgentRow> = sqlx::query_as(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| {
        let hash = r.password_hash.clone();
        (Agent::from(r), hash)
    }))
}

/// What is needed to create an agent (already validated).
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub skills: Vec<String>,
    pub languages: Vec<String>,
    pub capacity: BTreeMap<String, u32>,
    pub blocks: BTreeMap<String, Vec<String>>,
    pub extension: Option<String>,
}

pub async fn insert(store: &Store, a: NewAgent) -> StoreResult<Agent> {
    let id = crate::store::new_id();
    let now = crate::store::now_ms();
    sqlx::query(
        "INSERT INTO agents (id, email, name, role, password_hash, active, skills, languages, \
           capacity, extension, presence, presence_at, created_at, updated_at, blocks) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, 'offline', $10, $10, $10, $11)",
    )
    .bind(&id)
    .bind(&a.email)
    .bind(&a.name)
    .bind(a.role.as_str())
    .bind(&a.password_hash)
    .bind(serde_json::to_string(&a.skills).unwrap_or_default())
    .bind(serde_json::to_string(&a.languages).unwrap_or_default())
    .bind(serde_json::to_string(&a.capacity).unwrap_or_default())
    .bind(&a.extension)
    .bind(now)
    .bind(serde_json::to_string(&a.blocks).unwrap_or_default())
    .execute(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    get(store, &id).await
}

/// Create an agent from the command line (first admin); hashes the password.
pub async fn create_from_cli(
    store: &Store,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> anyhow::Result<Agent> {
    let email = switchboard_text::EmailAddress::parse(email)
        .map_err(|e| anyhow::anyhow!("invalid email: {e}"))?
        .into_string();
    anyhow::ensure!(!name.trim().is_empty(), "name must not be empty");
    anyhow::ensure!(
        password.chars().count() >= 8,
        "password must have at least 8 characters"
    );
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password)).await??;
    let agent = insert(
        store,
        NewAgent {
            email,
            name: name.trim().to_string(),
            role,
            password_hash: hash,
            skills: vec![],
            languages: vec![],
            capacity: default_capacity(),
            blocks: BTreeMap::new(),
            extension: None,
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict(_) => anyhow::anyhow!("an agent with this email already exists"),
        other => other.into(),
    })?;
    Ok(agent)
}

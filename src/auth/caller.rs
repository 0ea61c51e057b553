//! Who is calling (an agent with a role, or an integration's API token) and what they may do.

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Agent roles, in increasing power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The signed-in agent behind a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentRef {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// Who is calling: an agent (session or bearer token) or an integration's API token.
#[derive(Debug, Clone)]
pub enum Caller {
    Agent {
        agent: AgentRef,
        token_id: String,
    },
    Integration {
        token_id: String,
        name: String,
        scopes: Vec<String>,
    },
}

impl Caller {
    /// The calling agent, if at least `role`; integrations are refused.
    pub fn require_role(&self, role: Role) -> ApiResult<&AgentRef> {
        match self {
            Caller::Agent { agent, .. } if agent.role >= role => Ok(agent),
            Caller::Agent { .. } => Err(ApiError::Forbidden(format!(
                "this action needs the {} role",
                role.as_str()
            ))),
            Caller::Integration { .. } => Err(ApiError::Forbidden(
                "API tokens cannot use this route".into(),
            )),
        }
    }

    /// Allowed for agents of at least `role`, and for API tokens carrying `scope` (or `*`).
    pub fn require(&self, role: Role, scope: &str) -> ApiResult<()> {
        match self {
            Caller::Integration { scopes, .. } => {
                if scopes.iter().any(|s| s == scope || s == "*") {
                    Ok(())
                } else {
                    Err(ApiError::Forbidden(format!(
                        "this API token lacks the `{scope}` scope"
                    )))
                }
            }
            _ => self.require_role(role).map(|_| ()),
        }
    }

    /// (actor kind, actor id) for history records.
    pub fn actor(&self) -> (&'static str, Option<String>) {
        match self {
            Caller::Agent { agent, .. } => ("agent", Some(agent.id.clone())),
            Caller::Integration { token_id, .. } => ("api", Some(token_id.clone())),
        }
    }

    pub fn agent(&self) -> Option<&AgentRef> {
        match self {
            Caller::Agent { agent, .. } => Some(agent),
            _ => None,
        }
    }
}

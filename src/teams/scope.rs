//! Which conversations a caller may see and change: the one place the team rule is decided.
//!
//! With the deployment's switch off (`access_control.teams_enabled`), for admins and for API
//! tokens, the scope is everything. Otherwise an agent or supervisor sees a conversation when
//! it is assigned to them, has no queue, or its queue is claimed by no team or by one of their
//! teams. The rule is kept as the set of queues *hidden* from the caller (claimed by some team,
//! none of theirs), read in one statement; lists add it to their `WHERE`, single reads and the
//! console socket ask [`Scope::sees`].

use crate::auth::{Caller, Role};
use crate::conversations::Conversation;
use crate::error::{ApiError, ApiResult};
use crate::store::{dialect, Backend, Store, StoreError, StoreResult};
use std::collections::HashSet;

/// What a caller may see. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    limit: Option<Limit>,
}

#[derive(Debug, Clone)]
struct Limit {
    /// The caller: conversations assigned to them stay visible wherever they are.
    me: String,
    /// Queues claimed by a team the caller is not in (sorted, for a stable statement).
    hidden: Vec<String>,
}

impl Scope {
    /// Everything (switch off, admins, API tokens).
    pub fn everything() -> Self {
        Scope::default()
    }

    /// The scope of an HTTP caller.
    pub async fn of(store: &Store, caller: &Caller) -> StoreResult<Scope> {
        match caller.agent() {
            Some(a) => Self::of_agent(store, &a.id, a.role).await,
            None => Ok(Scope::everything()),
        }
    }

    /// The scope of agent `id` with `role`, as the database says now.
    pub async fn of_agent(store: &Store, id: &str, role: Role) -> StoreResult<Scope> {
        if role >= Role::Admin {
            return Ok(Scope::everything());
        }
        // Empty when the switch is off: one statement either way.
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT tq.queue_id FROM team_queues tq \
             WHERE EXISTS (SELECT 1 FROM access_control WHERE id = 1 AND teams_enabled = 1) \
               AND NOT EXISTS (SELECT 1 FROM team_queues mine \
                 JOIN team_members m ON m.team_id = mine.team_id \
                 WHERE mine.queue_id = tq.queue_id AND m.agent_id = $1) \
             ORDER BY tq.queue_id",
        )
        .bind(id)
        .fetch_all(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let hidden: Vec<String> = rows.into_iter().map(|r| r.0).collect();
        Ok(Scope {
            limit: (!hidden.is_empty()).then(|| Limit {
                me: id.to_string(),
                hidden,
            }),
        })
    }

    /// The queues hidden from the caller (none when the scope is everything).
    pub fn hidden_queues(&self) -> &[String] {
        self.limit.as_ref().map_or(&[], |l| &l.hidden)
    }

    /// True when nothing is hidden.
    pub fn is_everything(&self) -> bool {
        self.limit.is_none()
    }

    /// Whether a conversation of `queue` is visible whoever holds it.
    pub fn sees_queue(&self, queue: Option<&str>) -> bool {
        match (&self.limit, queue) {
            (None, _) | (_, None) => true,
            (Some(l), Some(q)) => l.hidden.binary_search_by(|h| h.as_str().cmp(q)).is_err(),
        }
    }

    /// Whether a conversation of `queue` assigned to `assignee` is visible.
    pub fn sees(&self, queue: Option<&str>, assignee: Option<&str>) -> bool {
        self.sees_queue(queue)
            || self
                .limit
                .as_ref()
                .is_some_and(|l| assignee == Some(l.me.as_str()))
    }

    /// [`Scope::sees`] for a conversation read whole; the caller answers 404 otherwise.
    pub fn check(&self, conv: &Conversation) -> ApiResult<()> {
        if self.sees(conv.queue_id.as_deref(), conv.assignee_id.as_deref()) {
            Ok(())
        } else {
            Err(ApiError::NotFound("conversation"))
        }
    }

    /// 404 unless the conversation `id` exists and is visible (for routes of a conversation
    /// outside `/conversations`: chat, email, canned responses).
    pub async fn check_id(&self, store: &Store, id: &str) -> ApiResult<()> {
        if self.is_everything() {
            return Ok(());
        }
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT queue_id, assignee_id FROM conversations WHERE id = $1")
                .bind(id)
                .fetch_optional(store.pool())
                .await?;
        match row {
            Some((q, a)) if self.sees(q.as_deref(), a.as_deref()) => Ok(()),
            _ => Err(ApiError::NotFound("conversation")),
        }
    }

    /// The condition ` AND (…)` on the conversation columns prefixed `prefix` (`c.`, or empty)
    /// with its parameters numbered from `$first`, and their values; `None` when nothing is
    /// hidden (the statement stays as it was).
    pub fn clause(
        &self,
        backend: Backend,
        prefix: &str,
        first: usize,
    ) -> Option<(String, Vec<String>)> {
        let l = self.limit.as_ref()?;
        let hidden = serde_json::to_string(&l.hidden).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            " AND ({prefix}queue_id IS NULL OR {prefix}assignee_id = ${first} \
             OR {prefix}queue_id NOT IN (SELECT value FROM {}))",
            dialect::json_values_at(backend, first + 1)
        );
        Some((sql, vec![l.me.clone(), hidden]))
    }

    /// Append [`Scope::clause`] to a statement whose text parameters so far are `binds`.
    pub fn restrict(
        &self,
        backend: Backend,
        prefix: &str,
        sql: &mut String,
        binds: &mut Vec<String>,
    ) {
        if let Some((clause, values)) = self.clause(backend, prefix, binds.len() + 1) {
            sql.push_str(&clause);
            binds.extend(values);
        }
    }

    /// The agents whose figures the caller sees (`/stats/agents`): `None` for all; else the
    /// caller, the members of their teams and agents in no team.
    pub async fn agents(&self, store: &Store) -> StoreResult<Option<HashSet<String>>> {
        let Some(l) = &self.limit else {
            return Ok(None);
        };
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT m.agent_id FROM team_members m JOIN team_members mine \
               ON mine.team_id = m.team_id AND mine.agent_id = $1 \
             UNION SELECT a.id FROM agents a \
             WHERE NOT EXISTS (SELECT 1 FROM team_members t WHERE t.agent_id = a.id)",
        )
        .bind(&l.me)
        .fetch_all(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let mut out: HashSet<String> = rows.into_iter().map(|r| r.0).collect();
        out.insert(l.me.clone());
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(hidden: &[&str]) -> Scope {
        let mut hidden: Vec<String> = hidden.iter().map(|s| s.to_string()).collect();
        hidden.sort();
        Scope {
            limit: Some(Limit {
                me: "me".into(),
                hidden,
            }),
        }
    }

    #[test]
    fn hidden_queues_are_seen_only_when_assigned_to_the_caller() {
        let s = limited(&["support", "billing"]);
        assert!(s.sees(Some("sales"), None));
        assert!(s.sees(None, None));
        assert!(!s.sees(Some("support"), None));
        assert!(!s.sees(Some("billing"), Some("someone")));
        assert!(s.sees(Some("support"), Some("me")));
        assert!(Scope::everything().sees(Some("support"), None));
    }

    #[test]
    fn the_clause_is_numbered_after_the_statement_s_parameters() {
        let s = limited(&["support"]);
        for backend in crate::store::BACKENDS {
            let (sql, binds) = s.clause(backend, "c.", 3).unwrap();
            assert!(sql.contains("c.assignee_id = $3"), "{sql}");
            let hidden = dialect::json_values_at(backend, 4);
            assert!(sql.contains(&hidden), "{sql}");
            assert_eq!(binds, ["me", "[\"support\"]"]);
            assert!(Scope::everything().clause(backend, "", 1).is_none());
        }
    }
}

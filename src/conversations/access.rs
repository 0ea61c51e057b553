//! Who acts on a conversation and which conversations a caller may see, for the routes.

use super::service::{self, Actor};
use super::Conversation;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::teams::Scope;

/// Who acts, as history records them.
pub(super) fn actor(caller: &Caller) -> Actor {
    let (kind, id) = caller.actor();
    Actor { kind, id }
}

/// The conversation `id` when `scope` shows it (404 otherwise, as if it did not exist).
pub(super) async fn visible(
    scope: &Scope,
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> ApiResult<Conversation> {
    let conv = service::get(conn, id)
        .await
        .map_err(ApiError::missing("conversation"))?;
    scope.check(&conv)?;
    Ok(conv)
}

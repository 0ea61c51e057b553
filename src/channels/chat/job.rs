//! A visitor message on its way to the group-commit writer (`super::writer`).

use super::visitor::{Stored, Visitor};
use crate::error::ApiResult;
use serde_json::Value;
use tokio::sync::oneshot;

/// One visitor message waiting to be stored.
pub struct Job {
    pub visitor: Visitor,
    pub client_id: String,
    pub text: String,
    pub attachment: Option<Value>,
    pub(super) reply: oneshot::Sender<ApiResult<Stored>>,
}

impl Job {
    /// A job and the receiver of its answer.
    pub(super) fn new(
        visitor: Visitor,
        client_id: String,
        text: String,
    ) -> (Self, oneshot::Receiver<ApiResult<Stored>>) {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            visitor,
            client_id,
            text,
            attachment: None,
            reply,
        };
        (job, answer)
    }
}

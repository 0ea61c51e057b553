//! Errors returned by engine operations.

use crate::ids::{AgentId, ConversationId, QueueId};

/// Why an engine operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The agent is not known to the engine.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// The queue is not known to the engine.
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    /// The conversation is not known to the engine.
    #[error("unknown conversation {0}")]
    UnknownConversation(ConversationId),
    /// A conversation with this id is already known.
    #[error("conversation {0} already exists")]
    DuplicateConversation(ConversationId),
    /// The conversation is not waiting (it is offered or assigned).
    #[error("conversation {0} is not waiting")]
    NotWaiting(ConversationId),
    /// There is no outstanding offer of this conversation to this agent.
    #[error("no outstanding offer of conversation {conversation} to agent {agent}")]
    NoOffer {
        /// The conversation.
        conversation: ConversationId,
        /// The agent.
        agent: AgentId,
    },
    /// The conversation is not assigned to an agent.
    #[error("conversation {0} is not assigned")]
    NotAssigned(ConversationId),
    /// The agent has no free capacity on the conversation's channel.
    #[error("agent {agent} has no free capacity for conversation {conversation}")]
    NoCapacity {
        /// The conversation.
        conversation: ConversationId,
        /// The agent.
        agent: AgentId,
    },
    /// The queue still has conversations and cannot be removed.
    #[error("queue {0} still has conversations")]
    QueueInUse(QueueId),
}

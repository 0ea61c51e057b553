//! Every statement text that inserts a conversation, a message or a history row: `grep` finds
//! each table's insert here and nowhere else. One item at a time ([`super::one`]), bulk
//! shapes (a head and the constant columns appended to each row, for
//! [`crate::store::bulk::insert_rows`]) and the conversation step of PostgreSQL's
//! one-statement opening of chat conversations ([`super::chat_pg`]).

/// A multi-row insert: `head` (`INSERT INTO t (a, b, …)`), then per row its bound values and
/// `extra`, constants for the trailing columns (e.g. `, 0`).
#[derive(Clone, Copy)]
pub struct Shape {
    pub head: &'static str,
    pub extra: &'static str,
}

/// One conversation ($1 id … $12 resolved_at; `updated_at` = `created_at`).
pub const CONVERSATION: &str = "INSERT INTO conversations (id, number, customer_id, channel, \
    status, priority, queue_id, subject, subject_search, created_at, updated_at, enqueued_at, \
    resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)";

/// One message.
pub const MESSAGE: &str = "INSERT INTO messages (id, conversation_id, seq, author_kind, \
    author_id, body, body_search, internal, channel, external_id, meta, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// One history row.
pub const HISTORY: &str = "INSERT INTO conversation_events (id, conversation_id, kind, \
    actor_kind, actor_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// A `customer_merged` history row in every conversation of customer `$6` (row ids
/// `$1:conversation`).
pub const HISTORY_MERGED: &str = "INSERT INTO conversation_events (id, conversation_id, kind, \
    actor_kind, actor_id, data, created_at) \
    SELECT $1 || ':' || c.id, c.id, 'customer_merged', $2, $3, $4, $5 FROM conversations c \
    WHERE c.customer_id = $6";

/// Conversations a chat batch opens for new visitors (see [`super::batch::chat_conversation_row`]).
pub const CHAT_CONVERSATIONS: Shape = Shape {
    head: "INSERT INTO conversations (id, number, customer_id, enqueued_at, queue_id, subject, \
        subject_search, created_at, last_seq, updated_at, last_message_at, channel, status, \
        priority)",
    extra: ", 'chat', 'open', 0",
};

/// Visitor messages of a chat batch: `(id, conversation_id, seq, body, body_search,
/// external_id, meta, created_at)`.
pub const CHAT_MESSAGES: Shape = Shape {
    head: "INSERT INTO messages (id, conversation_id, seq, body, body_search, external_id, \
        meta, created_at, author_kind, author_id, internal, channel)",
    extra: ", 'customer', NULL, 0, 'chat'",
};

/// History rows written by chat visitors: `(id, conversation_id, kind, actor_id, data,
/// created_at)`.
pub const CHAT_HISTORY: Shape = Shape {
    head: "INSERT INTO conversation_events (id, conversation_id, kind, actor_id, data, \
        created_at, actor_kind)",
    extra: ", 'customer'",
};

/// Conversations a batch opens (call logs, mail), in their state after the batch.
pub const CONVERSATION_ROWS: Shape = Shape {
    head: "INSERT INTO conversations (id, number, customer_id, channel, status, subject, \
        subject_search, created_at, updated_at, last_message_at, last_seq, resolved_at, \
        queue_id, enqueued_at)",
    extra: "",
};

/// Messages of a batch (call and fax entries, mail): every column bound but `internal`.
pub const MESSAGE_ROWS: Shape = Shape {
    head: "INSERT INTO messages (id, conversation_id, seq, author_kind, author_id, body_search, \
        body, channel, external_id, meta, created_at, internal)",
    extra: ", 0",
};

/// History rows of a batch, every column bound.
pub const HISTORY_ROWS: Shape = Shape {
    head: "INSERT INTO conversation_events (id, conversation_id, kind, actor_kind, actor_id, \
        data, created_at)",
    extra: "",
};

/// The conversation step of [`super::chat_pg`]'s one statement: numbers from the sequence,
/// one conversation per claimed visitor (`vis`) of `input`, in input order.
pub fn pg_open_conversations() -> String {
    format!(
        "conv AS ( \
           INSERT INTO conversations (id, number, customer_id, enqueued_at, queue_id, subject, \
             subject_search, created_at, last_seq, updated_at, last_message_at, channel, status, \
             priority) \
           SELECT s.conv, {}, s.customer_id, \
             CASE WHEN s.queue IS NULL THEN NULL ELSE $2::bigint END, s.queue, s.subject, \
             s.subject_search, $2::bigint, s.n, $2::bigint, $2::bigint, 'chat', 'open', 0 \
           FROM (SELECT x.*, v.customer_id FROM vis v JOIN input x ON x.vid = v.id \
                 ORDER BY x.ord) s \
           RETURNING id, number, customer_id)",
        crate::store::dialect::PG_NEXT_NUMBER
    )
}

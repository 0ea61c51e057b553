//! The ledger: the one write path of conversations. Every channel — email (one by one or in
//! IMAP batches), chat (group commits), voice (log batches, CTI, calls logged by hand), the API
//! and customer merges — opens conversations, appends messages and records history through
//! this module, inside its own transaction. The ledger owns
//!
//! - numbering (`#1000`, `#1001`, …: [`batch::next_numbers`], and the expressions of
//!   `store::dialect` inside its batch statements),
//! - sequence reservation (a message's `seq` is reserved on its conversation's row, which also
//!   serialises concurrent appends on PostgreSQL: [`one::append_new_message`],
//!   [`batch::reserve_seqs`], [`batch::reserve_open`], and inside [`chat_lite::write`]),
//! - the `conversations`, `messages` and `conversation_events` (history) rows — every
//!   statement text inserting them is in [`sql`] —
//! - and each change's bus event and webhook deliveries (written in the same transaction;
//!   the caller publishes the events after its commit).
//!
//! Channel code keeps what is its own (visitor rows, call pairing, mail parsing) and plans what
//! to write. Statements shaped per backend live here and in `src/store/` only; the chat group
//! commit's are [`chat_lite`] (SQLite: one read, one multi-statement write) and [`chat_pg`]
//! (PostgreSQL: row locks and one statement opening conversations for new visitors).

pub mod batch;
pub mod chat_lite;
pub mod chat_pg;
mod one;
pub mod sql;

pub(crate) use one::insert_tags;
pub use one::{
    amended, append_message, append_new_message, create, create_resolved, created_data, record,
    record_merged, NewConversation, NewMessage,
};

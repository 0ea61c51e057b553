//! How a public reply leaves, by channel. Each channel registers its way out when the
//! routes are built (`channels::register_outbound`, from `app::build_router`): email queues the reply in its SMTP
//! outbox, chat pushes it to the visitor's sockets (over the bus, nothing to write) and
//! mails a copy of replies in offline chats, call logs register no way out at all. The
//! conversation routes ask this registry instead of reaching into the channels.

use super::{Conversation, Message};
use crate::store::{StoreResult, Tx};
use futures::future::BoxFuture;
use sqlx::AnyConnection;
use std::collections::HashMap;

/// Reads onto a conversation's messages what became of them once they left (e.g. the delivery
/// state of mailed replies, `meta.delivery`).
pub type Annotate =
    for<'a> fn(&'a mut AnyConnection, &'a str, &'a mut [Message]) -> BoxFuture<'a, StoreResult<()>>;

/// A step run inside the reply's own transaction (e.g. writing an outbox row).
pub type Step =
    for<'a> fn(&'a mut Tx, &'a Conversation, &'a Message) -> BoxFuture<'a, StoreResult<()>>;

/// What a channel registered.
enum Route {
    /// Replies leave through these steps (none: the bus carries them).
    Steps(Vec<Step>),
    /// Nobody to send a reply to (a logged call or fax): public replies are refused.
    Nowhere,
}

/// The registry: channel → how a public reply on it leaves. Channels nobody registered (the
/// API's) accept replies and deliver nothing themselves: integrations read them from the API
/// and webhooks.
#[derive(Default)]
pub struct Outbound {
    routes: HashMap<&'static str, Route>,
    annotators: Vec<Annotate>,
}

impl Outbound {
    /// Replies on `channel` leave through `step` too (in registration order).
    pub fn add_step(&mut self, channel: &'static str, step: Step) {
        match self
            .routes
            .entry(channel)
            .or_insert_with(|| Route::Steps(Vec::new()))
        {
            Route::Steps(steps) => steps.push(step),
            Route::Nowhere => panic!("channel {channel} was registered without replies"),
        }
    }

    /// Replies on `channel` go out by the bus alone (live pushes).
    pub fn by_bus(&mut self, channel: &'static str) {
        self.routes
            .entry(channel)
            .or_insert_with(|| Route::Steps(Vec::new()));
    }

    /// `channel` has no way to reach the customer: public replies on it are refused.
    pub fn nowhere(&mut self, channel: &'static str) {
        self.routes.insert(channel, Route::Nowhere);
    }

    /// Conversations read through the API carry what `annotate` reads onto their messages.
    pub fn annotate_with(&mut self, annotate: Annotate) {
        self.annotators.push(annotate);
    }

    /// Read onto `messages` (of `conversation_id`) what the channels registered.
    pub async fn annotate(
        &self,
        conn: &mut AnyConnection,
        conversation_id: &str,
        messages: &mut [Message],
    ) -> StoreResult<()> {
        for annotate in &self.annotators {
            annotate(conn, conversation_id, messages).await?;
        }
        Ok(())
    }

    /// Whether a public reply on `channel` can reach the customer.
    pub fn accepts_reply(&self, channel: &str) -> bool {
        !matches!(self.routes.get(channel), Some(Route::Nowhere))
    }

    /// Run the registered steps for `message` (a no-op for internal notes), inside the
    /// transaction that appended it.
    pub async fn deliver(
        &self,
        tx: &mut Tx,
        conv: &Conversation,
        message: &Message,
    ) -> StoreResult<()> {
        if message.internal {
            return Ok(());
        }
        if let Some(Route::Steps(steps)) = self.routes.get(conv.channel.as_str()) {
            for step in steps {
                step(tx, conv, message).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Outbound;

    #[test]
    fn a_channel_registered_as_nowhere_refuses_replies_and_others_accept_them() {
        let mut o = Outbound::default();
        o.nowhere("phone");
        o.by_bus("chat");
        assert!(!o.accepts_reply("phone"));
        assert!(o.accepts_reply("chat"));
        assert!(
            o.accepts_reply("api"),
            "unregistered channels accept replies"
        );
    }
}

//! Handling what a visitor sends after `hello`, and what the hub pushes.

use super::super::hub::Push;
use super::super::visitor::{self, Visitor};
use super::Session;
use crate::error::ApiError;
use serde_json::{json, Value};

/// Frames after `hello` (parsed by `switchboard_wire`, which the fuzz targets exercise).
pub(super) use switchboard_wire::widget::Inbound;

pub(super) fn error_frame(code: &str, text: &str, client_id: Option<&str>) -> Value {
    let mut f = json!({"type": "error", "code": code, "error": text});
    if let Some(c) = client_id {
        f["client_id"] = json!(c);
    }
    f
}

impl Session {
    pub(super) async fn on_push(&mut self, p: Push, key: &[u8]) -> anyhow::Result<()> {
        match p {
            Push::Messages(upto) if upto <= self.delivered => Ok(()),
            Push::Messages(_) => self.catch_up(key).await,
            // This socket's own new conversation (it opened it, and its echo went out with
            // the ack): nothing to read back. Other tabs of the visitor learn it here.
            Push::Conversation(c) if self.conversation.as_deref() == Some(c.as_str()) => Ok(()),
            Push::Conversation(c) => {
                if self.conversation.is_none() {
                    self.conversation = Some(c);
                }
                self.catch_up(key).await
            }
            Push::Typing { on, name } => {
                self.send(json!({"type": "typing", "on": on, "author_name": name}))
                    .await
            }
            Push::AgentJoined { name } => {
                self.send(json!({"type": "agent_joined", "agent": {"name": name}}))
                    .await
            }
            Push::Status(s) => self.send(json!({"type": "status", "status": s})).await,
            Push::Read(seq) => self.send(json!({"type": "read", "seq": seq})).await,
        }
    }

    pub(super) async fn publish_typing(&self, v: &Visitor, on: bool) {
        let Some(conv) = &self.conversation else {
            return;
        };
        let mut ev = crate::events::new_event(
            "chat.typing",
            json!({"on": on, "author": "visitor", "visitor_id": v.id}),
        );
        ev.conversation_id = Some(conv.clone());
        ev.agent_id = self.assignee(conv).await;
        self.state.bus.publish(ev).await;
    }

    /// The agent working on the chat: the visitor's typing and read marks go to their console.
    async fn assignee(&self, conv: &str) -> Option<String> {
        let row: Result<Option<(Option<String>,)>, _> =
            sqlx::query_as("SELECT assignee_id FROM conversations WHERE id = $1")
                .bind(conv)
                .fetch_optional(self.state.store.pool())
                .await;
        match row {
            Ok(row) => row.and_then(|r| r.0),
            Err(e) => {
                // The signal then reaches supervisors only, not the agent on the chat.
                tracing::warn!(error = %e, "cannot read the chat's assignee");
                None
            }
        }
    }

    pub(super) async fn handle(
        &mut self,
        f: Inbound,
        v: &Visitor,
        key: &[u8],
    ) -> anyhow::Result<()> {
        match f {
            Inbound::Message {
                client_id,
                text,
                attachment_id,
            } => {
                self.on_message(v, key, &client_id, &text, attachment_id.as_deref())
                    .await
            }
            Inbound::Read { seq } => {
                if let Err(e) = visitor::mark_read(&self.state, v, seq).await {
                    return self.send_api_error(e, None).await;
                }
                if let Some(conv) = &self.conversation {
                    let mut ev = crate::events::new_event(
                        "chat.read",
                        json!({"author": "visitor", "seq": seq}),
                    );
                    ev.conversation_id = Some(conv.clone());
                    ev.agent_id = self.assignee(conv).await;
                    self.state.bus.publish(ev).await;
                }
                Ok(())
            }
            Inbound::Prechat { name, email } => {
                match visitor::prechat(&self.state, v, name.as_deref(), email.as_deref()).await {
                    Ok(()) => Ok(()),
                    Err(e) => self.send_api_error(e, None).await,
                }
            }
            Inbound::Rating { score, comment } => {
                match visitor::rate(&self.state, v, score, comment.as_deref()).await {
                    Ok(ev) => {
                        self.state.bus.publish(ev).await;
                        Ok(())
                    }
                    Err(e) => self.send_api_error(e, None).await,
                }
            }
            Inbound::Ping => self.send(json!({"type": "pong"})).await,
            Inbound::Pong | Inbound::Typing { .. } => Ok(()),
        }
    }

    async fn send_api_error(&mut self, e: ApiError, client_id: Option<&str>) -> anyhow::Result<()> {
        let code = match &e {
            ApiError::Invalid { code, .. } => *code,
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "chat socket operation failed");
                "internal"
            }
            _ => "bad_request",
        };
        self.send(error_frame(code, &e.to_string(), client_id))
            .await
    }

    async fn on_message(
        &mut self,
        v: &Visitor,
        key: &[u8],
        client_id: &str,
        text: &str,
        attachment_id: Option<&str>,
    ) -> anyhow::Result<()> {
        let cid = Some(client_id);
        if client_id.is_empty() || client_id.len() > 100 {
            return self
                .send(error_frame(
                    "bad_frame",
                    "client_id must be 1–100 characters",
                    None,
                ))
                .await;
        }
        if self.hub.limiter.check_key(&v.id).is_err() {
            return self
                .send(error_frame(
                    "rate_limited",
                    "too many messages, slow down",
                    cid,
                ))
                .await;
        }
        let max = self.state.settings.chat.max_message_chars;
        if text.chars().count() > max {
            let msg = format!("messages are limited to {max} characters");
            return self.send(error_frame("message_too_large", &msg, cid)).await;
        }
        let text = text.trim();
        let attachment = match attachment_id {
            Some(a) => match super::super::attachments::meta_for(&self.state, a, &v.id).await {
                Ok(Some(m)) => Some(m),
                Ok(None) => {
                    return self
                        .send(error_frame(
                            "attachment_not_found",
                            "no such attachment",
                            cid,
                        ))
                        .await
                }
                Err(e) => return self.send_api_error(e, cid).await,
            },
            None => None,
        };
        if text.is_empty() && attachment.is_none() {
            return self
                .send(error_frame(
                    "empty_message",
                    "a message needs text or a file",
                    cid,
                ))
                .await;
        }
        if self.conversation.is_none() && !self.hub.quotas.new_conversation(self.slot.ip()) {
            return self
                .send(error_frame(
                    "quota_exceeded",
                    "too many new conversations from this network; try again later",
                    cid,
                ))
                .await;
        }
        let stored = match super::super::writer::store(
            &self.state,
            &self.hub,
            v,
            client_id,
            text,
            attachment,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => return self.send_api_error(e, cid).await,
        };
        if self.conversation.is_none() {
            self.conversation = Some(stored.conversation_id.clone());
            self.hub.set_conversation(&v.id, &stored.conversation_id);
        }
        for ev in stored.events {
            self.state.bus.publish(ev).await;
        }
        self.send(json!({"type": "ack", "client_id": client_id, "seq": stored.seq, "conversation_id": stored.conversation_id}))
            .await?;
        // The echo: straight from the row just committed when it is the next one this socket
        // owes; otherwise (a gap, a resend) read everything missing back from the database.
        let ours = self.conversation.as_deref() == Some(stored.conversation_id.as_str());
        match stored.message {
            Some(m) if ours && m.seq == self.delivered + 1 => {
                self.delivered = m.seq;
                let secs = self.state.settings.chat.attachment_url_secs();
                match super::super::frames::frame(&m, None, key, secs) {
                    Some(f) => self.send(f).await,
                    None => Ok(()),
                }
            }
            _ => self.catch_up(key).await,
        }
    }
}

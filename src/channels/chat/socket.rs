//! `GET /ws/widget?site=KEY`: the visitor WebSocket (protocol in `docs/widget-protocol.md`).

mod handlers;

use super::hub::{Hub, IpSlot, Mailbox, Registration};
use super::visitor::{self, Visitor};
use super::{secrets, sites, MAX_FRAME_BYTES, SOCKET_BUFFER};
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use handlers::{error_frame, Inbound};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_wire::widget::{parse_frame, parse_hello, Identity};

type Sink = SplitSink<WebSocket, WsMessage>;

/// Query of the socket URL.
#[derive(Deserialize)]
pub struct WsQuery {
    site: String,
}

/// Check the site and the page origin, then upgrade.
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(hub): Extension<Arc<Hub>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiQuery(q): ApiQuery<WsQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => return ApiError::BadRequest(r.body_text()).into_response(),
    };
    let site = {
        let mut conn = match state.store.pool().acquire().await {
            Ok(c) => c,
            Err(e) => return ApiError::from(e).into_response(),
        };
        let mut site = match sites::by_key(&mut conn, &q.site).await {
            Ok(Some(s)) => s,
            Ok(None) => return ApiError::NotFound("site").into_response(),
            Err(e) => return ApiError::from(e).into_response(),
        };
        match crate::queues::or_default(&mut *conn, "chat", site.queue_id.take()).await {
            Ok(q) => site.queue_id = q,
            Err(e) => return ApiError::from(e).into_response(),
        }
        site
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !site.origin_allowed(origin) {
        return super::origin::refuse(ws, &site, origin);
    }
    let Some(slot) = hub.acquire_ip(state.proxies.client_ip(addr, &headers)) else {
        return ApiError::RateLimited.into_response();
    };
    ws.read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            // Everything is moved into the session before the future starts, so the socket's
            // future holds each piece once.
            let (sink, stream) = socket.split();
            let site = hub.share_site(site);
            let s = Session {
                state,
                hub,
                site,
                sink,
                names: HashMap::new(),
                delivered: 0,
                conversation: None,
                slot,
            };
            s.serve(stream)
        })
}

/// One visitor socket. Kept small: every open socket holds one of these plus the frame loop's
/// future (the handshake and the frame handlers run boxed, so their larger state machines
/// exist only while they run).
pub(super) struct Session {
    pub(super) state: AppState,
    pub(super) hub: Arc<Hub>,
    pub(super) site: Arc<sites::Site>,
    pub(super) sink: Sink,
    /// Agent names by id, for `author_name`.
    names: HashMap<String, String>,
    /// Highest seq of the conversation already sent (or skipped as internal).
    pub(super) delivered: i64,
    pub(super) conversation: Option<String>,
    pub(super) slot: IpSlot,
}

/// What the frame loop needs once `welcome` was sent.
struct Live {
    visitor: Visitor,
    key: Vec<u8>,
    _registration: Registration,
    pushes: Arc<Mailbox>,
}

impl Session {
    pub(super) async fn send(&mut self, v: Value) -> anyhow::Result<()> {
        self.sink
            .send(WsMessage::Text(v.to_string().into()))
            .await?;
        Ok(())
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let _ = self
            .sink
            .send(WsMessage::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }

    async fn serve(mut self, stream: SplitStream<WebSocket>) {
        if let Err(e) = self.run(stream).await {
            tracing::debug!(error = %e, "visitor socket ended");
        }
    }

    async fn run(&mut self, mut stream: SplitStream<WebSocket>) -> anyhow::Result<()> {
        let Some(live) = Box::pin(self.handshake(&mut stream)).await? else {
            return Ok(());
        };
        self.loop_frames(stream, &live).await
    }

    /// `hello` → `welcome` (with the replay); `None` when the socket was refused.
    async fn handshake(
        &mut self,
        stream: &mut SplitStream<WebSocket>,
    ) -> anyhow::Result<Option<Live>> {
        let hello = Duration::from_secs(self.state.settings.chat.hello_timeout_secs);
        let first = tokio::time::timeout(hello, next_text(stream)).await;
        let Ok(Some(text)) = first else {
            self.close(1008, "hello expected").await;
            return Ok(None);
        };
        let Some(hello) = parse_hello(&text).filter(|h| h.site == self.site.site_key) else {
            self.send(error_frame(
                "bad_frame",
                "the first frame must be hello for this site",
                None,
            ))
            .await?;
            self.close(1008, "hello expected").await;
            return Ok(None);
        };
        let Some(visitor) = self
            .start(hello.visitor_token.as_deref(), hello.identity)
            .await?
        else {
            return Ok(None);
        };
        let key = self.hub.key(&self.state).await?.to_vec();
        let token = secrets::visitor_token(
            &key,
            &visitor.id,
            &self.site.id,
            self.state.settings.chat.visitor_token_days * 86_400,
        );
        // The UI language the page asked for: Persian unless English was requested.
        let locale = match hello.locale.as_deref() {
            Some(l) if l.to_ascii_lowercase().starts_with("en") => "en",
            _ => "fa",
        };
        // One pooled connection at a time: holding one while asking for another could exhaust
        // the pool when many visitors connect at once.
        let mut conn = self.state.store.pool().acquire().await?;
        self.conversation = visitor::conversation_of(&mut conn, &visitor.id).await?;
        let online = self.site.online(&mut conn).await?;
        let conv = match &self.conversation {
            Some(c) => Some(crate::conversations::get(&mut conn, c).await?),
            None => None,
        };
        // A resuming client cannot claim more than exists (that would hide new messages).
        let last: Option<(i64,)> = match &self.conversation {
            Some(c) => {
                sqlx::query_as("SELECT last_seq FROM conversations WHERE id = $1")
                    .bind(c)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => None,
        };
        drop(conn);
        // Register before reading the replay so that nothing published meanwhile is missed.
        let (registration, pushes) = self.hub.register(&visitor.id, self.conversation.as_deref());
        let mut welcome = json!({
            "type": "welcome", "visitor_token": token, "conversation_id": self.conversation,
            "site": {"name": self.site.name, "prechat_fields": self.site.prechat_fields,
                     "online": online, "locale": locale},
            "agent": null, "messages": [], "status": null,
        });
        if let Some(conv) = conv {
            welcome["status"] = json!(conv.status);
            if let Some(a) = &conv.assignee_id {
                welcome["agent"] = json!({"name": self.name_of(a).await?});
            }
            let last = last.map(|r| r.0).unwrap_or(0);
            let after = hello.last_seq.unwrap_or(0).clamp(0, last);
            welcome["messages"] = Value::Array(self.unseen(&conv.id, after, &key).await?);
        }
        self.send(welcome).await?;
        Ok(Some(Live {
            visitor,
            key,
            _registration: registration,
            pushes,
        }))
    }

    /// Resolve the visitor from the token and the identity; `None` after an error frame.
    async fn start(
        &mut self,
        token: Option<&str>,
        identity: Option<Identity>,
    ) -> anyhow::Result<Option<Visitor>> {
        let key = self.hub.key(&self.state).await?.to_vec();
        let mut identity_customer = None;
        if let (Some(id), Some(stored)) = (identity, self.site.identity_secret.as_deref()) {
            let secret = self.state.secrets.open(stored)?;
            if id.user_id.is_empty() || !secrets::identity_ok(&secret, &id.user_id, &id.hash) {
                self.send(error_frame(
                    "identity_invalid",
                    "the identity hash does not match",
                    None,
                ))
                .await?;
                self.close(1008, "identity_invalid").await;
                return Ok(None);
            }
            let c = visitor::identity_customer(
                &self.state,
                &self.site,
                &id.user_id,
                id.name.as_deref(),
                id.email.as_deref(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            identity_customer = Some(c);
        }
        let mut id = token
            .and_then(|t| secrets::parse_visitor_token(&key, t))
            .filter(|(_, site)| *site == self.site.id)
            .map(|(v, _)| v);
        if let (Some(v), Some(c)) = (&id, &identity_customer) {
            let mut conn = self.state.store.pool().acquire().await?;
            let owner = visitor::customer_of(&mut conn, v).await?;
            if owner.is_some_and(|o| o != *c) {
                id = None; // another signed-in user on this browser: start afresh
            }
        }
        if id.is_none() && !self.hub.quotas.new_visitor(self.slot.ip()) {
            self.send(error_frame(
                "quota_exceeded",
                "too many new chats from this network; try again later",
                None,
            ))
            .await?;
            self.close(1008, "quota_exceeded").await;
            return Ok(None);
        }
        Ok(Some(Visitor {
            id: id.unwrap_or_else(crate::store::new_id),
            site: self.site.clone(),
            identity_customer,
        }))
    }

    async fn name_of(&mut self, agent: &str) -> anyhow::Result<String> {
        if let Some(n) = self.names.get(agent) {
            return Ok(n.clone());
        }
        let n = super::frames::agent_name(self.state.store.pool(), agent).await?;
        self.names.insert(agent.to_string(), n.clone());
        Ok(n)
    }

    /// Visible messages with seq > `after` as frames; advances `delivered` past every stored one.
    async fn unseen(&mut self, conv: &str, after: i64, key: &[u8]) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let mut conn = self.state.store.pool().acquire().await?;
            let batch = crate::conversations::messages(&mut conn, conv, cursor, 500).await?;
            drop(conn);
            let Some(last) = batch.last() else { break };
            cursor = last.seq;
            for m in &batch {
                let name = match (&m.author_id, m.author_kind.as_str()) {
                    (Some(a), "agent") => Some(self.name_of(a).await?),
                    _ => None,
                };
                let secs = self.state.settings.chat.attachment_url_secs();
                out.extend(super::frames::frame(m, name.as_deref(), key, secs));
            }
        }
        self.delivered = self.delivered.max(cursor);
        Ok(out)
    }

    pub(super) async fn catch_up(&mut self, key: &[u8]) -> anyhow::Result<()> {
        let Some(conv) = self.conversation.clone() else {
            return Ok(());
        };
        for f in self.unseen(&conv, self.delivered, key).await? {
            self.send(f).await?;
        }
        Ok(())
    }

    /// The frame loop every open socket sits in. Handlers are boxed so that this future stays
    /// small while the socket idles.
    async fn loop_frames(
        &mut self,
        mut stream: SplitStream<WebSocket>,
        live: &Live,
    ) -> anyhow::Result<()> {
        let (v, key) = (&live.visitor, live.key.as_slice());
        let c = &self.state.settings.chat;
        let (ping_every, idle) = (
            Duration::from_secs(c.ping_secs.max(1)),
            Duration::from_secs(c.idle_timeout_secs),
        );
        let mut ping = tokio::time::interval(ping_every);
        ping.tick().await;
        let mut last_rx = Instant::now();
        let mut last_typing: Option<Instant> = None;
        loop {
            tokio::select! {
                frame = stream.next() => {
                    let text = match frame {
                        None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Ok(()),
                        Some(Ok(WsMessage::Text(t))) => t.to_string(),
                        Some(Ok(WsMessage::Binary(_))) => {
                            Box::pin(self.send(error_frame("bad_frame", "frames must be JSON text", None))).await?;
                            continue;
                        }
                        Some(Ok(_)) => { last_rx = Instant::now(); continue; }
                    };
                    last_rx = Instant::now();
                    match parse_frame(&text) {
                        Ok(Inbound::Typing { on }) => {
                            // At most one typing event per second reaches the bus.
                            if last_typing.is_some_and(|t| t.elapsed().as_millis() < 1000) && on {
                                continue;
                            }
                            last_typing = Some(Instant::now());
                            Box::pin(self.publish_typing(v, on)).await;
                        }
                        Ok(f) => Box::pin(self.handle(f, v, key)).await?,
                        Err(e) => {
                            Box::pin(self.send(error_frame(e.code(), e.text(), e.client_id()))).await?;
                        }
                    }
                }
                push = live.pushes.take() => match push {
                    None => {
                        Box::pin(self.close(1013, "too slow, reconnect")).await;
                        return Ok(());
                    }
                    Some(p) => Box::pin(self.on_push(p, key)).await?,
                },
                _ = self.hub.stopping.cancelled() => {
                    Box::pin(self.close(1012, "server restarting")).await;
                    return Ok(());
                }
                _ = ping.tick() => {
                    if last_rx.elapsed() > idle {
                        Box::pin(self.close(1001, "idle")).await;
                        return Ok(());
                    }
                    Box::pin(self.sink.send(WsMessage::Ping(Default::default()))).await?;
                }
            }
        }
    }
}

async fn next_text(stream: &mut SplitStream<WebSocket>) -> Option<String> {
    loop {
        match stream.next().await? {
            Ok(WsMessage::Text(t)) => return Some(t.to_string()),
            Ok(WsMessage::Ping(_)) | Ok(WsMessage::Pong(_)) => continue,
            _ => return None,
        }
    }
}

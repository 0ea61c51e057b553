//! A contact's fact from what happened to it: a queued conversation from its row and history,
//! a call or fax from its PBX record (ring = answer − start, talk = billable seconds) or, for a
//! call known only from live CTI/AMI events, from the events' times (see [`Heard`]). Pure: the
//! worker loads the rows, this decides the figures.

use super::figures::Fact;
use super::zone::{day_key, Zone};
use serde_json::Value;
use std::collections::HashMap;

/// What a fact needs of its conversation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConvRow {
    pub id: String,
    pub channel: String,
    pub status: String,
    pub queue_id: Option<String>,
    pub assignee_id: Option<String>,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

/// A history entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistRow {
    pub conversation_id: String,
    pub kind: String,
    pub data: String,
    pub created_at: i64,
    pub id: String,
}

/// A call or fax entry (`meta` as stored by the voice channel).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallRow {
    pub id: String,
    pub conversation_id: String,
    pub meta: String,
}

/// A queue's targets.
#[derive(Debug, Clone, Default)]
pub struct QueueTargets {
    pub service_level_seconds: Option<i64>,
    pub first_response_minutes: Option<i64>,
}

/// The rules facts are decided by.
pub struct Rules {
    pub zone: Zone,
    pub short_abandon_ms: i64,
    pub queues: HashMap<String, QueueTargets>,
    /// `[routing] first_response_minutes`, for email queues without their own target.
    pub first_response_minutes: i64,
    /// The queue calls and faxes outside any queue land in (the default queue, if it takes
    /// the channel).
    pub phone_queue: Option<String>,
    pub fax_queue: Option<String>,
    /// Calendars of queues whose clocks count business time only.
    pub business: HashMap<String, switchboard_hours::Calendar>,
}

/// Default service-level target of phone and chat.
pub const DEFAULT_TARGET_SECONDS: i64 = 20;

impl Rules {
    /// Answered within this many milliseconds counts toward service level.
    pub fn target_ms(&self, queue: &str, channel: &str) -> i64 {
        let q = self.queues.get(queue).cloned().unwrap_or_default();
        if let Some(s) = q.service_level_seconds {
            return s * 1000;
        }
        match channel {
            "phone" | "chat" | "fax" => DEFAULT_TARGET_SECONDS * 1000,
            _ => {
                q.first_response_minutes
                    .unwrap_or(self.first_response_minutes)
                    * 60_000
            }
        }
    }

    /// Time that counts between two instants for a queue: business time where the queue
    /// says so (`business_time_only`), else all of it.
    pub fn elapsed(&self, queue: &str, from: i64, to: i64) -> i64 {
        match self.business.get(queue) {
            Some(c) => c.business_ms(from, to).max(0),
            None => (to - from).max(0),
        }
    }

    fn base(&self, id: &str, conv: &str, channel: &str, queue: &str, at: i64) -> Fact {
        Fact {
            id: id.into(),
            conversation_id: conv.into(),
            channel: channel.into(),
            queue_id: queue.into(),
            day: day_key(self.zone.day_of(at)),
            offered_at: at,
            ..Fact::default()
        }
    }
}

/// The facts of one conversation: its calls and faxes (phone and fax conversations), or the
/// conversation itself once it entered a queue.
pub fn of_conversation(
    rules: &Rules,
    conv: &ConvRow,
    history: &[HistRow],
    calls: &[CallRow],
    callback: bool,
) -> Vec<Fact> {
    if matches!(conv.channel.as_str(), "phone" | "fax") {
        return calls
            .iter()
            .filter_map(|c| of_call(rules, c, callback, conv.queue_id.as_deref()))
            .collect();
    }
    of_queued(rules, conv, history).into_iter().collect()
}

fn data(h: &HistRow) -> Value {
    serde_json::from_str(&h.data).unwrap_or(Value::Null)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().map(str::to_string)
}

/// When and where the conversation first entered a queue.
fn entered(conv: &ConvRow, history: &[HistRow]) -> Option<(i64, String)> {
    history.iter().find_map(|h| {
        let d = data(h);
        match h.kind.as_str() {
            "created" => text(&d, "queue_id").map(|q| (conv.created_at.min(h.created_at), q)),
            "transferred" => text(&d, "to_queue").map(|q| (h.created_at, q)),
            _ => None,
        }
    })
}

fn of_queued(rules: &Rules, conv: &ConvRow, history: &[HistRow]) -> Option<Fact> {
    let (at, queue) = entered(conv, history)?;
    let mut f = rules.base(&conv.id, &conv.id, &conv.channel, &queue, at);
    f.offered = 1;
    let assigned = history.iter().find_map(|h| {
        (h.kind == "assigned" && h.created_at >= at)
            .then(|| text(&data(h), "to").map(|a| (h.created_at, a)))
            .flatten()
    });
    let replied = conv.first_response_at.filter(|t| *t >= at);
    let answered_at = match conv.channel.as_str() {
        "chat" => [assigned.as_ref().map(|a| a.0), replied]
            .into_iter()
            .flatten()
            .min(),
        _ => replied,
    };
    let done = matches!(conv.status.as_str(), "resolved" | "closed");
    if let Some(t) = answered_at {
        let wait = rules.elapsed(&queue, at, t);
        f.answered = 1;
        f.wait_ms = Some(wait);
        f.within_target = i64::from(wait <= rules.target_ms(&queue, &conv.channel));
        f.agent_id = agent_at(history, t)
            .or(assigned.map(|a| a.1))
            .or(conv.assignee_id.clone())
            .unwrap_or_default();
    } else if conv.channel == "chat" && done {
        let wait = rules.elapsed(&queue, at, conv.resolved_at.unwrap_or(at));
        f.abandoned = 1;
        f.wait_ms = Some(wait);
        f.short_abandoned = i64::from(wait < rules.short_abandon_ms);
    }
    f.first_response_ms = replied.map(|t| rules.elapsed(&queue, at, t));
    if done && f.answered == 1 {
        f.resolution_ms = conv.resolved_at.map(|t| rules.elapsed(&queue, at, t));
        f.handle_ms = Some(handle_ms(history));
    }
    f.csat = history
        .iter()
        .rev()
        .find(|h| h.kind == "rated")
        .and_then(|h| data(h)["score"].as_i64());
    f.transfers = history.iter().filter(|h| is_transfer(h)).count() as i64;
    Some(f)
}

/// The agent holding the conversation at `t` (the last assignment at or before it).
fn agent_at(history: &[HistRow], t: i64) -> Option<String> {
    let mut who = None;
    for h in history.iter().take_while(|h| h.created_at <= t) {
        match h.kind.as_str() {
            "assigned" => who = text(&data(h), "to"),
            "transferred" | "requeued" => who = None,
            _ => {}
        }
    }
    who
}

fn is_transfer(h: &HistRow) -> bool {
    let d = data(h);
    match h.kind.as_str() {
        "transferred" => true,
        "assigned" => {
            let (from, to) = (text(&d, "from"), text(&d, "to"));
            from.is_some() && to.is_some() && from != to
        }
        _ => false,
    }
}

/// Milliseconds the conversation was open (or pending) and assigned to an agent.
fn handle_ms(history: &[HistRow]) -> i64 {
    let (mut agent, mut open, mut since, mut total) = (false, true, 0, 0);
    for h in history {
        if agent && open {
            total += (h.created_at - since).max(0);
        }
        since = h.created_at;
        let d = data(h);
        match h.kind.as_str() {
            "created" => open = !matches!(d["status"].as_str(), Some("resolved" | "closed")),
            "assigned" => agent = d["to"].is_string(),
            "transferred" | "requeued" => agent = false,
            "status_changed" => open = !matches!(d["to"].as_str(), Some("resolved" | "closed")),
            _ => {}
        }
    }
    total
}

fn ms(meta: &Value, key: &str) -> Option<i64> {
    let s = meta[key].as_str()?;
    let t: jiff::Timestamp = s.parse().ok()?;
    Some(t.as_millisecond())
}

/// An inbound call or fax (offered), or a call placed back in a callback conversation.
fn of_call(rules: &Rules, c: &CallRow, callback: bool, queue: Option<&str>) -> Option<Fact> {
    let meta: Value = serde_json::from_str(&c.meta).ok()?;
    let kind = meta["kind"].as_str()?;
    let channel = if kind == "fax" { "fax" } else { "phone" };
    let fallback = if kind == "fax" {
        &rules.fax_queue
    } else {
        &rules.phone_queue
    };
    let queue = queue.or(fallback.as_deref()).unwrap_or_default();
    let start = ms(&meta, "started_at")?;
    let inbound = matches!(meta["direction"].as_str(), Some("inbound" | "unknown"));
    let outbound = meta["direction"] == "outbound";
    let placed_back = outbound && callback && kind == "call";
    if !(inbound || placed_back) {
        return None;
    }
    let mut f = rules.base(&c.id, &c.conversation_id, channel, queue, start);
    let answered_at = ms(&meta, "answered_at").filter(|_| meta["disposition"] == "answered");
    let agent = text(&meta, "agent_id").unwrap_or_default();
    let heard = Heard::of(&meta);
    let talk = match heard {
        Heard::Record => Some(meta["billsec"].as_i64().unwrap_or(0) * 1000),
        Heard::Events => answered_at
            .zip(ms(&meta, "ended_at"))
            .map(|(a, e)| (e - a).max(0)),
        Heard::NoHangup => None,
    };
    // The PBX queue log's wait (time in the queue, without the IVR before it), when known.
    let queued = meta["wait_seconds"].as_i64().map(|s| s.max(0) * 1000);
    if outbound {
        f.callbacks = 1;
        f.callbacks_answered = i64::from(answered_at.is_some());
        f.agent_id = agent;
        return Some(f);
    }
    f.offered = 1;
    match answered_at {
        Some(t) => {
            let ring = queued.unwrap_or_else(|| rules.elapsed(queue, start, t));
            f.answered = 1;
            f.agent_id = agent;
            f.wait_ms = Some(ring);
            f.within_target = i64::from(ring <= rules.target_ms(queue, channel));
            f.handle_ms = talk.filter(|_| kind == "call");
        }
        None => {
            let end = ms(&meta, "ended_at")
                .unwrap_or(start + meta["duration_secs"].as_i64().unwrap_or(0) * 1000);
            let wait = queued
                .or_else(|| (heard != Heard::NoHangup).then(|| rules.elapsed(queue, start, end)));
            f.abandoned = 1;
            f.wait_ms = wait;
            f.short_abandoned = i64::from(wait.is_some_and(|w| w < rules.short_abandon_ms));
        }
    }
    Some(f)
}

/// How a call's times are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    /// From the PBX's record (CDR, log, queue log; also a live call a record completed): ring
    /// = answer − start, talk = billable seconds.
    Record,
    /// From live events only (CTI or AMI): ring = answer event − ringing event, talk =
    /// hangup event − answer event, to the millisecond.
    Events,
    /// From live events whose hangup never came (closed by the stale-call timeout): when it
    /// ended is unknown, so neither its talk time nor an unanswered call's wait is counted.
    NoHangup,
}

impl Heard {
    fn of(meta: &Value) -> Heard {
        let live = matches!(meta["source"].as_str(), Some("cti" | "ami"));
        if !live || meta["cdr_source"].is_string() {
            return Heard::Record;
        }
        // CTI: closed with the cause "timeout: no hangup event"; AMI: with its end set to its
        // answer (or start) and, unanswered, "no hangup seen".
        let cause = meta["cause"].as_str().unwrap_or_default();
        let answered = ms(meta, "answered_at").filter(|_| meta["disposition"] == "answered");
        let ami_stale = meta["source"] == "ami"
            && (cause.contains("no hangup seen")
                || answered.is_some_and(|a| ms(meta, "ended_at") == Some(a)));
        if cause.starts_with("timeout") || ami_stale {
            Heard::NoHangup
        } else {
            Heard::Events
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            zone: Zone::named("Asia/Tehran").unwrap(),
            short_abandon_ms: 5000,
            queues: HashMap::new(),
            first_response_minutes: 60,
            phone_queue: Some("q".into()),
            fax_queue: None,
            business: HashMap::new(),
        }
    }

    fn h(kind: &str, data: &str, secs: i64) -> HistRow {
        HistRow {
            conversation_id: "c".into(),
            kind: kind.into(),
            data: data.into(),
            created_at: secs * 1000,
            id: format!("{secs:05}"),
        }
    }

    #[test]
    fn handle_time_is_assigned_and_open_and_a_transfer_is_counted() {
        let conv = ConvRow {
            id: "c".into(),
            channel: "chat".into(),
            status: "resolved".into(),
            queue_id: Some("q2".into()),
            assignee_id: Some("b".into()),
            created_at: 0,
            first_response_at: Some(20_000),
            resolved_at: Some(500_000),
        };
        let history = [
            h("created", r#"{"queue_id":"q","status":"open"}"#, 0),
            h("assigned", r#"{"from":null,"to":"a"}"#, 10),
            h("transferred", r#"{"to_queue":"q2"}"#, 100),
            h("assigned", r#"{"from":null,"to":"b"}"#, 160),
            h("status_changed", r#"{"from":"open","to":"pending"}"#, 200),
            h(
                "status_changed",
                r#"{"from":"pending","to":"resolved"}"#,
                500,
            ),
        ];
        let f = of_conversation(&rules(), &conv, &history, &[], false);
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!((f.queue_id.as_str(), f.agent_id.as_str()), ("q", "a"));
        assert_eq!(
            (f.answered, f.within_target, f.wait_ms),
            (1, 1, Some(10_000))
        );
        assert_eq!(
            f.handle_ms,
            Some((90 + 340) * 1000),
            "10–100 with a, 160–500 with b"
        );
        assert_eq!((f.transfers, f.first_response_ms), (1, Some(20_000)));
    }

    #[test]
    fn an_unanswered_inbound_call_is_an_abandon_and_an_internal_one_is_no_contact() {
        let call = |direction: &str, disposition: &str| CallRow {
            id: "m".into(),
            conversation_id: "c".into(),
            meta: format!(
                r#"{{"kind":"call","direction":"{direction}","disposition":"{disposition}",
                "started_at":"2025-03-01T05:30:00Z","ended_at":"2025-03-01T05:30:03Z",
                "answered_at":null,"billsec":0}}"#
            ),
        };
        let f = of_call(&rules(), &call("inbound", "no_answer"), false, None).unwrap();
        assert_eq!((f.offered, f.abandoned, f.short_abandoned), (1, 1, 1));
        assert_eq!((f.queue_id.as_str(), f.day.as_str()), ("q", "2025-03-01"));
        assert!(of_call(&rules(), &call("internal", "answered"), false, None).is_none());
    }

    fn live(source: &str, extra: &str) -> CallRow {
        CallRow {
            id: "m".into(),
            conversation_id: "c".into(),
            meta: format!(
                r#"{{"kind":"call","direction":"inbound","disposition":"answered","source":"{source}",
                "started_at":"2025-03-01T05:30:00Z","answered_at":"2025-03-01T05:30:01.250Z",
                "ended_at":"2025-03-01T05:30:03.900Z","billsec":2{extra}}}"#
            ),
        }
    }

    #[test]
    fn a_live_call_counts_from_its_events_and_a_record_from_its_billable_seconds() {
        let f = of_call(&rules(), &live("cti", ""), false, None).unwrap();
        assert_eq!((f.wait_ms, f.handle_ms), (Some(1250), Some(2650)));
        let f = of_call(&rules(), &live("ami", ""), false, None).unwrap();
        assert_eq!((f.wait_ms, f.handle_ms), (Some(1250), Some(2650)));
        let completed = live("cti", r#","cdr_source":"asterisk""#);
        let f = of_call(&rules(), &completed, false, None).unwrap();
        assert_eq!(
            f.handle_ms,
            Some(2000),
            "completed by the PBX record: billsec"
        );
        let f = of_call(&rules(), &live("asterisk", ""), false, None).unwrap();
        assert_eq!(f.handle_ms, Some(2000));
    }

    #[test]
    fn a_live_call_without_a_hangup_has_no_talk_time_or_abandon_wait() {
        let stale = live("cti", r#","cause":"timeout: no hangup event""#);
        let f = of_call(&rules(), &stale, false, None).unwrap();
        assert_eq!((f.answered, f.wait_ms, f.handle_ms), (1, Some(1250), None));
        let ami = CallRow {
            meta: live("ami", "")
                .meta
                .replace("05:30:03.900Z", "05:30:01.250Z"),
            ..live("ami", "")
        };
        assert_eq!(
            of_call(&rules(), &ami, false, None).unwrap().handle_ms,
            None
        );
        let missed = CallRow {
            meta: stale.meta.replace(
                r#""disposition":"answered""#,
                r#""disposition":"no_answer""#,
            ),
            ..stale
        };
        let f = of_call(&rules(), &missed, false, None).unwrap();
        assert_eq!((f.abandoned, f.short_abandoned, f.wait_ms), (1, 0, None));
    }
}

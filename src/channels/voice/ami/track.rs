//! Following Asterisk's call events (Asterisk 13–20), linked by `Linkedid`, into calls: who
//! calls, which extensions ring, who answers, queue wait, transfers, and when the last channel
//! hangs up. Pure: the worker feeds events in and acts on the [`Effect`]s that come out.
//!
//! A call starts with the `Newchannel` of its first channel (`Uniqueid == Linkedid`) and ends
//! when every channel it gathered has hung up. An extension rings on `DialBegin` or
//! `AgentCalled` (its channel `PJSIP/201-…`, `SIP/201-…` or a queue's `Local/201@from-queue`),
//! is answered on `DialEnd` (`ANSWER`) or `AgentConnect` (with the queue's `HoldTime`); a later
//! agent in the call's bridge (`BridgeEnter`, `AttendedTransfer`, `BlindTransfer`) means the call
//! was transferred to them.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use switchboard_ami::Message;
use switchboard_voice::{channel_extension, count_digits, Direction, Disposition};

/// Extensions have at most this many digits (as the CDR parsers' default).
pub const EXTENSION_DIGITS: usize = 5;

/// What an event means for the contact center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The extension's phone rings for this call (first time only).
    Ring(String),
    /// The extension answered the call.
    Answer(String),
    /// The last channel hung up.
    End,
}

/// One call as followed so far (kept as JSON while it lasts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub linkedid: String,
    pub started_ms: i64,
    /// The first channel (a trunk for inbound calls, the agent's phone for outbound ones).
    pub channel: String,
    pub caller_num: String,
    pub caller_name: Option<String>,
    /// What the first channel dialled (the DID of an inbound call).
    pub exten: String,
    /// The external number an agent's phone dialled.
    pub dialled: Option<String>,
    /// Live channels (`Uniqueid`).
    pub channels: BTreeSet<String>,
    /// Extensions rung.
    pub rung: BTreeSet<String>,
    pub answered_by: Option<String>,
    pub answered_ms: Option<i64>,
    /// The agent the call was transferred to.
    pub transferred_to: Option<String>,
    pub queue: Option<String>,
    pub hold_secs: Option<u32>,
    pub abandoned: bool,
    pub dial_status: Option<String>,
    pub ended_ms: Option<i64>,
    /// When this node last saw an event of the call (its clock, not the PBX's).
    #[serde(default)]
    pub updated_ms: i64,
}

fn ext_of(channel: Option<&str>) -> Option<String> {
    channel_extension(channel?, EXTENSION_DIGITS)
}

fn is_external(number: &str) -> bool {
    count_digits(number) > EXTENSION_DIGITS
}

/// The external number in a dial string such as `PJSIP/09121234567@trunk` or
/// `trunk/09121234567`.
fn number_in(dial: &str) -> Option<String> {
    dial.split(['/', '@', '&', ','])
        .map(str::trim)
        .find(|part| is_external(part) && part.chars().all(|c| c == '+' || c.is_numeric()))
        .map(str::to_string)
}

impl Call {
    /// Whether the call was started by an agent's phone.
    fn by_agent(&self) -> bool {
        ext_of(Some(&self.channel)).is_some()
    }

    /// The agent's phone that started the call, if one did.
    pub fn origin_extension(&self) -> Option<String> {
        ext_of(Some(&self.channel))
    }

    pub fn direction(&self) -> Direction {
        if self.by_agent() {
            match &self.dialled {
                Some(_) => Direction::Outbound,
                None => Direction::Internal,
            }
        } else {
            Direction::Inbound
        }
    }

    /// Whether the call has a customer on it (not extension to extension).
    pub fn has_customer(&self) -> bool {
        self.direction() != Direction::Internal
    }

    /// Calling and called numbers, as a CDR would give them.
    pub fn parties(&self) -> (String, String) {
        match self.direction() {
            Direction::Outbound => (
                self.origin_extension().unwrap_or_default(),
                self.dialled.clone().unwrap_or_default(),
            ),
            _ => {
                let to = if count_digits(&self.exten) > 0 {
                    self.exten.clone()
                } else {
                    self.answered_by.clone().unwrap_or_default()
                };
                (self.caller_num.clone(), to)
            }
        }
    }

    pub fn disposition(&self) -> Disposition {
        if self.answered_ms.is_some() {
            return Disposition::Answered;
        }
        match self.dial_status.as_deref() {
            Some("BUSY") => Disposition::Busy,
            Some("CONGESTION" | "CHANUNAVAIL" | "INVALIDARGS") => Disposition::Failed,
            _ => Disposition::NoAnswer,
        }
    }

    /// What a CDR would call the cause: queue wait, abandonment, transfer.
    pub fn cause(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(q) = &self.queue {
            let wait = self
                .hold_secs
                .map(|s| format!(", waited {s}s"))
                .unwrap_or_default();
            if self.abandoned {
                parts.push(format!("abandoned in queue {q}{wait}"));
            } else {
                parts.push(format!("queue {q}{wait}"));
            }
        }
        if let Some(t) = &self.transferred_to {
            parts.push(format!("transferred to {t}"));
        }
        if parts.is_empty() {
            if let Some(s) = self
                .dial_status
                .as_deref()
                .filter(|_| self.answered_ms.is_none())
            {
                parts.push(s.to_string());
            }
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The event's time: its `Timestamp` (manager.conf `timestampevents = yes`), else `now`.
pub fn event_ms(ev: &Message, now: i64) -> i64 {
    ev.get("Timestamp")
        .and_then(|t| t.parse::<f64>().ok())
        .map(|t| (t * 1000.0) as i64)
        .unwrap_or(now)
}

/// The calls of one PBX in progress.
#[derive(Debug, Default)]
pub struct Tracker {
    pub calls: HashMap<String, Call>,
}

impl Tracker {
    /// Feed one event. Returns the Linkedid of the call it changed and what it means, or
    /// `None` when it changes no call.
    pub fn apply(&mut self, ev: &Message, now: i64) -> Option<(String, Vec<Effect>)> {
        let at = event_ms(ev, now);
        let name = ev.event()?;
        if name == "Newchannel" {
            return self.new_channel(ev, at, now);
        }
        if name == "AttendedTransfer" {
            // The transfer target's channel leaves the consultation call for the customer's.
            if let Some(u) = ev.value("TransferTargetUniqueid") {
                self.calls.values_mut().for_each(|c| {
                    c.channels.remove(u);
                });
            }
        }
        let key = self.call_of(ev, name)?;
        let call = self.calls.get_mut(&key)?;
        call.updated_ms = now;
        let effects = match name {
            "DialBegin" => dial_begin(call, ev),
            "AgentCalled" => ring(
                call,
                ext_of(ev.value("Interface")).or(ext_of(ev.value("DestChannel"))),
            ),
            "DialEnd" => dial_end(call, ev, at),
            "AgentConnect" => {
                call.hold_secs = ev.value("HoldTime").and_then(|h| h.parse().ok());
                call.queue = ev.value("Queue").map(str::to_string).or(call.queue.take());
                let ext = ext_of(ev.value("Interface")).or(ext_of(ev.value("DestChannel")));
                answer(call, ext, at)
            }
            "BridgeEnter" => {
                joined(call, ext_of(ev.value("Channel")));
                Vec::new()
            }
            "AttendedTransfer" | "BlindTransfer" => transfer(call, ev),
            "QueueCallerJoin" => {
                call.queue = ev.value("Queue").map(str::to_string);
                Vec::new()
            }
            "QueueCallerAbandon" => {
                call.abandoned = true;
                call.queue = ev.value("Queue").map(str::to_string).or(call.queue.take());
                call.hold_secs = ev.value("HoldTime").and_then(|h| h.parse().ok());
                Vec::new()
            }
            "Hangup" => {
                if let Some(u) = ev.value("Uniqueid") {
                    call.channels.remove(u);
                }
                if call.channels.is_empty() {
                    call.ended_ms = Some(at);
                    vec![Effect::End]
                } else {
                    Vec::new()
                }
            }
            _ => return None,
        };
        Some((key, effects))
    }

    /// The call an event belongs to: the one holding its channel, else its `Linkedid`.
    fn call_of(&self, ev: &Message, name: &str) -> Option<String> {
        let linked = match name {
            "AttendedTransfer" => ev
                .value("TransfereeLinkedid")
                .or(ev.value("OrigTransfererLinkedid")),
            "BlindTransfer" => ev
                .value("TransfereeLinkedid")
                .or(ev.value("TransfererLinkedid")),
            _ => ev.value("Linkedid"),
        };
        if let Some(u) = ev.value("Uniqueid") {
            if let Some((k, _)) = self.calls.iter().find(|(_, c)| c.channels.contains(u)) {
                return Some(k.clone());
            }
        }
        linked
            .filter(|l| self.calls.contains_key(*l))
            .map(str::to_string)
    }

    fn new_channel(&mut self, ev: &Message, at: i64, now: i64) -> Option<(String, Vec<Effect>)> {
        let linked = ev.value("Linkedid")?.to_string();
        let unique = ev.value("Uniqueid")?.to_string();
        if let Some(call) = self.calls.get_mut(&linked) {
            call.channels.insert(unique);
            call.updated_ms = now;
            return Some((linked, Vec::new()));
        }
        if unique != linked {
            // A channel of a call that started before this node followed the PBX.
            return None;
        }
        let call = Call {
            linkedid: linked.clone(),
            started_ms: at,
            channel: ev.value("Channel").unwrap_or_default().to_string(),
            caller_num: ev.value("CallerIDNum").unwrap_or_default().to_string(),
            caller_name: ev.value("CallerIDName").map(str::to_string),
            exten: ev
                .value("Exten")
                .filter(|e| *e != "s")
                .unwrap_or_default()
                .to_string(),
            channels: BTreeSet::from([unique]),
            updated_ms: now,
            ..Call::default()
        };
        self.calls.insert(linked.clone(), call);
        Some((linked, Vec::new()))
    }
}

fn ring(call: &mut Call, ext: Option<String>) -> Vec<Effect> {
    match ext {
        Some(ext) if call.rung.insert(ext.clone()) => vec![Effect::Ring(ext)],
        _ => Vec::new(),
    }
}

fn dial_begin(call: &mut Call, ev: &Message) -> Vec<Effect> {
    let dest = ext_of(ev.value("DestChannel"));
    if call.by_agent() {
        if dest.is_none() && call.dialled.is_none() {
            // An agent's phone calling out: the number is what it dialled.
            let exten = ev
                .value("Exten")
                .filter(|e| is_external(e))
                .map(str::to_string);
            call.dialled = exten.or_else(|| ev.value("DialString").and_then(number_in));
        }
        // The agent's own call, or extension to extension: no colleague's console pops up.
        return Vec::new();
    }
    ring(call, dest)
}

fn dial_end(call: &mut Call, ev: &Message, at: i64) -> Vec<Effect> {
    let status = ev.value("DialStatus").unwrap_or("").to_ascii_uppercase();
    if status != "ANSWER" {
        if call.answered_ms.is_none() && !status.is_empty() {
            call.dial_status = Some(status);
        }
        return Vec::new();
    }
    match ext_of(ev.value("DestChannel")) {
        Some(ext) if Some(&ext) != call.origin_extension().as_ref() => answer(call, Some(ext), at),
        // The far end of an agent's outgoing call answered.
        _ if call.dialled.is_some() => answer(call, call.origin_extension(), at),
        _ => Vec::new(),
    }
}

fn answer(call: &mut Call, ext: Option<String>, at: i64) -> Vec<Effect> {
    let Some(ext) = ext else {
        return Vec::new();
    };
    if !call.has_customer() {
        return Vec::new();
    }
    match &call.answered_by {
        None => {
            call.answered_by = Some(ext.clone());
            call.answered_ms = Some(at);
            vec![Effect::Answer(ext)]
        }
        Some(first) if *first != ext => {
            call.transferred_to = Some(ext);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// An agent's channel entered the call's bridge: after the first agent, a transfer.
fn joined(call: &mut Call, ext: Option<String>) {
    let Some(ext) = ext else { return };
    let first = call.answered_by.as_ref();
    if first.is_some() && first != Some(&ext) && Some(&ext) != call.origin_extension().as_ref() {
        call.transferred_to = Some(ext);
    }
}

fn transfer(call: &mut Call, ev: &Message) -> Vec<Effect> {
    if ev
        .value("Result")
        .is_some_and(|r| !r.eq_ignore_ascii_case("Success"))
    {
        return Vec::new();
    }
    let target = ext_of(ev.value("TransferTargetChannel")).or_else(|| {
        ev.value("Extension")
            .filter(|e| !is_external(e))
            .map(str::to_string)
    });
    if let Some(u) = ev.value("TransferTargetUniqueid") {
        call.channels.insert(u.to_string());
    }
    if let Some(t) = target.filter(|t| call.answered_by.as_ref() != Some(t)) {
        call.transferred_to = Some(t);
    }
    Vec::new()
}

#[cfg(test)]
#[path = "track_tests.rs"]
mod tests;

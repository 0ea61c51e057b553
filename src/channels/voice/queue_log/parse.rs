//! Asterisk's queue log, one event per line: `epoch|callid|queue|agent|event|data1|data2|…`
//! (`/var/log/asterisk/queue_log`), and what each event does to the call it names.
//!
//! | event | data | effect on the call |
//! |---|---|---|
//! | `ENTERQUEUE` | url, caller id, position | waiting in `queue` since `epoch` (again after an overflow: the earlier wait is kept and added to) |
//! | `CONNECT` | holdtime, bridged uniqueid, ringtime | `answered` by `agent` after `holdtime` |
//! | `ABANDON` | position, original position, waittime | `abandoned` after `waittime` |
//! | `EXITWITHTIMEOUT` / `EXITEMPTY` | position, original position, waittime | `timeout` / `empty` |
//! | `EXITWITHKEY` | key, position, original position, waittime | `exit_key` |
//! | `COMPLETECALLER` / `COMPLETEAGENT` | holdtime, calltime, original position | talk time; ended by `caller` / `agent` |
//! | `TRANSFER`, `BLINDTRANSFER`, `ATTENDEDTRANSFER` | …, holdtime, calltime, original position | talk time; ended by `transfer` |
//! | `RINGNOANSWER` | ring time (ms) | one more agent rung without answer |
//!
//! `ADDMEMBER`, `REMOVEMEMBER`, `PAUSE`, `UNPAUSE`, `PAUSEALL`, `UNPAUSEALL` are agents'
//! events (callid `NONE`); others (`QUEUESTART`, `CONFIGRELOAD`, `DID`, …) are ignored.

use switchboard_voice::{ascii_digits, channel_extension};

/// One queue log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    /// Unix milliseconds.
    pub at: i64,
    pub call_id: String,
    pub queue: String,
    pub agent: String,
    pub event: String,
    pub data: Vec<String>,
}

/// Parse one line (without its newline); `None` for lines that are not queue events.
pub fn parse_line(line: &str) -> Option<QueueLine> {
    let mut parts = line.trim_end_matches('\r').split('|');
    let epoch: i64 = parts.next()?.trim().parse().ok()?;
    let call_id = parts.next()?.trim().to_string();
    let queue = parts.next()?.trim().to_string();
    let agent = parts.next()?.trim().to_string();
    let event = parts.next()?.trim().to_ascii_uppercase();
    if event.is_empty() {
        return None;
    }
    Some(QueueLine {
        at: epoch * 1000,
        call_id,
        queue,
        agent,
        event,
        data: parts.map(|p| p.trim().to_string()).collect(),
    })
}

/// The extension of a queue member as logged: `PJSIP/201`, `SIP/201`,
/// `Local/201@from-queue/n`, or a bare `201`.
pub fn member_extension(agent: &str) -> Option<String> {
    let agent = agent.trim();
    let digits = !agent.is_empty() && agent.chars().all(|c| c.is_ascii_digit());
    if digits && agent.len() <= 5 {
        return Some(agent.to_string());
    }
    let normalised = ascii_digits(agent).replace("/n", "");
    channel_extension(&normalised, 5)
}

/// Whether `event` is a queue member's (agent's) own event.
pub fn is_member_event(event: &str) -> bool {
    matches!(
        event,
        "ADDMEMBER" | "REMOVEMEMBER" | "PAUSE" | "UNPAUSE" | "PAUSEALL" | "UNPAUSEALL"
    )
}

/// What the queue log says about one call (a row of `voice_queue_calls`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueCall {
    pub call_id: String,
    pub queue: String,
    pub caller: Option<String>,
    pub entered_at: i64,
    pub wait_secs: Option<i64>,
    /// `waiting`, `answered`, `abandoned`, `timeout`, `empty` or `exit_key`.
    pub outcome: String,
    pub agent: Option<String>,
    pub agent_extension: Option<String>,
    pub talk_secs: Option<i64>,
    /// `caller`, `agent` or `transfer`.
    pub ended_by: Option<String>,
    pub rang: i64,
    pub ended_at: Option<i64>,
}

fn num(data: &[String], i: usize) -> Option<i64> {
    data.get(i).and_then(|d| d.trim().parse().ok())
}

/// The wait so far: time in earlier queues (overflow) plus `secs` in this one.
fn waited(call: &QueueCall, secs: Option<i64>) -> Option<i64> {
    match (call.outcome.as_str(), call.wait_secs, secs) {
        ("waiting", prior, Some(s)) => Some(prior.unwrap_or(0) + s),
        (_, prior, None) => prior,
        (_, prior, Some(s)) => prior.or(Some(s)),
    }
}

/// Apply a call event to what is known of its call (`None`: nothing yet). Returns the new
/// state, or `None` when the event says nothing about a call.
pub fn apply(call: Option<QueueCall>, line: &QueueLine) -> Option<QueueCall> {
    let d = &line.data;
    if line.event == "ENTERQUEUE" {
        return Some(match call {
            // The same line read again (after a crash between storing and the offset).
            Some(c) if c.entered_at == line.at && c.queue == line.queue => c,
            // Overflow from another queue: the wait goes on.
            Some(c) if c.outcome != "answered" => QueueCall {
                queue: line.queue.clone(),
                outcome: "waiting".into(),
                ended_at: None,
                ..c
            },
            _ => QueueCall {
                call_id: line.call_id.clone(),
                queue: line.queue.clone(),
                caller: d.get(1).filter(|c| !c.is_empty()).cloned(),
                entered_at: line.at,
                wait_secs: None,
                outcome: "waiting".into(),
                agent: None,
                agent_extension: None,
                talk_secs: None,
                ended_by: None,
                rang: 0,
                ended_at: None,
            },
        });
    }
    let mut c = call?;
    let end = |c: &mut QueueCall, outcome: &str, wait: Option<i64>| {
        c.wait_secs = waited(c, wait);
        c.outcome = outcome.into();
        c.ended_at = Some(line.at);
    };
    match line.event.as_str() {
        "CONNECT" => {
            c.wait_secs = waited(&c, num(d, 0));
            c.outcome = "answered".into();
            c.agent = Some(line.agent.clone());
            c.agent_extension = member_extension(&line.agent);
        }
        "ABANDON" => end(&mut c, "abandoned", num(d, 2)),
        "EXITWITHTIMEOUT" => end(&mut c, "timeout", num(d, 2)),
        "EXITEMPTY" => end(&mut c, "empty", num(d, 2)),
        "EXITWITHKEY" => end(&mut c, "exit_key", num(d, 3)),
        "COMPLETECALLER" | "COMPLETEAGENT" => {
            if c.outcome != "answered" {
                c.wait_secs = waited(&c, num(d, 0));
                c.outcome = "answered".into();
                c.agent = Some(line.agent.clone());
                c.agent_extension = member_extension(&line.agent);
            }
            c.talk_secs = num(d, 1);
            c.ended_by = Some(
                if line.event == "COMPLETECALLER" {
                    "caller"
                } else {
                    "agent"
                }
                .into(),
            );
            c.ended_at = Some(line.at);
        }
        "TRANSFER" | "BLINDTRANSFER" | "ATTENDEDTRANSFER" => {
            // …, holdtime, calltime, original position.
            let n = d.len();
            c.talk_secs = n.checked_sub(2).and_then(|i| num(d, i));
            c.ended_by = Some("transfer".into());
            c.ended_at = Some(line.at);
        }
        "RINGNOANSWER" => c.rang += 1,
        _ => return None,
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Option<QueueCall> {
        lines
            .iter()
            .map(|l| parse_line(l).unwrap())
            .fold(None, |c, l| apply(c.clone(), &l).or(c))
    }

    #[test]
    fn an_answered_call_has_its_wait_agent_and_talk_time() {
        let c = run(&[
            "1772345045|1772345045.10|400|NONE|ENTERQUEUE||09121234567|1",
            "1772345060|1772345045.10|400|PJSIP/201|RINGNOANSWER|15000",
            "1772345080|1772345045.10|400|Local/202@from-queue/n|CONNECT|35|1772345062.14|20",
            "1772345200|1772345045.10|400|Local/202@from-queue/n|COMPLETECALLER|35|120|1",
        ])
        .unwrap();
        assert_eq!(c.outcome, "answered");
        assert_eq!(c.wait_secs, Some(35));
        assert_eq!(c.agent_extension.as_deref(), Some("202"));
        assert_eq!((c.rang, c.talk_secs), (1, Some(120)));
        assert_eq!(c.ended_by.as_deref(), Some("caller"));
        assert_eq!(c.caller.as_deref(), Some("09121234567"));
    }

    #[test]
    fn an_overflow_adds_the_waits_of_both_queues() {
        let c = run(&[
            "100|a.1|400|NONE|ENTERQUEUE||0912|1",
            "130|a.1|400|NONE|EXITWITHTIMEOUT|1|1|30",
            "131|a.1|401|NONE|ENTERQUEUE||0912|1",
            "151|a.1|401|NONE|ABANDON|1|1|20",
        ])
        .unwrap();
        assert_eq!((c.queue.as_str(), c.outcome.as_str()), ("401", "abandoned"));
        assert_eq!(c.wait_secs, Some(50));
        assert_eq!(c.entered_at, 100_000);
    }

    #[test]
    fn members_map_to_extensions() {
        assert_eq!(member_extension("PJSIP/201").as_deref(), Some("201"));
        assert_eq!(member_extension("SIP/۲۰۳").as_deref(), Some("203"));
        assert_eq!(
            member_extension("Local/204@from-queue/n").as_deref(),
            Some("204")
        );
        assert_eq!(member_extension("205").as_deref(), Some("205"));
        assert_eq!(member_extension("Sara Ahmadi"), None);
        assert!(parse_line("not a queue line").is_none());
    }
}

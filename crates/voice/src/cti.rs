//! Pushed call-control events.
//!
//! Accepts Zammad's generic CTI events (`newCall`, `answer`, `hangup`) and
//! our own fax event, either as a JSON object or as an
//! `application/x-www-form-urlencoded` body. `user` may be given once, as a
//! JSON array, or repeated (`user[]=a&user[]=b`, Zammad's form style).
//!
//! ```json
//! { "event": "fax", "direction": "in", "from": "02188776655", "to": "02133445566",
//!   "faxId": "f-81", "pages": 3, "status": "ok", "reason": null, "at": "2025-03-01T08:30:00Z" }
//! ```

use std::collections::HashMap;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::record::{CallRecord, ContactKind, Direction, Disposition, Source};

/// Why a CTI body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtiError {
    /// The body is not valid JSON.
    #[error("invalid JSON body: {0}")]
    Json(String),
    /// The JSON body is not an object.
    #[error("JSON body must be an object")]
    NotAnObject,
    /// The body is not valid form encoding.
    #[error("invalid form body: {0}")]
    Form(String),
    /// A required field is absent or empty.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field has an unusable value.
    #[error("invalid value for `{field}`: {reason}")]
    Invalid {
        /// Field name as sent.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `event` is not one we know.
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
}

/// Reason a call ended, as sent in a `hangup` event's `cause`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HangupCause {
    /// `normalClearing`: ended normally after being answered.
    NormalClearing,
    /// `busy`.
    Busy,
    /// `cancel`: the caller gave up before an answer.
    Cancel,
    /// `noAnswer`.
    NoAnswer,
    /// `congestion`.
    Congestion,
    /// `notFound`: number does not exist.
    NotFound,
    /// `forwarded`: the call was passed elsewhere.
    Forwarded,
    /// Anything else, kept verbatim.
    Other(String),
}

impl HangupCause {
    fn parse(s: &str) -> Self {
        match s {
            "normalClearing" => Self::NormalClearing,
            "busy" => Self::Busy,
            "cancel" => Self::Cancel,
            "noAnswer" => Self::NoAnswer,
            "congestion" => Self::Congestion,
            "notFound" => Self::NotFound,
            "forwarded" => Self::Forwarded,
            other => Self::Other(other.to_string()),
        }
    }

    /// Reduced outcome. `normalClearing` and `forwarded` count as answered
    /// (the caller reached someone); unknown causes as failed.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::NormalClearing | Self::Forwarded => Disposition::Answered,
            Self::Busy => Disposition::Busy,
            Self::Cancel | Self::NoAnswer => Disposition::NoAnswer,
            Self::Congestion | Self::NotFound | Self::Other(_) => Disposition::Failed,
        }
    }
}

/// Outcome reported by a fax event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaxStatus {
    /// `"ok"`.
    Ok,
    /// `"failed"`.
    Failed,
}

/// One pushed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtiEvent {
    /// A call starts ringing.
    NewCall {
        /// `callId`, unique per call.
        call_id: String,
        /// Calling number as sent (may be `anonymous`).
        from: String,
        /// Called number as sent.
        to: String,
        /// `in` → inbound, `out` → outbound.
        direction: Direction,
        /// Agent names involved (`user`, `user[]`).
        users: Vec<String>,
        /// Queue name, if any.
        queue: Option<String>,
    },
    /// Someone picked up.
    Answer {
        /// `callId`.
        call_id: String,
        /// Calling number.
        from: String,
        /// Called number.
        to: String,
        /// Direction.
        direction: Direction,
        /// Agent names involved.
        users: Vec<String>,
        /// Who answered (`answeringNumber`: extension, login or e-mail).
        answering_number: Option<String>,
    },
    /// The call ended.
    Hangup {
        /// `callId`.
        call_id: String,
        /// Calling number.
        from: String,
        /// Called number.
        to: String,
        /// Direction.
        direction: Direction,
        /// `cause`, when given.
        cause: Option<HangupCause>,
        /// `answeringNumber`, when given.
        answering_number: Option<String>,
        /// `recordingUrl` (our extension), when given.
        recording_url: Option<String>,
    },
    /// A fax was sent or received (our extension).
    Fax {
        /// `faxId`, unique per fax.
        fax_id: String,
        /// Direction.
        direction: Direction,
        /// Sending number.
        from: String,
        /// Receiving number.
        to: String,
        /// Pages transferred.
        pages: u32,
        /// `ok` or `failed`.
        status: FaxStatus,
        /// Failure reason, when given.
        reason: Option<String>,
        /// When it happened (RFC 3339 or Unix seconds), when given.
        at: Option<OffsetDateTime>,
    },
}

impl CtiEvent {
    /// Turns a fax event into a [`CallRecord`]; `None` for call events,
    /// which the server correlates by `callId` itself. `received_at` is used
    /// when the event carries no `at`.
    pub fn fax_record(&self, received_at: OffsetDateTime) -> Option<CallRecord> {
        let CtiEvent::Fax {
            fax_id,
            direction,
            from,
            to,
            pages,
            status,
            reason,
            at,
        } = self
        else {
            return None;
        };
        let ok = *status == FaxStatus::Ok;
        Some(CallRecord {
            source: Source::Cti,
            kind: ContactKind::Fax,
            external_id: fax_id.clone(),
            direction: *direction,
            from: from.clone(),
            to: to.clone(),
            caller_name: None,
            started_at: at.unwrap_or(received_at),
            answered_at: None,
            ended_at: None,
            duration_secs: 0,
            billable_secs: 0,
            disposition: if ok {
                Disposition::Answered
            } else {
                Disposition::Failed
            },
            agent_extension: None,
            recording_url: None,
            fax_pages: Some(*pages),
            fax_status: Some(if ok { "ok" } else { "failed" }.to_string()),
            raw_cause: reason.clone(),
        })
    }
}

/// Field name → values, from either encoding. `user[]` is folded into `user`.
type Fields = HashMap<String, Vec<String>>;

/// Parses a JSON CTI body.
pub fn parse_cti_json(body: &[u8]) -> Result<CtiEvent, CtiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| CtiError::Json(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(CtiError::NotAnObject);
    };
    let mut fields = Fields::new();
    for (key, v) in map {
        let values = match v {
            Value::Null => continue,
            Value::Array(items) => items.into_iter().filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        };
        push(&mut fields, &key, values);
    }
    build(&fields)
}

/// Parses an `application/x-www-form-urlencoded` CTI body.
pub fn parse_cti_form(body: &[u8]) -> Result<CtiEvent, CtiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| CtiError::Form(e.to_string()))?;
    let mut fields = Fields::new();
    for (key, value) in pairs {
        push(&mut fields, &key, vec![value]);
    }
    build(&fields)
}

fn scalar(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every field of both encodings passes here: NUL characters (which databases cannot store
/// in text) are dropped.
fn push(fields: &mut Fields, key: &str, values: Vec<String>) {
    let key = key.strip_suffix("[]").unwrap_or(key).replace('\0', "");
    let values = values.into_iter().map(|v| v.replace('\0', ""));
    fields.entry(key).or_default().extend(values);
}

/// First non-blank value of `key`, trimmed.
fn opt(fields: &Fields, key: &str) -> Option<String> {
    fields
        .get(key)?
        .iter()
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
        .map(str::to_string)
}

fn req(fields: &Fields, key: &'static str) -> Result<String, CtiError> {
    opt(fields, key).ok_or(CtiError::Missing(key))
}

fn direction(fields: &Fields) -> Result<Direction, CtiError> {
    match req(fields, "direction")?.as_str() {
        "in" => Ok(Direction::Inbound),
        "out" => Ok(Direction::Outbound),
        other => Err(CtiError::Invalid {
            field: "direction",
            reason: format!("expected \"in\" or \"out\", got {other:?}"),
        }),
    }
}

fn users(fields: &Fields) -> Vec<String> {
    fields
        .get("user")
        .map(|v| {
            v.iter()
                .map(|u| u.trim())
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn build(fields: &Fields) -> Result<CtiEvent, CtiError> {
    let event = req(fields, "event")?;
    if event == "fax" {
        return build_fax(fields);
    }
    let call_id = req(fields, "callId")?;
    let from = req(fields, "from")?;
    let to = req(fields, "to")?;
    let direction = direction(fields)?;
    match event.as_str() {
        "newCall" => Ok(CtiEvent::NewCall {
            call_id,
            from,
            to,
            direction,
            users: users(fields),
            queue: opt(fields, "queue"),
        }),
        "answer" => Ok(CtiEvent::Answer {
            call_id,
            from,
            to,
            direction,
            users: users(fields),
            answering_number: opt(fields, "answeringNumber"),
        }),
        "hangup" => Ok(CtiEvent::Hangup {
            call_id,
            from,
            to,
            direction,
            cause: opt(fields, "cause").map(|c| HangupCause::parse(&c)),
            answering_number: opt(fields, "answeringNumber"),
            recording_url: opt(fields, "recordingUrl"),
        }),
        _ => Err(CtiError::UnknownEvent(event)),
    }
}

fn build_fax(fields: &Fields) -> Result<CtiEvent, CtiError> {
    let pages_raw = req(fields, "pages")?;
    let pages = pages_raw.parse::<u32>().map_err(|_| CtiError::Invalid {
        field: "pages",
        reason: format!("not a page count: {pages_raw:?}"),
    })?;
    let status = match req(fields, "status")?.as_str() {
        "ok" => FaxStatus::Ok,
        "failed" => FaxStatus::Failed,
        other => {
            return Err(CtiError::Invalid {
                field: "status",
                reason: format!("expected \"ok\" or \"failed\", got {other:?}"),
            })
        }
    };
    let at = match opt(fields, "at") {
        None => None,
        Some(s) => Some(parse_at(&s)?),
    };
    Ok(CtiEvent::Fax {
        fax_id: req(fields, "faxId")?,
        direction: direction(fields)?,
        from: req(fields, "from")?,
        to: req(fields, "to")?,
        pages,
        status,
        reason: opt(fields, "reason"),
        at,
    })
}

/// RFC 3339 timestamp or Unix seconds.
fn parse_at(s: &str) -> Result<OffsetDateTime, CtiError> {
    let invalid = || CtiError::Invalid {
        field: "at",
        reason: format!("expected RFC 3339 or Unix seconds, got {s:?}"),
    };
    if let Ok(secs) = s.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp(secs).map_err(|_| invalid());
    }
    let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| invalid())?;
    t.checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(invalid)
}

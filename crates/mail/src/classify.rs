//! Auto-reply, bulk and bounce classification.

use crate::parse::{clean_id, normalize_email};
use crate::AutoKind;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// Classifies a parsed `mail_parser` message. See [`AutoKind`] for the
/// signals used and their precedence.
pub(crate) fn classify(message: &Message<'_>) -> AutoKind {
    if let Some(kind) = delivery_status_report(message) {
        return kind;
    }
    if from_mailer_daemon(message) {
        return bounce_from_text(message);
    }
    if is_auto_reply(message) {
        return AutoKind::AutoReply;
    }
    if let Some(rp) = raw_header(message, "Return-Path") {
        if rp
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .is_empty()
        {
            return bounce_from_text(message);
        }
    }
    if is_bulk(message) {
        return AutoKind::Bulk;
    }
    AutoKind::None
}

/// First header with this name (case-insensitive), raw and trimmed.
fn raw_header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message
        .headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn is_auto_reply(message: &Message<'_>) -> bool {
    let auto_submitted = raw_header(message, "Auto-Submitted")
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| !v.is_empty() && v != "no");
    let precedence = raw_header(message, "Precedence")
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("auto_reply"));
    let receipt = report_type(message).is_some_and(|t| t == "disposition-notification");
    auto_submitted
        || precedence
        || receipt
        || raw_header(message, "X-Autoreply").is_some()
        || raw_header(message, "X-Autorespond").is_some()
}

fn is_bulk(message: &Message<'_>) -> bool {
    let precedence = raw_header(message, "Precedence")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "bulk" | "junk" | "list"));
    precedence
        || raw_header(message, "List-Id").is_some()
        || raw_header(message, "List-Unsubscribe").is_some()
}

fn from_mailer_daemon(message: &Message<'_>) -> bool {
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let local = from.split('@').next().unwrap_or_default();
    matches!(local, "mailer-daemon" | "postmaster" | "mail-daemon")
}

/// `report-type` of a top-level `multipart/report`, lowercased.
fn report_type(message: &Message<'_>) -> Option<String> {
    let ct = message.root_part().content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"));
    is_report.then(|| {
        ct.attribute("report-type")
            .unwrap_or_default()
            .to_ascii_lowercase()
    })
}

fn delivery_status_report(message: &Message<'_>) -> Option<AutoKind> {
    if report_type(message)? != "delivery-status" {
        return None;
    }
    let mut status = None;
    let mut recipient = None;
    let mut original_message_id = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let sub = ct.subtype().unwrap_or_default().to_ascii_lowercase();
        match (ct.ctype().to_ascii_lowercase().as_str(), sub.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                let fields = String::from_utf8_lossy(part.contents()).into_owned();
                status = status.or_else(|| dsn_field(&fields, "status"));
                recipient = recipient
                    .or_else(|| dsn_field(&fields, "final-recipient").and_then(recipient_of))
                    .or_else(|| dsn_field(&fields, "original-recipient").and_then(recipient_of));
            }
            ("message", "rfc822" | "global") | ("text", "rfc822-headers") => {
                original_message_id = original_message_id.or_else(|| original_id(part));
            }
            _ => {}
        }
    }
    let fallback = bounce_from_text(message);
    let AutoKind::Bounce {
        original_message_id: f_id,
        status: f_status,
        recipient: f_rcpt,
    } = fallback
    else {
        return None;
    };
    Some(AutoKind::Bounce {
        original_message_id: original_message_id.or(f_id),
        status: status.or(f_status),
        recipient: recipient.or(f_rcpt),
    })
}

fn original_id(part: &mail_parser::MessagePart<'_>) -> Option<String> {
    match &part.body {
        PartType::Message(inner) => inner.message_id().map(clean_id),
        _ => MessageParser::default()
            .parse_headers(part.contents())
            .and_then(|m| m.message_id().map(clean_id)),
    }
    .filter(|id| !id.is_empty())
}

/// Value of a `Name: value` line in DSN per-recipient fields.
fn dsn_field(fields: &str, name: &str) -> Option<String> {
    fields.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// `rfc822; user@example.com` → `user@example.com`.
fn recipient_of(value: String) -> Option<String> {
    let addr = value.rsplit_once(';').map_or(value.as_str(), |(_, a)| a);
    normalize_email(addr)
}

/// Best-effort details from a bounce's headers and human-readable text.
fn bounce_from_text(message: &Message<'_>) -> AutoKind {
    let mut original_message_id = None;
    for part in &message.parts {
        if let PartType::Message(inner) = &part.body {
            original_message_id = inner.message_id().map(clean_id).filter(|s| !s.is_empty());
            if original_message_id.is_some() {
                break;
            }
        }
    }
    let mut text = String::new();
    for part in &message.parts {
        if let PartType::Text(t) = &part.body {
            text.push_str(t);
            text.push('\n');
        }
    }
    if original_message_id.is_none() {
        original_message_id = dsn_field(&text, "message-id")
            .map(|v| clean_id(&v))
            .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace));
    }
    let recipient = raw_header(message, "X-Failed-Recipients")
        .and_then(|v| normalize_email(v.split(',').next().unwrap_or_default()))
        .or_else(|| dsn_field(&text, "final-recipient").and_then(recipient_of));
    AutoKind::Bounce {
        original_message_id,
        status: dsn_field(&text, "status")
            .filter(|s| is_status_code(s))
            .or_else(|| find_status_code(&text)),
        recipient,
    }
}

fn is_status_code(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// First enhanced status code (`5.1.1`) appearing as a word in `text`.
fn find_status_code(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|w| w.trim_end_matches('.'))
        .find(|w| is_status_code(w))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_recognised_only_in_the_enhanced_form() {
        assert!(is_status_code("5.1.1"));
        assert!(is_status_code("4.7.100"));
        assert!(!is_status_code("3.1.1"));
        assert!(!is_status_code("5.1"));
        assert_eq!(
            find_status_code("host said: 550 5.1.1 user unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(find_status_code("version 1.2.3.4"), None);
    }
}

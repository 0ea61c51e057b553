//! Raw bytes to [`ParsedEmail`].

use crate::{
    classify, quote, recover, sanitize, Address, Attachment, Limits, MailError, ParsedEmail,
};
use mail_parser::decoders::html::html_to_text;
use mail_parser::{HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// Domain used for synthetic message ids (`.invalid` is reserved, RFC 2606).
const SYNTHETIC_DOMAIN: &str = "synthetic.switchboard.invalid";

/// Parses one raw message.
///
/// Fails only when the bytes are not a message at all (empty, binary data,
/// no header fields) or exceed `limits.max_message_bytes`; anything else
/// (broken MIME, unknown charsets, missing headers) yields a best-effort
/// result.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<ParsedEmail, MailError> {
    if raw.len() > limits.max_message_bytes {
        return Err(MailError::TooLarge {
            size: raw.len(),
            limit: limits.max_message_bytes,
        });
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MailError::Empty);
    }
    check_header_start(raw)?;
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| MailError::NotMime("no message structure found".into()))?;
    if message.headers().is_empty() {
        return Err(MailError::NoHeaders);
    }

    let content_hash = hex::encode(Sha256::digest(raw));
    let (message_id, message_id_synthetic) = match message.message_id().map(clean_id) {
        Some(id) if !id.is_empty() => (id, false),
        _ => (format!("{}@{SYNTHETIC_DOMAIN}", &content_hash[..32]), true),
    };

    let from = message
        .from()
        .or_else(|| message.sender())
        .and_then(|a| a.first())
        .map(convert_addr)
        .unwrap_or_default();
    let reply_to = message
        .reply_to()
        .and_then(|a| a.first())
        .map(convert_addr)
        .filter(|a| a.email.is_some());

    let text = body_text(&message);
    let html = html_source(&message);
    let text_unquoted = match (&html, has_plain_text(&message)) {
        (Some(h), false) => quote::fold_quotes(&html_to_text(&quote::strip_html_quotes(h))),
        _ => quote::fold_quotes(&text),
    };
    let html_sanitized = html.as_deref().map(sanitize::sanitize_html);
    let (attachments, dropped_attachments) = collect_attachments(&message, limits);

    let mut parsed = ParsedEmail {
        message_id,
        message_id_synthetic,
        content_hash,
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        subject: message.subject().unwrap_or_default().trim().to_string(),
        from,
        reply_to,
        to: message
            .to()
            .map(|a| a.iter().map(convert_addr).collect())
            .unwrap_or_default(),
        cc: message
            .cc()
            .map(|a| a.iter().map(convert_addr).collect())
            .unwrap_or_default(),
        date: message
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp()),
        text,
        text_unquoted,
        html_sanitized,
        attachments,
        dropped_attachments,
        auto: classify::classify(&message),
        size: raw.len(),
    };
    parsed.strip_nul();
    Ok(parsed)
}

/// Rejects input whose first line is not a header field (binary data,
/// HTML files, …). An mbox `From ` separator line is tolerated.
fn check_header_start(raw: &[u8]) -> Result<(), MailError> {
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let head = &raw[start..raw.len().min(start + 4096)];
    let mut lines = head.split(|&b| b == b'\n');
    let mut first = lines.next().unwrap_or_default();
    if first.starts_with(b"From ") {
        first = lines.next().unwrap_or_default();
    }
    let colon = first.iter().position(|&b| b == b':');
    let name_ok = colon.is_some_and(|c| {
        c > 0
            && first[..c]
                .iter()
                .all(|&b| b.is_ascii_graphic() && b != b':')
    });
    if !name_ok {
        return Err(MailError::NotMime(
            "first line is not a header field".into(),
        ));
    }
    if head.contains(&0) {
        return Err(MailError::NotMime("NUL bytes in the header section".into()));
    }
    Ok(())
}

/// Strips `<>`, whitespace and stray quotes from a message id.
pub(crate) fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|s| s.as_ref()).collect(),
        _ => Vec::new(),
    };
    raw.into_iter()
        .map(clean_id)
        .filter(|s| !s.is_empty() && !s.chars().any(char::is_whitespace))
        .collect()
}

fn convert_addr(addr: &mail_parser::Addr<'_>) -> Address {
    Address {
        email: addr.address().and_then(normalize_email),
        name: addr
            .name()
            .map(|n| n.trim().trim_matches('"').trim().to_string())
            .filter(|n| !n.is_empty()),
    }
}

/// Lowercases an address and rejects ones that cannot be replied to.
pub(crate) fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = email.rsplit_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && (domain.contains('.') || domain.eq_ignore_ascii_case("localhost"))
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',')
        && !domain.contains(['@', '<', '>', '(', ')', '[', ']', ';', ':', '"']);
    ok.then(|| email.to_lowercase())
}

fn has_plain_text(message: &Message<'_>) -> bool {
    message
        .text_body
        .iter()
        .any(|&id| matches!(message.part(id).map(|p| &p.body), Some(PartType::Text(_))))
}

fn body_text(message: &Message<'_>) -> String {
    let mut out = String::new();
    for &id in &message.text_body {
        let Some(part) = message.part(id) else {
            continue;
        };
        let piece = match &part.body {
            PartType::Text(t) => recover::part_text(part, t).into_owned(),
            PartType::Html(h) => html_to_text(h),
            _ => continue,
        };
        if !out.is_empty() && !piece.trim().is_empty() {
            out.push('\n');
        }
        out.push_str(&piece);
    }
    out.replace("\r\n", "\n").trim_end().to_string()
}

/// The HTML body when the sender wrote one (not one synthesised from text).
fn html_source(message: &Message<'_>) -> Option<String> {
    let parts: Vec<&str> = message
        .html_body
        .iter()
        .filter_map(|&id| match message.part(id).map(|p| &p.body) {
            Some(PartType::Html(h)) => Some(h.as_ref()),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn collect_attachments(
    message: &Message<'_>,
    limits: &Limits,
) -> (Vec<Attachment>, Vec<(String, usize)>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (n, part) in message.attachments().enumerate() {
        let filename = part
            .attachment_name()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("part-{}", n + 1));
        let data = recover::part_bytes(part);
        if data.len() > limits.max_attachment_bytes {
            dropped.push((filename, data.len()));
            continue;
        }
        kept.push(Attachment {
            filename,
            content_type: content_type(part),
            content_id: part.content_id().map(clean_id).filter(|s| !s.is_empty()),
            inline: is_inline(part),
            data: data.into_owned(),
        });
    }
    (kept, dropped)
}

fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None if matches!(part.body, PartType::Message(_)) => "message/rfc822".into(),
        None => "application/octet-stream".into(),
    }
}

fn is_inline(part: &MessagePart<'_>) -> bool {
    match part.content_disposition() {
        Some(d) => d.is_inline(),
        None => part.content_id().is_some(),
    }
}

//! Outbound replies and automatic acknowledgements.

use crate::parse::clean_id;
use crate::subject::base_subject;
use crate::MailError;
use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::Message;

/// Most `References` entries written; the first (thread root) is always
/// kept, then the most recent ones.
const MAX_REFERENCES: usize = 20;

/// An outbound message in a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Sender: `(display name, address)`.
    pub from: (Option<String>, String),
    /// Recipients: `(display name, address)`; at least one.
    pub to: Vec<(Option<String>, String)>,
    /// Subject of the conversation; reply prefixes and `[#n]` tokens in it
    /// are removed before the reply subject is built.
    pub subject: String,
    /// Conversation number, written as `[#token]` in the subject.
    pub token: i64,
    /// Body as plain text; paragraphs separated by blank lines.
    pub body_text: String,
    /// `Message-ID` of the message answered, with or without `<>`.
    pub in_reply_to: Option<String>,
    /// `References` of the message answered, oldest first.
    pub references: Vec<String>,
    /// `Message-ID` for this message, chosen by the server so that a retried
    /// send reuses it (e.g. `<uuid@domain>`; `<>` added when missing).
    pub message_id: String,
    /// Files sent with the message (`multipart/mixed` when any).
    pub attachments: Vec<OutgoingFile>,
}

/// A file attached to an outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFile {
    /// File name shown to the recipient (sanitised by the caller).
    pub filename: String,
    /// MIME type, e.g. `application/pdf`; unparseable types go out as
    /// `application/octet-stream`.
    pub content_type: String,
    /// The file's bytes.
    pub data: Vec<u8>,
}

/// Builds an agent's reply: `Subject: Re: {subject} [#{token}]`,
/// `Message-ID`, `In-Reply-To`, `References` and a
/// `multipart/alternative` body (text and HTML, the HTML right-to-left when
/// [`is_rtl`] says so). No `Auto-Submitted` header is set, so the
/// customer's own auto-responders treat it as personal mail.
pub fn compose_reply(reply: &Reply) -> Result<Message, MailError> {
    build(reply, false)
}

/// Builds an automatic acknowledgement, like [`compose_reply`] but with
/// `Auto-Submitted: auto-replied` (RFC 3834) and
/// `X-Auto-Response-Suppress: All`, so that the recipient's responders do
/// not answer it and no mail loop starts.
pub fn compose_ack(reply: &Reply) -> Result<Message, MailError> {
    build(reply, true)
}

fn build(reply: &Reply, automatic: bool) -> Result<Message, MailError> {
    if reply.to.is_empty() {
        return Err(MailError::Compose("no recipient".into()));
    }
    let message_id = angle(&reply.message_id)
        .ok_or_else(|| MailError::Compose("empty or malformed Message-ID".into()))?;
    let mut builder = Message::builder()
        .from(mailbox(&reply.from)?)
        .subject(reply_subject(&reply.subject, reply.token))
        .message_id(Some(message_id));
    for to in &reply.to {
        builder = builder.to(mailbox(to)?);
    }
    let in_reply_to = reply.in_reply_to.as_deref().and_then(angle);
    if let Some(id) = &in_reply_to {
        builder = builder.in_reply_to(id.clone());
    }
    let references = references(&reply.references, in_reply_to.as_deref());
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    if automatic {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-replied".into(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                "All".into(),
            ));
    }
    let text = reply.body_text.replace("\r\n", "\n");
    let html = text_to_html(&text, is_rtl(&text));
    let body = MultiPart::alternative_plain_html(text, html);
    let body = if reply.attachments.is_empty() {
        body
    } else {
        reply
            .attachments
            .iter()
            .fold(MultiPart::mixed().multipart(body), |mixed, f| {
                mixed.singlepart(attachment(f))
            })
    };
    builder
        .multipart(body)
        .map_err(|e| MailError::Compose(e.to_string()))
}

fn attachment(file: &OutgoingFile) -> lettre::message::SinglePart {
    let content_type = ContentType::parse(&file.content_type)
        .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("valid type"));
    Attachment::new(file.filename.replace(['\r', '\n', '"'], " "))
        .body(file.data.clone(), content_type)
}

/// `Re: {base subject} [#{token}]`, never doubling prefixes or tokens.
fn reply_subject(subject: &str, token: i64) -> String {
    let base = base_subject(subject);
    if base.is_empty() {
        format!("Re: [#{token}]")
    } else {
        format!("Re: {base} [#{token}]")
    }
}

fn mailbox((name, email): &(Option<String>, String)) -> Result<Mailbox, MailError> {
    let address = email
        .trim()
        .parse::<lettre::Address>()
        .map_err(|e| MailError::Compose(format!("bad address {email:?}: {e}")))?;
    let name = name
        .as_deref()
        .map(|n| n.replace(['\r', '\n'], " ").trim().to_string())
        .filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, address))
}

/// `<id>` for a message id given with or without brackets; `None` when it
/// is empty or could break the header (whitespace, brackets, controls).
fn angle(id: &str) -> Option<String> {
    let bare = clean_id(id);
    let ok = !bare.is_empty()
        && bare.is_ascii()
        && !bare
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || c == '<' || c == '>');
    ok.then(|| format!("<{bare}>"))
}

/// Previous references plus the answered message, deduplicated, trimmed to
/// [`MAX_REFERENCES`] keeping the root and the newest.
fn references(previous: &[String], in_reply_to: Option<&str>) -> Vec<String> {
    let mut refs: Vec<String> = Vec::new();
    for id in previous.iter().map(String::as_str).chain(in_reply_to) {
        if let Some(id) = angle(id) {
            if !refs.contains(&id) {
                refs.push(id);
            }
        }
    }
    if refs.len() > MAX_REFERENCES {
        let tail = refs.split_off(refs.len() - (MAX_REFERENCES - 1));
        refs.truncate(1);
        refs.extend(tail);
    }
    refs
}

/// True when the first strongly directional character of `text` is
/// Hebrew, Arabic or Persian (including presentation forms). Digits,
/// punctuation and symbols are skipped; text with no letters is left-to-right.
pub fn is_rtl(text: &str) -> bool {
    for c in text.chars() {
        let cp = c as u32;
        let rtl = matches!(cp,
            0x0590..=0x05FF | 0x0600..=0x06FF | 0x0700..=0x08FF
            | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF);
        if rtl {
            // Arabic-Indic digits and Arabic punctuation are weak/neutral.
            let neutral = matches!(cp, 0x0660..=0x0669 | 0x06F0..=0x06F9 | 0x060C | 0x061B | 0x061F | 0x066A..=0x066D);
            if !neutral {
                return true;
            }
        } else if c.is_alphabetic() {
            return false;
        }
    }
    false
}

/// `text` safe inside HTML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escaped HTML: blank-line-separated paragraphs become `<p>`, single line
/// breaks `<br>`. The direction is set on a wrapping `<div>` too, because
/// webmail clients drop `<body>` attributes.
fn text_to_html(text: &str, rtl: bool) -> String {
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if paragraphs.last().is_some_and(|p| !p.is_empty()) {
                paragraphs.push(Vec::new());
            }
        } else if let Some(p) = paragraphs.last_mut() {
            p.push(line);
        }
    }
    let body: String = paragraphs
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.iter().map(|l| escape_html(l)).collect();
            format!("<p>{}</p>\n", lines.join("<br>\n"))
        })
        .collect();
    let (dir, align) = if rtl {
        ("rtl", "right")
    } else {
        ("ltr", "left")
    };
    format!(
        "<!DOCTYPE html>\n<html dir=\"{dir}\"><head><meta charset=\"utf-8\"></head>\n\
         <body dir=\"{dir}\">\n<div dir=\"{dir}\" style=\"direction:{dir};text-align:{align}\">\n{body}</div>\n\
         </body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_follows_the_first_strong_character() {
        assert!(is_rtl("۱۲۳ سلام hello"));
        assert!(is_rtl("  «שלום»"));
        assert!(!is_rtl("Order ۱۲ سفارش"));
        assert!(!is_rtl("12345 !!"));
    }

    #[test]
    fn html_escapes_and_keeps_paragraphs() {
        let html = text_to_html("a <b> & c\nline2\n\n\nnext", false);
        assert!(
            html.contains("<p>a &lt;b&gt; &amp; c<br>\nline2</p>\n<p>next</p>"),
            "{html}"
        );
    }

    #[test]
    fn references_keep_the_root_and_the_newest() {
        let prev: Vec<String> = (0..30).map(|i| format!("m{i}@x")).collect();
        let refs = references(&prev, Some("<new@x>"));
        assert_eq!(refs.len(), MAX_REFERENCES);
        assert_eq!(refs[0], "<m0@x>");
        assert_eq!(refs.last().map(String::as_str), Some("<new@x>"));
    }
}

//! Inbound email handling for Switchboard, as a pure library.
//!
//! This crate turns raw RFC 5322 / MIME bytes into a channel-neutral
//! [`ParsedEmail`], sanitises HTML bodies, classifies automatic mail
//! (auto-replies, list/bulk traffic, bounces) and composes outbound replies.
//! It performs no network or storage I/O: the server fetches mail (IMAP),
//! sends it (SMTP) and stores it.
//!
//! Legacy charsets common among Persian speakers (windows-1256,
//! iso-8859-6, …) are decoded through `mail-parser`'s `full_encoding`
//! feature.
//!
//! Every entry point is total: malformed input yields a [`MailError`] or a
//! best-effort [`ParsedEmail`], never a panic.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod classify;
mod compose;
mod direction;
mod parse;
mod quote;
mod recover;
mod sanitize;
mod subject;

pub use compose::{compose_ack, compose_reply, escape_html, is_rtl, OutgoingFile, Reply};
pub use parse::parse;
pub use quote::fold_quotes;
pub use sanitize::sanitize_html;
pub use subject::{base_subject, conversation_token, strip_reply_prefixes};

/// A re-export of the `lettre` message type returned by the composers.
pub use lettre::Message as OutgoingMessage;

/// A mailbox from a header field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// The address, lowercased; `None` when absent or unusable (no `@`,
    /// whitespace, empty local part or domain).
    pub email: Option<String>,
    /// The display name, trimmed; `None` when absent or empty.
    pub name: Option<String>,
}

/// A decoded attachment or inline part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name from `Content-Disposition`/`Content-Type`, or a generated
    /// `part-N` name when the sender gave none.
    pub filename: String,
    /// Lowercased `type/subtype`, `application/octet-stream` when unknown.
    pub content_type: String,
    /// `Content-ID` without angle brackets.
    pub content_id: Option<String>,
    /// True for parts meant to be displayed inline (e.g. `cid:` images).
    pub inline: bool,
    /// Decoded bytes (transfer encoding removed).
    pub data: Vec<u8>,
}

/// What kind of automatic mail this is, if any.
///
/// Precedence when several signals are present: a delivery-status report
/// wins, then a `MAILER-DAEMON`/`postmaster` sender, then auto-reply
/// headers, then an empty `Return-Path: <>`, then list/bulk headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AutoKind {
    /// Written by a person, as far as the headers tell.
    #[default]
    None,
    /// An automatic response: `Auto-Submitted` other than `no`,
    /// `X-Autoreply`, `X-Autorespond`, `Precedence: auto_reply`, or a
    /// read receipt (`multipart/report; report-type=disposition-notification`).
    AutoReply,
    /// List or bulk traffic: `Precedence: bulk|junk|list`, or any
    /// `List-Id`/`List-Unsubscribe` header. Following RFC 3834 §2, the
    /// server must not send automatic acknowledgements to such mail, but it
    /// should still ingest it (a support alias run as a mailing-list group
    /// adds `List-Id` to genuine customer mail).
    Bulk,
    /// A non-delivery report.
    Bounce {
        /// `Message-ID` (without `<>`) of the message that bounced, when the
        /// report carries it.
        original_message_id: Option<String>,
        /// The enhanced status code, e.g. `5.1.1`.
        status: Option<String>,
        /// The failed recipient, lowercased.
        recipient: Option<String>,
    },
}

/// Size limits applied by [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages larger than this are rejected with [`MailError::TooLarge`].
    pub max_message_bytes: usize,
    /// Attachments larger than this are dropped and listed in
    /// [`ParsedEmail::dropped_attachments`].
    pub max_attachment_bytes: usize,
}

impl Default for Limits {
    /// 40 MiB per message, 25 MiB per attachment.
    fn default() -> Self {
        Limits {
            max_message_bytes: 40 * 1024 * 1024,
            max_attachment_bytes: 25 * 1024 * 1024,
        }
    }
}

/// A parsed inbound message, independent of the channel it came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEmail {
    /// `Message-ID` without `<>`; synthetic when the message had none.
    pub message_id: String,
    /// True when [`ParsedEmail::message_id`] was derived from a hash of the
    /// raw bytes (`<sha256-prefix>@synthetic.switchboard.invalid`), so that
    /// re-ingesting the same bytes gives the same id.
    pub message_id_synthetic: bool,
    /// Hex SHA-256 of the raw bytes; tells a re-delivery (same hash) from
    /// a different message reusing a `Message-ID`.
    pub content_hash: String,
    /// `In-Reply-To` ids without `<>`.
    pub in_reply_to: Vec<String>,
    /// `References` ids without `<>`, oldest first.
    pub references: Vec<String>,
    /// Decoded subject, empty when absent.
    pub subject: String,
    /// The author (`From`, falling back to `Sender`); both fields `None`
    /// when the message names nobody usable.
    pub from: Address,
    /// First `Reply-To` mailbox, if any.
    pub reply_to: Option<Address>,
    /// `To` recipients.
    pub to: Vec<Address>,
    /// `Cc` recipients.
    pub cc: Vec<Address>,
    /// `Date` as Unix seconds, `None` when absent or unparseable.
    pub date: Option<i64>,
    /// Plain-text body (text/plain parts, or text extracted from HTML).
    pub text: String,
    /// [`ParsedEmail::text`] with quoted history folded away.
    pub text_unquoted: String,
    /// Sanitised HTML body, when the message had an HTML part. Remote
    /// images carry `data-remote-src` instead of `src`; `cid:` images carry
    /// `data-cid`.
    pub html_sanitized: Option<String>,
    /// Attachments and inline parts within the size limit.
    pub attachments: Vec<Attachment>,
    /// Attachments dropped for exceeding
    /// [`Limits::max_attachment_bytes`]: `(filename, size in bytes)`.
    pub dropped_attachments: Vec<(String, usize)>,
    /// Automatic-mail classification.
    pub auto: AutoKind,
    /// Size of the raw message in bytes.
    pub size: usize,
}

impl ParsedEmail {
    /// Remove NUL characters from every text field: mail may carry them (raw, `=00`, base64)
    /// but databases such as PostgreSQL cannot store them in text. Attachment bytes are kept.
    pub fn strip_nul(&mut self) {
        fn clean(s: &mut String) {
            if s.contains('\0') {
                s.retain(|c| c != '\0');
            }
        }
        fn clean_addr(a: &mut Address) {
            a.email.iter_mut().chain(a.name.iter_mut()).for_each(clean);
        }
        for s in [
            &mut self.message_id,
            &mut self.subject,
            &mut self.text,
            &mut self.text_unquoted,
        ] {
            clean(s);
        }
        self.html_sanitized.iter_mut().for_each(clean);
        self.in_reply_to.iter_mut().for_each(clean);
        self.references.iter_mut().for_each(clean);
        clean_addr(&mut self.from);
        self.reply_to.iter_mut().for_each(clean_addr);
        self.to
            .iter_mut()
            .chain(self.cc.iter_mut())
            .for_each(clean_addr);
        for a in &mut self.attachments {
            clean(&mut a.filename);
            clean(&mut a.content_type);
            a.content_id.iter_mut().for_each(clean);
        }
        for (name, _) in &mut self.dropped_attachments {
            clean(name);
        }
    }
}

/// Why a message could not be parsed or composed. The `Display` text is
/// meant to be stored with a quarantined message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Zero bytes, or only whitespace.
    #[error("message is empty")]
    Empty,
    /// The bytes do not look like an RFC 5322 message.
    #[error("not a MIME message: {0}")]
    NotMime(String),
    /// The message exceeds [`Limits::max_message_bytes`].
    #[error("message is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Size of the raw message.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// No header field could be parsed.
    #[error("message has no header fields")]
    NoHeaders,
    /// An outbound message could not be built (bad address, header, …).
    #[error("cannot compose message: {0}")]
    Compose(String),
}

//! Frames a widget sends over `/ws/widget` (protocol in `docs/widget-protocol.md`): `hello`
//! first, then [`Inbound`] frames. Parsing only; the server checks them against the site and
//! the visitor.

use serde::Deserialize;

/// `hello.identity`: a signed-in user of the website (`hash` = hex HMAC-SHA256 of `user_id`
/// with the site's identity secret).
#[derive(Debug, Deserialize)]
pub struct Identity {
    /// The website's id of its user.
    pub user_id: String,
    /// Hex HMAC-SHA256 of `user_id` with the site's identity secret.
    pub hash: String,
    /// The user's name, if given.
    pub name: Option<String>,
    /// The user's email address, if given.
    pub email: Option<String>,
}

/// The first frame of a socket.
#[derive(Debug, Deserialize)]
pub struct Hello {
    /// The site key the widget was loaded with.
    pub site: String,
    /// The token of a returning visitor.
    pub visitor_token: Option<String>,
    /// The last message `seq` the widget has shown.
    pub last_seq: Option<i64>,
    /// The page's language (`fa`, `en`).
    pub locale: Option<String>,
    /// A signed-in website user.
    pub identity: Option<Identity>,
}

/// Frames after `hello`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Inbound {
    /// A visitor message (or a file uploaded before, by id).
    Message {
        /// The widget's id of the message; a resend with the same id is stored once.
        client_id: String,
        /// The text (may be empty with an attachment).
        #[serde(default)]
        text: String,
        /// An upload to send.
        attachment_id: Option<String>,
    },
    /// The visitor is typing (or stopped).
    Typing {
        /// Whether typing started.
        on: bool,
    },
    /// The visitor has seen the messages up to `seq`.
    Read {
        /// The last seen message.
        seq: i64,
    },
    /// The pre-chat form.
    Prechat {
        /// The visitor's name.
        name: Option<String>,
        /// The visitor's email address.
        email: Option<String>,
    },
    /// A rating of the conversation.
    Rating {
        /// 1–5.
        score: i64,
        /// A comment.
        comment: Option<String>,
    },
    /// Keep-alive; answered with `pong`.
    Ping,
    /// Answer to the server's `ping`.
    Pong,
}

/// Why a frame after `hello` was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Its text holds a NUL character (`invalid_text`).
    Nul,
    /// Not JSON, or not a known frame (`bad_frame`); the frame's `client_id` when it had one,
    /// so the widget can tell which message failed.
    Malformed {
        /// The `client_id` of the refused frame.
        client_id: Option<String>,
    },
}

impl FrameError {
    /// The error frame's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::Nul => "invalid_text",
            FrameError::Malformed { .. } => "bad_frame",
        }
    }

    /// The error frame's human-readable text.
    pub fn text(&self) -> &'static str {
        match self {
            FrameError::Nul => "text must not contain NUL characters",
            FrameError::Malformed { .. } => "malformed or unknown frame",
        }
    }

    /// The refused frame's `client_id`, if it had one.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            FrameError::Malformed { client_id } => client_id.as_deref(),
            FrameError::Nul => None,
        }
    }
}

/// The first frame, if it is a `hello` without NUL characters.
pub fn parse_hello(text: &str) -> Option<Hello> {
    if crate::json_has_nul(text.as_bytes()) {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v["type"] == "hello" => serde_json::from_value::<Hello>(v).ok(),
        _ => None,
    }
}

/// A frame after `hello`.
pub fn parse_frame(text: &str) -> Result<Inbound, FrameError> {
    if crate::json_has_nul(text.as_bytes()) {
        return Err(FrameError::Nul);
    }
    serde_json::from_str::<Inbound>(text).map_err(|_| FrameError::Malformed {
        client_id: serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v["client_id"].as_str().map(str::to_string)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_or_say_why_not() {
        let h = parse_hello(r#"{"type":"hello","site":"k","last_seq":3}"#).unwrap();
        assert_eq!((h.site.as_str(), h.last_seq), ("k", Some(3)));
        assert!(parse_hello(r#"{"type":"message","site":"k"}"#).is_none());
        assert!(parse_hello(r#"{"type":"hello","site":"k\u0000"}"#).is_none());
        assert!(matches!(
            parse_frame(r#"{"type":"message","client_id":"c1","text":"سلام"}"#),
            Ok(Inbound::Message { text, .. }) if text == "سلام"
        ));
        assert_eq!(
            parse_frame(r#"{"type":"message","text":"x\u0000"}"#).unwrap_err(),
            FrameError::Nul
        );
        let e = parse_frame(r#"{"type":"message","client_id":"c2","text":5}"#).unwrap_err();
        assert_eq!((e.code(), e.client_id()), ("bad_frame", Some("c2")));
        assert_eq!(parse_frame("not json").unwrap_err().client_id(), None);
    }
}

//! The Asterisk Manager Interface (AMI) wire protocol, without I/O.
//!
//! An AMI session is a TCP stream of text lines ending in `\r\n`. The server first sends one
//! banner line (`Asterisk Call Manager/5.0.1`); after that every message, in both directions,
//! is a block of `Key: Value` lines closed by an empty line. The client sends *actions*
//! (`Action: Login`), each with an `ActionID` of its choosing; the server answers each with a
//! *response* carrying the same `ActionID` (`Response: Success` or `Response: Error` and a
//! `Message`), and sends *events* (`Event: Newchannel`) whenever it likes.
//!
//! [`Decoder`] turns received bytes into [`Frame`]s (any chunking, `\n` or `\r\n` line ends);
//! [`Action`] encodes an action, refusing values that would break the framing.
//!
//! ```
//! use switchboard_ami::{Action, Decoder, Frame};
//!
//! let mut d = Decoder::new();
//! d.push(b"Asterisk Call Manager/5.0.1\r\nResponse: Success\r\nActionID: 1\r\n");
//! assert_eq!(d.next_frame().unwrap(), Some(Frame::Banner("Asterisk Call Manager/5.0.1".into())));
//! assert_eq!(d.next_frame().unwrap(), None); // the block is not closed yet
//! d.push(b"Message: Authentication accepted\r\n\r\n");
//! let Some(Frame::Message(m)) = d.next_frame().unwrap() else { panic!() };
//! assert!(m.is_success());
//! assert_eq!(m.get("actionid"), Some("1"));
//!
//! let login = Action::new("Login").field("Username", "crm").unwrap().encode("1");
//! assert_eq!(login, "Action: Login\r\nActionID: 1\r\nUsername: crm\r\n\r\n");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Longest message (block) accepted, in bytes: a peer sending more without a blank line is
/// not speaking AMI.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Why the received bytes are not AMI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The first line is not an Asterisk Call Manager banner.
    #[error("not an Asterisk Manager Interface: the server greeted with {0:?}")]
    Banner(String),
    /// A block grew past [`MAX_MESSAGE_BYTES`].
    #[error("an AMI message is longer than {MAX_MESSAGE_BYTES} bytes")]
    TooLong,
}

/// Why an action cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// A key or value holds a line break (it would inject lines into the stream), or a key is
    /// empty or holds a colon.
    #[error("invalid AMI field {0:?}")]
    InvalidField(String),
}

/// One received unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The greeting line, e.g. `Asterisk Call Manager/5.0.1`.
    Banner(String),
    /// A response or an event.
    Message(Message),
}

/// A response or an event: its fields in the order received. Keys compare case-insensitively,
/// as Asterisk itself does; a key present twice (`Variable:`) keeps every value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `(key, value)` pairs as received (values trimmed).
    pub fields: Vec<(String, String)>,
}

impl Message {
    /// The first value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key`, ignoring Asterisk's placeholders for "none"
    /// (`<unknown>`, `<none>`).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key)
            .filter(|v| !v.is_empty() && *v != "<unknown>" && *v != "<none>")
    }

    /// The event name (`Event:`), for events.
    pub fn event(&self) -> Option<&str> {
        self.get("Event")
    }

    /// The response status (`Response:`), for responses.
    pub fn response(&self) -> Option<&str> {
        self.get("Response")
    }

    /// A response saying `Success` (also `Goodbye` to a Logoff, `Pong` to a Ping).
    pub fn is_success(&self) -> bool {
        matches!(self.response(), Some(r) if !r.eq_ignore_ascii_case("error"))
    }

    /// `ActionID`, when present.
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// The block as AMI text (what a server sends), for tests and logs.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.fields {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out
    }
}

/// Incremental decoder of a received AMI stream.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Whether the banner line has been read.
    greeted: bool,
    current: Message,
    /// Bytes of the block being read (for [`MAX_MESSAGE_BYTES`]).
    current_len: usize,
}

impl Decoder {
    /// A decoder expecting the banner first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, or `None` until more bytes arrive. After an error the stream
    /// is unusable (close the connection).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ProtocolError> {
        while let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = self.buf.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\r', '\n']);
            if !self.greeted {
                if line.is_empty() {
                    continue;
                }
                self.greeted = true;
                if !line.contains("Call Manager") {
                    return Err(ProtocolError::Banner(line.chars().take(80).collect()));
                }
                return Ok(Some(Frame::Banner(line.to_string())));
            }
            if line.is_empty() {
                if self.current.fields.is_empty() {
                    continue;
                }
                self.current_len = 0;
                return Ok(Some(Frame::Message(std::mem::take(&mut self.current))));
            }
            self.current_len += raw.len();
            if self.current_len > MAX_MESSAGE_BYTES {
                return Err(ProtocolError::TooLong);
            }
            let (key, value) = line.split_once(':').unwrap_or((line, ""));
            self.current
                .fields
                .push((key.trim().to_string(), value.trim().to_string()));
        }
        if self.buf.len() + self.current_len > MAX_MESSAGE_BYTES {
            return Err(ProtocolError::TooLong);
        }
        Ok(None)
    }
}

/// An action to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    name: String,
    fields: Vec<(String, String)>,
}

fn check(s: &str, key: bool) -> Result<(), ActionError> {
    let bad = s.contains(['\r', '\n', '\0']) || (key && (s.trim().is_empty() || s.contains(':')));
    if bad {
        return Err(ActionError::InvalidField(s.chars().take(80).collect()));
    }
    Ok(())
}

impl Action {
    /// `Action: <name>`.
    pub fn new(name: &str) -> Self {
        Action {
            name: name.to_string(),
            fields: Vec::new(),
        }
    }

    /// Add `key: value` (a key may repeat, e.g. `Variable`).
    pub fn field(mut self, key: &str, value: &str) -> Result<Self, ActionError> {
        check(key, true)?;
        check(value, false)?;
        self.fields.push((key.to_string(), value.to_string()));
        Ok(self)
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The block to write, with `ActionID: <action_id>`.
    pub fn encode(&self, action_id: &str) -> String {
        let mut out = format!("Action: {}\r\nActionID: {action_id}\r\n", self.name);
        for (k, v) in &self.fields {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out
    }
}

/// Where and how to reach a PBX's AMI: `ami://USER:SECRET@HOST:5038` (plain TCP) or
/// `amis://…` (TLS). The port defaults to 5038 (`ami`) or 5039 (`amis`); user and secret may be
/// percent-encoded (`%40` for `@`).
#[derive(Clone, PartialEq, Eq)]
pub struct AmiUrl {
    /// TLS (`amis://`).
    pub tls: bool,
    /// AMI user (`manager.conf` section name).
    pub user: String,
    /// Its secret.
    pub secret: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Debug for AmiUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

/// Why an AMI URL is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid AMI URL: {0} (expected ami://USER:SECRET@HOST:5038 or amis://...)")]
pub struct UrlError(pub &'static str);

fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(UrlError("bad percent escape"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UrlError("bad percent escape"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError("not UTF-8 after decoding"))
}

impl AmiUrl {
    /// Parse `ami://…` or `amis://…`.
    pub fn parse(url: &str) -> Result<AmiUrl, UrlError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or(UrlError("no scheme"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "ami" => false,
            "amis" => true,
            _ => return Err(UrlError("the scheme must be ami or amis")),
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = rest.rsplit_once('@').ok_or(UrlError("no USER:SECRET@"))?;
        let (user, secret) = userinfo.split_once(':').ok_or(UrlError("no secret"))?;
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or(UrlError("unclosed [ in host"))?;
            (h, p.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| UrlError("bad port"))?,
            None if tls => 5039,
            None => 5038,
        };
        let (user, secret) = (percent_decode(user)?, percent_decode(secret)?);
        if host.is_empty()
            || user.is_empty()
            || [&user, &secret].iter().any(|s| check(s, false).is_err())
        {
            return Err(UrlError("empty host or user, or a line break"));
        }
        Ok(AmiUrl {
            tls,
            user,
            secret,
            host: host.to_string(),
            port,
        })
    }

    /// The URL without its secret, for logs and status.
    pub fn redacted(&self) -> String {
        let scheme = if self.tls { "amis" } else { "ami" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{}:***@{host}:{}", self.user, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(d: &mut Decoder) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(f) = d.next_frame().unwrap() {
            if let Frame::Message(m) = f {
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn blocks_split_anywhere_are_reassembled() {
        let text =
            "Asterisk Call Manager/5.0.1\r\nEvent: Newchannel\r\nChannel: PJSIP/201-00000001\r\n\
                    Linkedid: 1740812400.1\r\n\r\nEvent: Hangup\nCause: 16\n\n";
        for split in 0..text.len() {
            let mut d = Decoder::new();
            d.push(&text.as_bytes()[..split]);
            let mut got = messages(&mut d);
            d.push(&text.as_bytes()[split..]);
            got.extend(messages(&mut d));
            assert_eq!(got.len(), 2, "split at {split}");
            assert_eq!(got[0].event(), Some("Newchannel"));
            assert_eq!(got[0].get("linkedid"), Some("1740812400.1"));
            assert_eq!(got[1].get("Cause"), Some("16"));
        }
    }

    #[test]
    fn values_keep_colons_and_placeholders_read_as_none() {
        let mut d = Decoder::new();
        d.push(b"Asterisk Call Manager/2.10.6\r\nEvent: X\r\nDialString: trunk/0912:1\r\nCallerIDName: <unknown>\r\n\r\n");
        let m = &messages(&mut d)[0];
        assert_eq!(m.get("DialString"), Some("trunk/0912:1"));
        assert_eq!(m.get("CallerIDName"), Some("<unknown>"));
        assert_eq!(m.value("CallerIDName"), None);
    }

    #[test]
    fn a_foreign_banner_or_an_endless_block_is_refused() {
        let mut d = Decoder::new();
        d.push(b"SSH-2.0-OpenSSH_9.6\r\n");
        assert!(matches!(d.next_frame(), Err(ProtocolError::Banner(_))));
        let mut d = Decoder::new();
        d.push(b"Asterisk Call Manager/5.0.1\r\n");
        d.next_frame().unwrap();
        let line = format!("Key: {}\r\n", "x".repeat(1000));
        for _ in 0..300 {
            d.push(line.as_bytes());
        }
        assert_eq!(d.next_frame(), Err(ProtocolError::TooLong));
    }

    #[test]
    fn actions_refuse_line_breaks() {
        assert!(Action::new("Originate")
            .field("Exten", "0912\r\nAction: Command")
            .is_err());
        assert!(Action::new("Originate").field("Ex:ten", "1").is_err());
        let a = Action::new("Originate")
            .field("Variable", "A=1")
            .unwrap()
            .field("Variable", "B=2")
            .unwrap();
        assert_eq!(
            a.encode("7"),
            "Action: Originate\r\nActionID: 7\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
        );
    }

    #[test]
    fn error_responses_are_not_success() {
        let m = Message {
            fields: vec![("Response".into(), "Error".into())],
        };
        assert!(!m.is_success());
        let m = Message {
            fields: vec![("Response".into(), "Success".into())],
        };
        assert!(m.is_success());
    }
    #[test]
    fn urls_carry_user_secret_host_port_and_tls() {
        let u = AmiUrl::parse("ami://crm:s3cr%40t:x@pbx.example.com:5038").unwrap();
        assert_eq!(
            (u.tls, u.user.as_str(), u.secret.as_str()),
            (false, "crm", "s3cr@t:x")
        );
        assert_eq!((u.host.as_str(), u.port), ("pbx.example.com", 5038));
        assert_eq!(u.redacted(), "ami://crm:***@pbx.example.com:5038");
        let u = AmiUrl::parse("amis://crm:p@ss@[::1]").unwrap();
        assert_eq!(
            (u.tls, u.secret.as_str(), u.host.as_str(), u.port),
            (true, "p@ss", "::1", 5039)
        );
        assert!(!format!("{u:?}").contains("p@ss"));
        for bad in [
            "http://a:b@h",
            "ami://h:5038",
            "ami://a:b@h:port",
            "ami://:b@h",
            "ami://a:b%0d%0a@h",
        ] {
            assert!(AmiUrl::parse(bad).is_err(), "{bad}");
        }
    }
}

//! What each fuzz target asserts about one input, beyond "does not panic". Shared by the fuzz
//! targets and the regression test of `crates/wire` (which includes this file by path), so a
//! committed input is replayed through exactly the code that found it.

use switchboard_voice::{ParseOptions, Source};

/// MIME intake: parse (within limits), then what the server does next with the result.
pub fn mail_parse(data: &[u8]) {
    let limits = switchboard_mail::Limits {
        max_message_bytes: 1 << 20,
        max_attachment_bytes: 64 << 10,
    };
    let Ok(mut mail) = switchboard_mail::parse(data, &limits) else {
        return;
    };
    assert_eq!(mail.size, data.len());
    assert!(!mail.message_id.is_empty(), "every message gets an id");
    if let Some(html) = &mail.html_sanitized {
        assert_safe_html(html);
    }
    for a in &mail.attachments {
        assert!(
            a.data.len() <= limits.max_attachment_bytes,
            "{}",
            a.filename
        );
    }
    mail.strip_nul();
    let texts = [
        &mail.message_id,
        &mail.subject,
        &mail.text,
        &mail.text_unquoted,
    ];
    for t in texts {
        assert!(!t.contains('\0'), "NUL left after strip_nul");
    }
    assert!(!mail.html_sanitized.iter().any(|h| h.contains('\0')));
    let _ = switchboard_mail::fold_quotes(&mail.text);
    let base = switchboard_mail::base_subject(&mail.subject);
    assert_eq!(
        switchboard_mail::base_subject(&base),
        base,
        "base subject is stable"
    );
    let _ = switchboard_mail::conversation_token(&mail.subject);
}

/// HTML sanitising on its own (any text, not only what a MIME part yields).
pub fn mail_sanitize(data: &[u8]) {
    let html = String::from_utf8_lossy(data);
    assert_safe_html(&switchboard_mail::sanitize_html(&html));
}

/// Tags that must never survive sanitising.
const FORBIDDEN_TAGS: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input",
    "button", "textarea", "select", "base", "meta", "link", "svg", "math", "template",
];

/// Attributes holding a URL.
const URL_ATTRS: &[&str] = &[
    "href",
    "data-remote-src",
    "data-cid",
    "action",
    "formaction",
    "background",
    "cite",
    "poster",
    "longdesc",
    "xlink:href",
    "srcset",
    "lowsrc",
    "dynsrc",
];

/// Sanitised HTML runs nothing and fetches nothing: no script-capable tags, no event handler
/// attributes, no `src` (remote images become `data-remote-src`), no script URLs. The output is
/// serialised HTML: every `<` outside a tag is escaped, attribute values are quoted.
pub fn assert_safe_html(html: &str) {
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let (tag, len) = read_tag(&rest[lt..]);
        if let Some(tag) = tag {
            let name = tag.name.to_ascii_lowercase();
            assert!(
                !FORBIDDEN_TAGS.contains(&name.as_str()),
                "<{name}> kept: {html}"
            );
            for (attr, value) in &tag.attrs {
                let attr = attr.to_ascii_lowercase();
                assert!(!attr.starts_with("on"), "event handler {attr} kept: {html}");
                assert!(attr != "src", "an element would fetch {value}: {html}");
                let squeezed: String = value
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if URL_ATTRS.contains(&attr.as_str()) {
                    for scheme in ["javascript:", "vbscript:", "data:"] {
                        assert!(!squeezed.starts_with(scheme), "{attr}={value} kept: {html}");
                    }
                }
                if attr == "style" {
                    assert!(!squeezed.contains("url("), "style url kept: {html}");
                }
            }
        }
        rest = &rest[lt + len.max(1)..];
    }
}

struct Tag<'a> {
    name: &'a str,
    attrs: Vec<(&'a str, &'a str)>,
}

/// The tag starting at `s[0] == '<'` (`None` for closing tags and comments) and its length.
fn read_tag(s: &str) -> (Option<Tag<'_>>, usize) {
    let b = s.as_bytes();
    let mut i = 1;
    let closing = b.get(1) == Some(&b'/');
    if closing || b.get(1) == Some(&b'!') {
        let end = s.find('>').map_or(s.len(), |e| e + 1);
        return (None, end);
    }
    let start = i;
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    let name = &s[start..i];
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' {
            return (Some(Tag { name, attrs }), (i + 1).min(b.len()));
        }
        let a = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !b"=>/".contains(&b[i]) {
            i += 1;
        }
        let attr = &s[a..i];
        let mut value = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            let quote = b.get(i).copied().filter(|q| *q == b'"' || *q == b'\'');
            let v = if quote.is_some() { i + 1 } else { i };
            let mut j = v;
            while j < b.len()
                && match quote {
                    Some(q) => b[j] != q,
                    None => !b[j].is_ascii_whitespace() && b[j] != b'>',
                }
            {
                j += 1;
            }
            value = &s[v..j];
            i = if quote.is_some() {
                (j + 1).min(b.len())
            } else {
                j
            };
        }
        attrs.push((attr, value));
    }
}

const OPTS: ParseOptions = ParseOptions {
    utc_offset_secs: 12_600,
    internal_extension_max_len: 5,
};

/// CDR (`Master.csv` of Asterisk and FreeSWITCH) and HylaFAX `xferfaxlog` parsing. The first
/// byte picks the format and where a tailed file is cut: reading a log in two chunks must give
/// what reading it at once gives.
pub fn voice_logs(data: &[u8]) {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let format = [Source::Asterisk, Source::FreeSwitch, Source::HylaFax][pick as usize % 3];
    let whole = match format {
        Source::Asterisk => switchboard_voice::parse_asterisk(input, &OPTS),
        Source::FreeSwitch => switchboard_voice::parse_freeswitch(input, &OPTS),
        _ => switchboard_voice::parse_hylafax(input, &OPTS),
    };
    let lines = input.split(|b| *b == b'\n').count();
    assert!(whole.records.len() + whole.errors.len() <= lines);
    assert!(whole.errors.iter().all(|e| (1..=lines).contains(&e.line)));
    for r in &whole.records {
        let json = serde_json::to_string(r).expect("records serialise");
        assert!(
            !switchboard_wire::json_has_nul(json.as_bytes()),
            "NUL in {json}"
        );
    }
    let (complete, consumed) = switchboard_voice::parse_chunk(format, input, 1, &OPTS);
    assert!(consumed <= input.len());
    assert!(consumed == 0 || input[consumed - 1] == b'\n');
    let cut = (pick as usize / 3 * 37) % (input.len() + 1);
    let (first, used) = switchboard_voice::parse_chunk(format, &input[..cut], 1, &OPTS);
    assert!(used <= cut);
    let newlines = input[..used].iter().filter(|b| **b == b'\n').count();
    let (second, _) = switchboard_voice::parse_chunk(format, &input[used..], 1 + newlines, &OPTS);
    let mut records = first.records;
    records.extend(second.records);
    let mut errors = first.errors;
    errors.extend(second.errors);
    assert_eq!(
        records, complete.records,
        "records differ when tailed in two reads"
    );
    assert_eq!(
        errors, complete.errors,
        "errors differ when tailed in two reads"
    );
}

/// CTI events, JSON and form-encoded: both parse without panicking, and a flat JSON object of
/// strings means the same event as its form encoding.
pub fn cti_events(data: &[u8]) {
    let json = switchboard_voice::parse_cti_json(data);
    let _ = switchboard_voice::parse_cti_form(data);
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(data) else {
        return;
    };
    let pairs: Option<Vec<(String, String)>> = map
        .iter()
        .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    let Some(pairs) = pairs else {
        return;
    };
    let Ok(form) = serde_urlencoded::to_string(&pairs) else {
        return;
    };
    let from_form = switchboard_voice::parse_cti_form(form.as_bytes());
    match (&json, &from_form) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Err(_), Err(_)) => {}
        _ => panic!("JSON and form disagree: {json:?} vs {from_form:?} ({form})"),
    }
}

/// Widget frames: `hello` and the frames after it. A frame with a NUL is always refused as
/// `invalid_text`; an accepted frame is valid JSON without NUL.
pub fn widget_frames(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    use switchboard_wire::widget::{parse_frame, parse_hello, FrameError, Inbound};
    let value = serde_json::from_str::<serde_json::Value>(text).ok();
    let nul = value.as_ref().is_some_and(switchboard_wire::value_has_nul);
    if let Some(h) = parse_hello(text) {
        assert!(!nul && value.is_some());
        assert!(!h.site.contains('\0'));
    }
    match parse_frame(text) {
        Ok(f) => {
            assert!(!nul && value.is_some(), "accepted: {text}");
            if let Inbound::Message {
                client_id, text, ..
            } = f
            {
                assert!(!client_id.contains('\0') && !text.contains('\0'));
            }
        }
        Err(FrameError::Nul) => assert!(switchboard_wire::json_has_nul(data)),
        Err(FrameError::Malformed { client_id }) => {
            assert!(!nul, "a NUL frame must be refused as invalid_text: {text}");
            if let Some(c) = client_id {
                assert_eq!(value.as_ref().unwrap()["client_id"], c.as_str());
            }
        }
    }
}

/// JSON request bodies: the server's NUL rule, read from the text without parsing, finds every
/// NUL the parsed body holds (a body accepted with one would fail on PostgreSQL). It may also
/// refuse a NUL the parsed value drops: of a key given twice only the last value is kept
/// (`fuzz/regressions/json_bodies/duplicate_key_nul.json`), which is refused, harmlessly. The
/// bodies also parse into the widget's frame types without panicking.
pub fn json_bodies(data: &[u8]) {
    let by_text = switchboard_wire::json_has_nul(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        assert!(
            by_text || !switchboard_wire::value_has_nul(&v),
            "a NUL the text rule misses: {}",
            String::from_utf8_lossy(data)
        );
    }
    if !by_text {
        assert!(!data.contains(&0));
    }
    let _ = serde_json::from_slice::<switchboard_wire::widget::Hello>(data);
    let _ = serde_json::from_slice::<switchboard_wire::widget::Inbound>(data);
}

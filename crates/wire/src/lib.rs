//! What reaches Switchboard from outside before anything is stored, as a pure library: the web
//! chat widget's frames ([`widget`]) and the NUL rule every JSON text passes
//! ([`json_has_nul`]). Kept apart from the server so the fuzz targets (`fuzz/`) build it alone.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod widget;

/// Whether JSON text holds a NUL character (`\u0000` escaped; a raw NUL byte is invalid JSON
/// anyway): PostgreSQL cannot store it, so the server refuses it (422 `invalid_text`) wherever
/// JSON enters — request bodies and widget frames.
pub fn json_has_nul(json: &[u8]) -> bool {
    const ESCAPE: &[u8] = b"u0000";
    let mut backslashes = 0usize;
    for (i, &b) in json.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        // An odd run of backslashes escapes this character: `\u0000` but not `\\u0000`.
        if backslashes % 2 == 1 && json[i..].starts_with(ESCAPE) {
            return true;
        }
        backslashes = 0;
    }
    json.contains(&0)
}

/// Whether a parsed JSON value holds a NUL character in any string or key (what
/// [`json_has_nul`] tells from the text without parsing it).
pub fn value_has_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(value_has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || value_has_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_nul_is_found_and_an_escaped_backslash_before_u0000_is_not() {
        assert!(json_has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(json_has_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\u0001 plain"}"#));
    }

    #[test]
    fn the_text_rule_agrees_with_the_parsed_value() {
        for text in [
            r#"{"a":"x\u0000y"}"#,
            r#"{"k\u0000":1}"#,
            r#"["\\u0000", "\\\u0000"]"#,
            r#"{"a":["b", {"c": "\u0001"}]}"#,
        ] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(json_has_nul(text.as_bytes()), value_has_nul(&v), "{text}");
        }
    }
}

//! Recovery of parts whose transfer encoding `mail-parser` could not undo
//! (typically base64 cut off by a truncated download). `mail-parser` then
//! hands back the still-encoded bytes; we decode what is decodable.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{MessagePart, MimeHeaders};
use std::borrow::Cow;

/// The part's decoded bytes, undoing base64 leniently when `mail-parser`
/// flagged an encoding problem.
pub(crate) fn part_bytes<'a>(part: &'a MessagePart<'_>) -> Cow<'a, [u8]> {
    if part.is_encoding_problem && is_base64(part) {
        Cow::Owned(lenient_base64(part.contents()))
    } else {
        Cow::Borrowed(part.contents())
    }
}

/// The text of a text part, recovered the same way and decoded with its
/// declared charset (UTF-8, lossily, when unknown).
pub(crate) fn part_text<'a>(part: &'a MessagePart<'_>, text: &'a str) -> Cow<'a, str> {
    if !(part.is_encoding_problem && is_base64(part)) {
        return Cow::Borrowed(text);
    }
    let bytes = lenient_base64(text.as_bytes());
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .unwrap_or("utf-8");
    match charset_decoder(charset.as_bytes()) {
        Some(decode) => Cow::Owned(decode(&bytes)),
        None => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

fn is_base64(part: &MessagePart<'_>) -> bool {
    part.content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"))
}

/// Decodes base64 (standard or URL-safe alphabet), skipping any other
/// byte and dropping a trailing incomplete byte.
pub(crate) fn lenient_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_base64_decodes_the_complete_bytes() {
        assert_eq!(lenient_base64(b"aGVsbG8gd29y\r\nbGQ="), b"hello world");
        assert_eq!(lenient_base64(b"aGVsbG8gd2"), b"hello w");
        assert_eq!(lenient_base64(b""), b"");
    }
}

//! Direction and agent-extension inference from numbers and channel names.
//!
//! Digits are counted across scripts: ASCII `0-9`, Extended Arabic-Indic
//! (Persian) `۰-۹` (U+06F0..U+06F9) and Arabic-Indic `٠-٩` (U+0660..U+0669).

use crate::record::Direction;

/// Value of a decimal digit in ASCII, Persian or Arabic-Indic script.
pub fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        _ => None,
    }
}

/// Number of decimal digits (any supported script) in `s`.
pub fn count_digits(s: &str) -> usize {
    s.chars().filter(|&c| digit_value(c).is_some()).count()
}

/// Replaces Persian and Arabic-Indic digits with ASCII ones; other
/// characters are kept.
pub fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match digit_value(c) {
            Some(v) => char::from_digit(v, 10).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// Rough shape of a number for direction inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// An internal extension: 1..=max digits.
    Short,
    /// An external number: more than max digits.
    Long,
    /// No digits at all (`s`, `anonymous`, empty).
    NoDigits,
}

fn shape(s: &str, max: usize) -> Shape {
    match count_digits(s) {
        0 => Shape::NoDigits,
        n if n <= max => Shape::Short,
        _ => Shape::Long,
    }
}

/// True when `s` is made only of digits (any script) and has at most `max`.
fn is_extension(s: &str, max: usize) -> bool {
    let n = count_digits(s);
    n > 0 && n <= max && s.chars().all(|c| digit_value(c).is_some())
}

/// Extracts the extension from a channel name such as `SIP/101-0000001`,
/// `PJSIP/101-00000a1b`, `IAX2/101-3`, `Local/101@from-internal-00a1;1`.
/// Returns it with ASCII digits, or `None` for trunks and other peers.
pub fn channel_extension(channel: &str, max: usize) -> Option<String> {
    let (_, rest) = channel.trim().split_once('/')?;
    let peer = rest.split(['@', ';']).next().unwrap_or(rest);
    let peer = if rest.contains('@') {
        peer
    } else {
        peer.rsplit_once('-').map_or(peer, |(p, _)| p)
    };
    is_extension(peer, max).then(|| ascii_digits(peer))
}

/// Infers direction and agent extension of a call.
///
/// * short `src`, long `dst` → outbound, agent = `src`;
/// * long or hidden `src`, short `dst` → inbound, agent = `dst`;
/// * both short → internal, agent = `src`;
/// * otherwise an extension found in `dst_channel` means inbound (a DID
///   routed to an agent) and one in `src_channel` means outbound.
pub fn infer(
    src: &str,
    dst: &str,
    src_channel: &str,
    dst_channel: &str,
    max: usize,
) -> (Direction, Option<String>) {
    let ext = |s: &str| Some(ascii_digits(s.trim()));
    match (shape(src, max), shape(dst, max)) {
        (Shape::Short, Shape::Long) => (Direction::Outbound, ext(src)),
        (Shape::Long | Shape::NoDigits, Shape::Short) => (Direction::Inbound, ext(dst)),
        (Shape::Short, Shape::Short) => (Direction::Internal, ext(src)),
        (Shape::Short, Shape::NoDigits) => (Direction::Unknown, ext(src)),
        _ => {
            if let Some(e) = channel_extension(dst_channel, max) {
                (Direction::Inbound, Some(e))
            } else if let Some(e) = channel_extension(src_channel, max) {
                (Direction::Outbound, Some(e))
            } else {
                (Direction::Unknown, None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persian_and_arabic_indic_digits_are_counted() {
        assert_eq!(count_digits("۰۹۱۲۱۲۳۴۵۶۷"), 11);
        assert_eq!(count_digits("٠٩١٢"), 4);
        assert_eq!(ascii_digits("+۹۸ ٩١٢"), "+98 912");
    }

    #[test]
    fn channel_names_yield_extensions_but_trunks_do_not() {
        assert_eq!(channel_extension("SIP/101-0000001", 5), Some("101".into()));
        assert_eq!(
            channel_extension("PJSIP/۱۰۲-00000a1b", 5),
            Some("102".into())
        );
        assert_eq!(
            channel_extension("Local/103@from-internal-00a1;1", 5),
            Some("103".into())
        );
        assert_eq!(channel_extension("PJSIP/trunk-tci-0000001", 5), None);
        assert_eq!(channel_extension("", 5), None);
    }

    #[test]
    fn direction_follows_number_lengths() {
        let d = |s, d| infer(s, d, "", "", 5);
        assert_eq!(
            d("101", "09121234567"),
            (Direction::Outbound, Some("101".into()))
        );
        assert_eq!(
            d("۰۹۱۲۱۲۳۴۵۶۷", "102"),
            (Direction::Inbound, Some("102".into()))
        );
        assert_eq!(d("101", "102"), (Direction::Internal, Some("101".into())));
        assert_eq!(d("02188776655", "02199887766").0, Direction::Unknown);
        assert_eq!(
            infer("02188776655", "02199887766", "SIP/tci-1", "SIP/104-2", 5),
            (Direction::Inbound, Some("104".into()))
        );
    }
}

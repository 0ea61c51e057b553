//! The link to a call's recording, from `voice.recording_url_template` and the CDR.
//!
//! Placeholders: `{recordingfile}` (the file name FreePBX stores in the `recordingfile` column;
//! a stored path is reduced to its file name), `{uniqueid}`, `{linkedid}`, and `{calldate}` or
//! `{calldate:FORMAT}` — the call's start in the PBX's local time, FORMAT with `%Y`, `%m`,
//! `%d`, `%H`, `%M`, `%S` (FreePBX files recordings under `monitor/%Y/%m/%d/`). Values are
//! percent-encoded where a URL needs it. A call without a recording file gets no link.

use super::rows::CdrRow;

/// The recording link of `row`, when the template is set and the row names a file.
pub fn recording_url(template: &str, row: &CdrRow) -> Option<String> {
    let file = row.recordingfile.trim();
    let file = file.rsplit('/').next().unwrap_or(file);
    if template.trim().is_empty() || file.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut rest = template.trim();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = match name.split_once(':') {
            Some(("calldate", format)) => date(&row.calldate, format),
            None if name == "calldate" => date(&row.calldate, "%Y-%m-%d %H:%M:%S"),
            None if name == "recordingfile" => file.to_string(),
            None if name == "uniqueid" => row.uniqueid.trim().to_string(),
            None if name == "linkedid" => row.call_key().to_string(),
            _ => format!("{{{name}}}"),
        };
        out.push_str(&encode(&value));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// `calldate` (`YYYY-MM-DD HH:MM:SS`) laid out by a strftime-like `format`.
fn date(calldate: &str, format: &str) -> String {
    let part = |from: usize, to: usize| calldate.get(from..to).unwrap_or("");
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(part(0, 4)),
            Some('m') => out.push_str(part(5, 7)),
            Some('d') => out.push_str(part(8, 10)),
            Some('H') => out.push_str(part(11, 13)),
            Some('M') => out.push_str(part(14, 16)),
            Some('S') => out.push_str(part(17, 19)),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Percent-encode what is not safe in a URL path (`/` is kept: it separates directories).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str) -> CdrRow {
        CdrRow {
            calldate: "2026-03-01 10:04:05".into(),
            uniqueid: "1772345045.12".into(),
            linkedid: "1772345045.10".into(),
            recordingfile: file.into(),
            ..CdrRow::default()
        }
    }

    #[test]
    fn placeholders_are_filled_and_dates_laid_out() {
        let t =
            "https://pbx.example/rec/{calldate:%Y/%m/%d}/{recordingfile}?u={uniqueid}&l={linkedid}";
        assert_eq!(
            recording_url(t, &row("q-400-0912-20260301-100405-1772345045.12.wav")).as_deref(),
            Some("https://pbx.example/rec/2026/03/01/q-400-0912-20260301-100405-1772345045.12.wav?u=1772345045.12&l=1772345045.10")
        );
    }

    #[test]
    fn no_file_or_no_template_means_no_link_and_paths_are_reduced() {
        assert_eq!(recording_url("https://x/{recordingfile}", &row("")), None);
        assert_eq!(recording_url("", &row("a.wav")), None);
        assert_eq!(
            recording_url(
                "https://x/{recordingfile}",
                &row("/var/spool/asterisk/monitor/2026/03/01/a b.wav")
            )
            .as_deref(),
            Some("https://x/a%20b.wav")
        );
    }
}

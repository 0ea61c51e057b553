//! Property tests: no input makes the public functions panic.

use proptest::prelude::*;
use switchboard_mail::{
    base_subject, conversation_token, fold_quotes, is_rtl, parse, sanitize_html,
    strip_reply_prefixes, Limits,
};

const LIMITS: Limits = Limits {
    max_message_bytes: 1 << 20,
    max_attachment_bytes: 1 << 10,
};

/// Every corpus message, to be mutated.
fn corpus() -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).expect("read"))
        .filter(|b| b.len() < 64 * 1024)
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippets = prop::sample::select(vec![
        b"\r\n".to_vec(),
        b"--".to_vec(),
        b"=?windows-1256?B?".to_vec(),
        b"=?utf-8?Q?=D8=".to_vec(),
        b"Content-Type: multipart/mixed; boundary=\"".to_vec(),
        b"Content-Transfer-Encoding: base64\r\n".to_vec(),
        b"<img src=\"cid:".to_vec(),
        b"<blockquote>".to_vec(),
        b"\xff\xfe\x00".to_vec(),
        b"\"".to_vec(),
        b"[#".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop_oneof![snippets, prop::collection::vec(any::<u8>(), 0..16)]
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 0usize..256).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if let Some(x) = bytes.get_mut(i % len) {
                    *x = *b;
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
            Mutation::Delete(i, n) => {
                let start = (i % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(i, v) => {
                let at = (i % len).min(bytes.len());
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::Duplicate(i, n) => {
                let start = (i % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let chunk = bytes[start..end].to_vec();
                bytes.splice(end..end, chunk);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes, &LIMITS);
    }

    #[test]
    fn parse_never_panics_on_header_shaped_bytes(
        body in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n".to_vec();
        bytes.extend(body);
        let _ = parse(&bytes, &LIMITS);
    }

    #[test]
    fn parse_never_panics_on_mutated_corpus_messages(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let corpus = corpus();
        let original = corpus[which.index(corpus.len())].clone();
        let bytes = apply(original, &mutations);
        if let Ok(m) = parse(&bytes, &LIMITS) {
            prop_assert_eq!(m.size, bytes.len());
            prop_assert!(!m.message_id.is_empty());
            if let Some(html) = m.html_sanitized {
                prop_assert!(!html.to_ascii_lowercase().contains("<script"));
            }
        }
    }

    #[test]
    fn text_helpers_never_panic(s in "\\PC{0,200}") {
        let _ = conversation_token(&s);
        let _ = strip_reply_prefixes(&s);
        let _ = base_subject(&s);
        let _ = fold_quotes(&s);
        let _ = is_rtl(&s);
        let clean = sanitize_html(&s);
        prop_assert!(!clean.to_ascii_lowercase().contains("<script"));
    }

    #[test]
    fn base_subject_is_idempotent(s in "(Re: |پاسخ: |Fwd: |\\[#[0-9]{1,3}\\] |[a-zآ-ی ]{0,8})*") {
        let once = base_subject(&s);
        prop_assert_eq!(base_subject(&once), once.clone());
        prop_assert_eq!(conversation_token(&once), None);
    }
}

//! Property tests: no parser panics on arbitrary input, and chunked
//! parsing agrees with whole-file parsing.

use proptest::prelude::*;
use switchboard_voice::{
    parse_asterisk, parse_chunk, parse_cti_form, parse_cti_json, parse_freeswitch, parse_hylafax,
    ParseOptions, Source,
};

const ASTERISK: &[u8] = include_bytes!("fixtures/asterisk_master.csv");
const FREESWITCH: &[u8] = include_bytes!("fixtures/freeswitch_master.csv");
const HYLAFAX: &[u8] = include_bytes!("fixtures/hylafax_xferfaxlog");

fn options() -> impl Strategy<Value = ParseOptions> {
    // Mostly valid offsets (so parsing goes past the offset check), some wild.
    let offset = prop_oneof![4 => -93_599i32..=93_599, 1 => any::<i32>()];
    (offset, 0usize..20).prop_map(
        |(utc_offset_secs, internal_extension_max_len)| ParseOptions {
            utc_offset_secs,
            internal_extension_max_len,
        },
    )
}

/// Arbitrary bytes, or a fixture with some bytes overwritten.
fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        (
            prop_oneof![Just(ASTERISK), Just(FREESWITCH), Just(HYLAFAX)],
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        )
            .prop_map(|(base, edits)| {
                let mut v = base.to_vec();
                for (i, b) in edits {
                    let n = v.len();
                    v[i % n] = b;
                }
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_log_parser_panics_on_arbitrary_bytes(input in inputs(), opts in options()) {
        for report in [
            parse_asterisk(&input, &opts),
            parse_freeswitch(&input, &opts),
            parse_hylafax(&input, &opts),
        ] {
            let lines = input.split(|&b| b == b'\n').count();
            prop_assert!(report.errors.iter().all(|e| e.line >= 1 && e.line <= lines));
        }
    }

    #[test]
    fn no_cti_parser_panics_on_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_cti_json(&input);
        let _ = parse_cti_form(&input);
    }

    #[test]
    fn chunked_parsing_matches_whole_parsing(
        input in inputs(),
        split in any::<usize>(),
        first_line in 0usize..usize::MAX / 2,
    ) {
        let opts = ParseOptions { utc_offset_secs: 12600, internal_extension_max_len: 5 };
        for format in [Source::Asterisk, Source::FreeSwitch, Source::HylaFax] {
            let mut whole_input = input.clone();
            whole_input.push(b'\n');
            let whole = parse_chunk(format, &whole_input, first_line, &opts);
            prop_assert_eq!(whole.1, whole_input.len());

            let cut = split % (whole_input.len() + 1);
            let (a, used) = parse_chunk(format, &whole_input[..cut], first_line, &opts);
            prop_assert!(used <= cut);
            prop_assert!(used == 0 || whole_input[used - 1] == b'\n');
            let next = first_line + whole_input[..used].iter().filter(|&&b| b == b'\n').count();
            let (b, used_b) = parse_chunk(format, &whole_input[used..], next, &opts);
            prop_assert_eq!(used + used_b, whole_input.len());
            let mut records = a.records;
            records.extend(b.records);
            let mut errors = a.errors;
            errors.extend(b.errors);
            prop_assert_eq!(&records, &whole.0.records);
            prop_assert_eq!(&errors, &whole.0.errors);
        }
    }
}

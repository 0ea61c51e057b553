//! Ranking the matches a search found, in Rust, the same on both backends. The database only
//! finds the newest matching messages and subjects (`store::fulltext::hits_sql`); they are
//! scored here with BM25 over their folded text.
//!
//! FTS5's own `bm25()` weighs each term by counting every row that holds it, on every query:
//! for a word in 1.5 million messages that count alone took ~30 ms, whatever the `LIMIT`, and
//! eight agents searching at once queued behind it. A term's weight here comes from a count
//! that stops at [`DF_CAP`] rows (`store::fulltext::capped_count_sql`): a word in more rows
//! than that is common, and how much more common no longer changes the order.

/// Rows a term's document count is counted up to.
pub const DF_CAP: u32 = 5_000;

/// BM25's term-frequency saturation and length normalisation (the usual values, as FTS5's).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// A subject's score counts double (a subject names the whole conversation).
const SUBJECT_WEIGHT: f64 = 2.0;

/// One match found by the database: a message (or, with `message_id` `None`, a subject) of a
/// conversation, with its folded text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Hit {
    pub conversation_id: String,
    pub message_id: Option<String>,
    pub text: String,
}

/// The weight of a term found in `df` rows (counted up to [`DF_CAP`]): BM25's inverse
/// document frequency with the capped count standing for the collection.
pub fn weight(df: u32) -> f64 {
    let cap = f64::from(DF_CAP);
    let n = f64::from(df.clamp(1, DF_CAP));
    (1.0 + (cap - n + 0.5) / (n + 0.5)).ln()
}

/// The words of folded text, split as the query's terms are (`search::terms`).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Each conversation once, with its best hit, best first (ties: the newer conversation, then
/// the message with the smaller id). `weights[i]` weighs `terms[i]`.
pub fn best_per_conversation(hits: Vec<Hit>, terms: &[String], weights: &[f64]) -> Vec<Hit> {
    let counted: Vec<(Vec<u32>, usize)> = hits.iter().map(|h| counts(&h.text, terms)).collect();
    let mean = |subjects: bool| {
        let lens: Vec<usize> = hits
            .iter()
            .zip(&counted)
            .filter(|(h, _)| h.message_id.is_none() == subjects)
            .map(|(_, c)| c.1)
            .collect();
        (lens.iter().sum::<usize>() as f64 / lens.len().max(1) as f64).max(1.0)
    };
    let (mean_message, mean_subject) = (mean(false), mean(true));
    let mut scored: Vec<(f64, Hit)> = hits
        .into_iter()
        .zip(counted)
        .map(|(h, (tf, len))| {
            let subject = h.message_id.is_none();
            let mean = if subject { mean_subject } else { mean_message };
            let s = bm25(&tf, len, mean, weights);
            (if subject { s * SUBJECT_WEIGHT } else { s }, h)
        })
        .collect();
    scored.sort_by(|a, b| {
        a.1.conversation_id
            .cmp(&b.1.conversation_id)
            .then(b.0.total_cmp(&a.0))
            .then(a.1.message_id.cmp(&b.1.message_id))
    });
    scored.dedup_by(|later, kept| later.1.conversation_id == kept.1.conversation_id);
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.conversation_id.cmp(&a.1.conversation_id))
    });
    scored.into_iter().map(|(_, h)| h).collect()
}

/// How often each term occurs in `text`, and how many words it has.
fn counts(text: &str, terms: &[String]) -> (Vec<u32>, usize) {
    let mut tf = vec![0u32; terms.len()];
    let mut len = 0;
    for w in words(text) {
        len += 1;
        if let Some(i) = terms.iter().position(|t| t == w) {
            tf[i] += 1;
        }
    }
    (tf, len)
}

fn bm25(tf: &[u32], len: usize, mean_len: f64, weights: &[f64]) -> f64 {
    let norm = K1 * (1.0 - B + B * len as f64 / mean_len);
    tf.iter()
        .zip(weights)
        .map(|(&f, w)| {
            // The database matched every term: a word the split here missed still counts once.
            let f = f64::from(f.max(1));
            w * f * (K1 + 1.0) / (f + norm)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(conversation: &str, message: Option<&str>, text: &str) -> Hit {
        Hit {
            conversation_id: conversation.into(),
            message_id: message.map(Into::into),
            text: text.into(),
        }
    }

    fn order(hits: Vec<Hit>, terms: &[&str], dfs: &[u32]) -> Vec<String> {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        let weights: Vec<f64> = dfs.iter().map(|&d| weight(d)).collect();
        best_per_conversation(hits, &terms, &weights)
            .into_iter()
            .map(|h| h.conversation_id)
            .collect()
    }

    #[test]
    fn a_rarer_word_weighs_more_and_common_words_weigh_alike_past_the_cap() {
        assert!(weight(1) > weight(10));
        assert!(weight(10) > weight(DF_CAP - 1));
        assert_eq!(weight(DF_CAP), weight(DF_CAP * 100));
        assert!(weight(DF_CAP) > 0.0);
        let hits = vec![
            hit("a", Some("1"), "order order order 447812"),
            hit("b", Some("2"), "order 447812 447812 447812"),
        ];
        assert_eq!(order(hits, &["order", "447812"], &[DF_CAP, 3]), ["b", "a"]);
    }

    #[test]
    fn more_occurrences_in_shorter_text_rank_higher_and_subjects_count_double() {
        let hits = vec![
            hit(
                "a",
                Some("1"),
                "parcel and a great many other words about nothing",
            ),
            hit("b", Some("2"), "parcel parcel"),
            hit(
                "c",
                None,
                "parcel and a great many other words about nothing",
            ),
        ];
        assert_eq!(order(hits, &["parcel"], &[10]), ["c", "b", "a"]);
    }

    #[test]
    fn a_conversation_appears_once_with_its_best_hit_and_ties_go_to_the_newer() {
        let hits = vec![
            hit("a", Some("1"), "refund please"),
            hit("a", Some("2"), "refund refund"),
            hit("b", Some("3"), "refund please"),
        ];
        let terms = vec!["refund".to_string()];
        let best = best_per_conversation(hits, &terms, &[weight(5)]);
        let got: Vec<_> = best
            .iter()
            .map(|h| (h.conversation_id.as_str(), h.message_id.as_deref()))
            .collect();
        assert_eq!(got, [("a", Some("2")), ("b", Some("3"))]);
        let tied = vec![
            hit("x", Some("1"), "refund please"),
            hit("y", Some("2"), "refund please"),
        ];
        assert_eq!(order(tied, &["refund"], &[5]), ["y", "x"]);
    }
}

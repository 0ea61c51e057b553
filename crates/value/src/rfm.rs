//! RFM: recency, frequency and monetary scores 1–5 by quintiles, and named segments.
//!
//! Each score is 1 + the number of quintile boundaries strictly below the customer's value,
//! where boundary k (k = 1..4) is the largest value in the k-th fifth of all scored
//! customers sorted ascending. Ties therefore share a score (customers who all bought once
//! all get the same frequency score). Recency is scored on the day of the last purchase (a
//! later day scores higher), frequency on the number of purchases, monetary on the total
//! spent.
//!
//! Segments come from R and the mean of F and M rounded up (FM = ⌈(F + M) / 2⌉), one
//! documented map:
//!
//! | R \ FM | 1              | 2              | 3                | 4                | 5                |
//! |--------|----------------|----------------|------------------|------------------|------------------|
//! | 5      | New            | Potential loyalist | Potential loyalist | Champions    | Champions        |
//! | 4      | Promising      | Potential loyalist | Potential loyalist | Loyal        | Loyal            |
//! | 3      | About to sleep | About to sleep | Need attention   | Loyal            | Loyal            |
//! | 2      | Hibernating    | Hibernating    | At risk          | At risk          | Can't lose them  |
//! | 1      | Lost           | Lost           | At risk          | At risk          | Can't lose them  |

use serde::{Deserialize, Serialize};

/// Quintile boundaries of one score (four ascending values).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quintiles(pub Vec<f64>);

impl Quintiles {
    /// Boundaries of `values` (any order); empty input gives no boundaries (every score 1).
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self(Vec::new());
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        Self((1..5).map(|k| values[(k * n).div_ceil(5) - 1]).collect())
    }

    /// The score 1–5 of `value`.
    pub fn score(&self, value: f64) -> u8 {
        1 + self.0.iter().filter(|&&b| b < value).count() as u8
    }
}

/// An RFM scoring: boundaries of last purchase day, purchase count and total spent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rfm {
    pub recency: Quintiles,
    pub frequency: Quintiles,
    pub monetary: Quintiles,
}

impl Rfm {
    /// Scores of (last purchase day, purchases, total) as (R, F, M).
    pub fn scores(&self, last_day: f64, purchases: f64, total: f64) -> (u8, u8, u8) {
        (
            self.recency.score(last_day),
            self.frequency.score(purchases),
            self.monetary.score(total),
        )
    }
}

/// The named RFM segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Segment {
    Champions,
    Loyal,
    PotentialLoyalist,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CantLoseThem,
    Hibernating,
    Lost,
}

/// Every segment, best first.
pub const SEGMENTS: [Segment; 11] = [
    Segment::Champions,
    Segment::Loyal,
    Segment::PotentialLoyalist,
    Segment::New,
    Segment::Promising,
    Segment::NeedAttention,
    Segment::AboutToSleep,
    Segment::AtRisk,
    Segment::CantLoseThem,
    Segment::Hibernating,
    Segment::Lost,
];

impl Segment {
    /// The segment of scores R, F, M (each 1–5), by the map above.
    pub fn of(r: u8, f: u8, m: u8) -> Self {
        use Segment::*;
        let fm = (f + m).div_ceil(2);
        match (r, fm) {
            (5, 1) => New,
            (4 | 5, 2 | 3) => PotentialLoyalist,
            (5, _) => Champions,
            (4, 1) => Promising,
            (4, _) => Loyal,
            (3, 1 | 2) => AboutToSleep,
            (3, 3) => NeedAttention,
            (3, _) => Loyal,
            (2, 1 | 2) => Hibernating,
            (_, 1 | 2) => Lost,
            (_, 5..) => CantLoseThem,
            _ => AtRisk,
        }
    }

    /// The display name, e.g. "Can't lose them".
    pub fn name(self) -> &'static str {
        match self {
            Segment::Champions => "Champions",
            Segment::Loyal => "Loyal",
            Segment::PotentialLoyalist => "Potential loyalist",
            Segment::New => "New",
            Segment::Promising => "Promising",
            Segment::NeedAttention => "Need attention",
            Segment::AboutToSleep => "About to sleep",
            Segment::AtRisk => "At risk",
            Segment::CantLoseThem => "Can't lose them",
            Segment::Hibernating => "Hibernating",
            Segment::Lost => "Lost",
        }
    }

    /// The segment named `s`: its display name or a slug (`cant_lose_them`), any case.
    pub fn parse(s: &str) -> Option<Self> {
        let key = |n: &str| {
            n.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        };
        let wanted = key(s);
        SEGMENTS.into_iter().find(|seg| key(seg.name()) == wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_of_ten_values_give_two_customers_each_score() {
        let q = Quintiles::of((1..=10).map(f64::from).collect());
        assert_eq!(q.0, vec![2.0, 4.0, 6.0, 8.0]);
        let scores: Vec<u8> = (1..=10).map(|v| q.score(f64::from(v))).collect();
        assert_eq!(scores, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn ties_share_a_score() {
        let q = Quintiles::of(vec![1.0, 1.0, 1.0, 1.0, 2.0, 3.0]);
        assert_eq!(q.score(1.0), 1);
        assert_eq!(q.score(2.0), 4);
        assert_eq!(q.score(3.0), 5);
        assert_eq!(Quintiles::of(Vec::new()).score(7.0), 1);
    }

    #[test]
    fn the_segment_map_follows_the_documented_grid() {
        assert_eq!(Segment::of(5, 5, 5), Segment::Champions);
        assert_eq!(Segment::of(5, 1, 1), Segment::New);
        assert_eq!(Segment::of(4, 1, 1), Segment::Promising);
        assert_eq!(Segment::of(4, 2, 3), Segment::PotentialLoyalist);
        assert_eq!(Segment::of(4, 4, 5), Segment::Loyal);
        assert_eq!(Segment::of(3, 3, 3), Segment::NeedAttention);
        assert_eq!(Segment::of(3, 1, 2), Segment::AboutToSleep);
        assert_eq!(Segment::of(2, 4, 3), Segment::AtRisk);
        assert_eq!(Segment::of(1, 5, 5), Segment::CantLoseThem);
        assert_eq!(Segment::of(2, 1, 1), Segment::Hibernating);
        assert_eq!(Segment::of(1, 2, 1), Segment::Lost);
        // Every cell of the grid has exactly one segment, and every segment is reachable.
        let mut seen = std::collections::HashSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(Segment::of(r, f, m));
                }
            }
        }
        assert_eq!(seen.len(), SEGMENTS.len());
    }

    #[test]
    fn segments_parse_from_names_and_slugs() {
        assert_eq!(
            Segment::parse("Can't lose them"),
            Some(Segment::CantLoseThem)
        );
        assert_eq!(
            Segment::parse("cant_lose_them"),
            Some(Segment::CantLoseThem)
        );
        assert_eq!(
            Segment::parse("potential-loyalist"),
            Some(Segment::PotentialLoyalist)
        );
        assert_eq!(Segment::parse("vip"), None);
    }
}

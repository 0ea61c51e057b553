//! Fixed histogram buckets for durations, so percentiles of a year come from ~365 rolled-up
//! rows: one-second buckets under two minutes, then 10 s up to 20 min, 1 min up to 2 h,
//! 10 min up to 2 days, 1 h up to 90 days. A percentile is the lower bound of the bucket
//! holding the nearest-rank value (exact to the second under two minutes).

use std::collections::BTreeMap;

/// (first second of the band, bucket width in seconds) of each band, in order.
const BANDS: [(i64, i64); 5] = [
    (0, 1),
    (120, 10),
    (1_200, 60),
    (7_200, 600),
    (172_800, 3_600),
];
const END: i64 = 90 * 86_400;

/// Bucket index of a duration in seconds.
pub fn bucket(secs: i64) -> i64 {
    let secs = secs.clamp(0, END);
    let mut base = 0;
    for (k, (start, width)) in BANDS.iter().enumerate() {
        let stop = BANDS.get(k + 1).map_or(END, |b| b.0);
        if secs < stop {
            return base + (secs - start) / width;
        }
        base += (stop - start) / width;
    }
    base
}

/// The lowest duration (seconds) a bucket holds.
pub fn lower_bound(index: i64) -> i64 {
    let mut base = 0;
    for (k, (start, width)) in BANDS.iter().enumerate() {
        let stop = BANDS.get(k + 1).map_or(END, |b| b.0);
        let n = (stop - start) / width;
        if index < base + n {
            return start + (index - base) * width;
        }
        base += n;
    }
    END
}

/// Counts per bucket.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Histogram(pub BTreeMap<i64, i64>);

impl Histogram {
    pub fn add_ms(&mut self, ms: i64) {
        *self.0.entry(bucket(ms / 1000)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (k, v) in &other.0 {
            *self.0.entry(*k).or_default() += v;
        }
    }

    /// Take away what `other` counted (buckets that reach zero go).
    pub fn subtract(&mut self, other: &Histogram) {
        for (k, v) in &other.0 {
            let n = self.0.entry(*k).or_default();
            *n -= v;
            if *n <= 0 {
                self.0.remove(k);
            }
        }
    }

    /// Nearest-rank percentile (`p` in 0–100) in seconds; `None` when empty.
    pub fn percentile(&self, p: i64) -> Option<i64> {
        let total: i64 = self.0.values().sum();
        if total == 0 {
            return None;
        }
        let rank = ((p * total) + 99) / 100;
        let mut seen = 0;
        for (k, v) in &self.0 {
            seen += v;
            if seen >= rank.max(1) {
                return Some(lower_bound(*k));
            }
        }
        self.0.keys().last().map(|k| lower_bound(*k))
    }

    /// Stored form: `{"bucket": count, …}`.
    pub fn to_text(&self) -> String {
        let m: BTreeMap<String, i64> = self.0.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        serde_json::to_string(&m).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_text(s: &str) -> Histogram {
        let mut h = Histogram::default();
        h.merge_text(s);
        h
    }

    /// Add the counts of a histogram's text ([`Histogram::to_text`]) without building it: a
    /// year's report by agent merges tens of thousands of rollup rows.
    pub fn merge_text(&mut self, s: &str) {
        if self.merge_plain(s).is_none() {
            let m: BTreeMap<String, i64> = serde_json::from_str(s).unwrap_or_default();
            for (k, v) in m {
                if let Ok(k) = k.parse() {
                    *self.0.entry(k).or_default() += v;
                }
            }
        }
    }

    /// The text as [`Histogram::to_text`] writes it (`{"3":1,"40":2}`); `None` (nothing
    /// added) for anything else.
    fn merge_plain(&mut self, s: &str) -> Option<()> {
        let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
        let mut pairs = Vec::new();
        for pair in inner.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once(':')?;
            let k = k
                .strip_prefix('"')?
                .strip_suffix('"')?
                .parse::<i64>()
                .ok()?;
            pairs.push((k, v.parse::<i64>().ok()?));
        }
        for (k, v) in pairs {
            *self.0.entry(k).or_default() += v;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_seconds_then_widen() {
        for s in [
            0, 1, 59, 119, 120, 125, 1_199, 1_200, 7_199, 7_200, 172_800, 200_000,
        ] {
            let b = bucket(s);
            assert!(lower_bound(b) <= s && s < lower_bound(b + 1), "{s}");
        }
        assert_eq!(lower_bound(bucket(125)), 120);
        assert_eq!(bucket(END + 5), bucket(END));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut h = Histogram::default();
        for s in [10, 30, 40, 50] {
            h.add_ms(s * 1000 + 400);
        }
        assert_eq!(h.percentile(50), Some(30));
        assert_eq!(h.percentile(90), Some(50));
        let back = Histogram::from_text(&h.to_text());
        assert_eq!(back, h);
        let mut twice = back.clone();
        twice.merge_text(&h.to_text());
        twice.merge_text("{ \"3\" : 1 }");
        assert_eq!(
            twice.0.values().sum::<i64>(),
            9,
            "plain text and JSON with spaces"
        );
        assert_eq!(Histogram::from_text("{}"), Histogram::default());
        assert_eq!(Histogram::from_text("garbage"), Histogram::default());
        assert_eq!(Histogram::default().percentile(50), None);
    }
}

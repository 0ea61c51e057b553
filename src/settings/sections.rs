//! The settings sections of modules that also read `AppState` (which holds the settings):
//! kept here so that the settings import none of them, and the modules re-export their own.

use serde::{Deserialize, Deserializer};
use switchboard_value::Segment;

/// The `[value]` settings (documented in `config/default.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct ValueSettings {
    pub default_currency: String,
    pub order_currency: String,
    pub rfm_window_days: i64,
    pub clv_horizon_days: i64,
    pub at_risk_p_alive: f64,
    pub at_risk_csat_max: i64,
    pub at_risk_repeat_contacts: i64,
    pub at_risk_days: i64,
    pub refit_interval_secs: u64,
    pub refit_after_orders_secs: u64,
    pub refit_lease_secs: u64,
    pub import_batch: usize,
    pub import_merge_range: i64,
    pub woocommerce_secret: String,
    pub tier_from_segment: String,
}

/// `[reports]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportSettings {
    /// IANA time zone of report days (`Asia/Tehran`).
    pub time_zone: String,
    pub short_abandon_seconds: i64,
    pub interval_ms: u64,
    pub late_commit_secs: i64,
}

/// The `[events]` settings (documented in `config/default.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct EventLogSettings {
    pub retention_days: u64,
    pub relay_poll_ms: u64,
    pub relay_grace_ms: u64,
}

/// Parse `segment=points` pairs (segment names or slugs, points −1000–1000), refusing a bad
/// entry so that a mistyped setting stops the server at start-up with its reason.
pub fn parse_segment_points(setting: &str) -> Result<Vec<(String, i32)>, String> {
    let mut out = Vec::new();
    for entry in setting.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (seg, points) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}` is not segment=points"))?;
        let segment = Segment::parse(seg.trim())
            .ok_or_else(|| format!("unknown segment `{}`", seg.trim()))?;
        let points: i32 = points
            .trim()
            .parse()
            .ok()
            .filter(|p| (-1000..=1000).contains(p))
            .ok_or_else(|| format!("`{}` is not a number of points -1000-1000", points.trim()))?;
        out.push((segment.name().to_string(), points));
    }
    Ok(out)
}

/// `deserialize_with` for `routing.value_segment_priority`.
pub fn segment_points<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, i32)>, D::Error> {
    let s = String::deserialize(d)?;
    parse_segment_points(&s)
        .map_err(|e| serde::de::Error::custom(format!("value_segment_priority: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_points_parse_names_and_slugs_and_refuse_mistakes() {
        let p = parse_segment_points(" Champions=100, cant_lose_them=80 ,loyal=-5").unwrap();
        assert_eq!(
            p,
            vec![
                ("Champions".to_string(), 100),
                ("Can't lose them".to_string(), 80),
                ("Loyal".to_string(), -5)
            ]
        );
        assert!(parse_segment_points("").unwrap().is_empty());
        assert!(parse_segment_points("Champs=100")
            .unwrap_err()
            .contains("Champs"));
        assert!(parse_segment_points("Champions").is_err());
        assert!(parse_segment_points("Champions=lots").is_err());
        assert!(parse_segment_points("Champions=5000").is_err());
    }
}

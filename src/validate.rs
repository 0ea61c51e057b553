//! Small input checks shared by the routes; each failure is a 422 with a precise code.

use crate::error::{ApiError, ApiResult};

/// A trimmed, non-empty name of at most `max` characters.
pub fn name(field: &'static str, s: &str, max: usize) -> ApiResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ApiError::invalid(
            "invalid_field",
            format!("`{field}` must not be empty"),
        ));
    }
    if t.chars().count() > max {
        return Err(ApiError::invalid(
            "too_long",
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(ApiError::invalid(
            "invalid_field",
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(t.to_string())
}

/// A list of short labels (skills, languages, channels, tags): trimmed, lowercased, deduplicated.
pub fn labels(field: &'static str, items: &[String]) -> ApiResult<Vec<String>> {
    if items.len() > 100 {
        return Err(ApiError::invalid(
            "too_long",
            format!("`{field}` has too many entries"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        let v = i.trim().to_lowercase();
        if v.is_empty() || v.chars().count() > 64 || v.chars().any(|c| c.is_control() || c == ',') {
            return Err(ApiError::invalid(
                "invalid_field",
                format!("`{field}` entries must be 1–64 characters without commas"),
            ));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// A password good enough to keep: 8–1024 characters.
pub fn password(p: &str) -> ApiResult<()> {
    let n = p.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(ApiError::invalid(
            "weak_password",
            "password must be 8–1024 characters",
        ));
    }
    Ok(())
}

/// Channels conversations can arrive on.
pub const CHANNELS: &[&str] = &["email", "chat", "phone", "fax", "api"];

pub fn channel(c: &str) -> ApiResult<String> {
    if CHANNELS.contains(&c) {
        Ok(c.to_string())
    } else {
        Err(ApiError::invalid(
            "invalid_channel",
            format!("unknown channel `{c}` (one of {})", CHANNELS.join(", ")),
        ))
    }
}

/// Whether JSON text holds a NUL character (`\u0000` escaped): PostgreSQL cannot store it, so it
/// is refused (422 `invalid_text`) wherever JSON enters — request bodies through
/// [`crate::error::ApiJson`] and widget frames. Lives in `switchboard_wire`, which is fuzzed.
pub use switchboard_wire::json_has_nul;

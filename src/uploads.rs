//! What every multipart upload route shares: the file name a client sent, made safe to store
//! and show, and multipart errors as API errors (413 when a limit was crossed).

use crate::error::ApiError;

/// The last path segment of `raw` without control characters, at most 200 characters;
/// `file` when nothing is left.
pub fn clean_name(raw: Option<&str>) -> String {
    let base: String = raw
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    match base.trim() {
        "" => "file".into(),
        b => b.to_string(),
    }
}

/// A multipart failure: `413 too_large` for a size limit, `400` for a malformed body.
pub fn multipart_error(e: multer::Error) -> ApiError {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            ApiError::TooLarge
        }
        other => ApiError::BadRequest(format!("malformed multipart body: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_lose_their_paths_and_control_characters() {
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("C:\\x\\رسید.pdf")), "رسید.pdf");
        assert_eq!(clean_name(Some("a\r\nb.txt")), "ab.txt");
        assert_eq!(clean_name(Some("  ")), "file");
        assert_eq!(clean_name(None), "file");
    }
}

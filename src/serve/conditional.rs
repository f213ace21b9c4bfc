//! Conditional requests (RFC 9110 §13) against a file's modification time,
//! the only validator this server has (it sends no `ETag`).
//!
//! apt uses two of them: `If-Modified-Since` when it refreshes index files it
//! already has (a 304 saves the download), and `If-Range` with the
//! modification time of a partial download it resumes with `Range`, so that
//! a file that changed meanwhile is sent whole instead of being spliced.

use std::time::SystemTime;

use super::request::RequestHead;

/// Whether the request's preconditions make the answer 304 Not Modified.
/// `mtime` is the file's modification time in whole seconds, if known.
pub(crate) fn is_not_modified(head: &RequestHead, mtime: Option<u64>) -> bool {
    if head.values("if-none-match").next().is_some() {
        // §13.2.2: If-None-Match takes precedence over If-Modified-Since.
        // Without entity tags only `*` ("any current representation") can
        // match, and the file exists.
        return head
            .values("if-none-match")
            .flat_map(|v| v.split(','))
            .any(|tag| tag.trim() == "*");
    }
    match (
        mtime,
        head.single("if-modified-since").and_then(http_date_secs),
    ) {
        (Some(mtime), Some(since)) => mtime <= since,
        _ => false,
    }
}

/// Whether an `If-Range` precondition (if any) lets a `Range` header apply:
/// it must carry exactly the file's `Last-Modified` date (§13.1.5); an entity
/// tag never matches since no `ETag` is ever sent.
pub(crate) fn range_applies(head: &RequestHead, mtime: Option<u64>) -> bool {
    if head.values("if-range").next().is_none() {
        return true;
    }
    match (mtime, head.single("if-range").and_then(http_date_secs)) {
        (Some(mtime), Some(date)) => mtime == date,
        _ => false,
    }
}

/// Seconds since the epoch of an HTTP-date in any of the three formats
/// (§5.6.7); `None` if it is not one (then the header is ignored).
fn http_date_secs(value: &str) -> Option<u64> {
    let time = httpdate::parse_http_date(value.trim()).ok()?;
    // Parsed dates start at 1970: unix_secs's clamp to 0 never applies.
    Some(crate::time::unix_secs(time))
}

/// The modification time of a file in whole seconds, clamped to the range an
/// HTTP-date can express (1970 to 9999).
pub(crate) fn mtime_secs(modified: std::io::Result<SystemTime>) -> Option<u64> {
    /// 9999-12-31T23:59:59Z.
    const LAST_HTTP_DATE: u64 = 253_402_300_799;
    let modified = modified.ok()?;
    Some(crate::time::unix_secs(modified).min(LAST_HTTP_DATE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::request::Version;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2024-06-01T10:00:00Z.
    const MTIME: u64 = 1_717_236_000;

    fn head(headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: "GET".to_owned(),
            target: "/".to_owned(),
            version: Version::Http11,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn if_modified_since_compares_whole_seconds() {
        let at = |date: &str| is_not_modified(&head(&[("If-Modified-Since", date)]), Some(MTIME));
        assert!(at("Sat, 01 Jun 2024 10:00:00 GMT"));
        assert!(at("Saturday, 01-Jun-24 10:00:01 GMT"));
        assert!(at("Sat Jun  1 10:00:00 2024"));
        assert!(!at("Sat, 01 Jun 2024 09:59:59 GMT"));
        assert!(!at("yesterday"));
        assert!(!is_not_modified(&head(&[]), Some(MTIME)));
        assert!(!is_not_modified(
            &head(&[("If-Modified-Since", "Sat, 01 Jun 2024 10:00:00 GMT")]),
            None
        ));
    }

    #[test]
    fn if_none_match_overrides_if_modified_since() {
        let since = ("If-Modified-Since", "Sat, 01 Jun 2024 10:00:00 GMT");
        assert!(!is_not_modified(
            &head(&[since, ("If-None-Match", "\"abc\"")]),
            Some(MTIME)
        ));
        assert!(is_not_modified(
            &head(&[("If-None-Match", "*")]),
            Some(MTIME)
        ));
    }

    #[test]
    fn if_range_needs_the_exact_date() {
        let applies = |value: &str| range_applies(&head(&[("If-Range", value)]), Some(MTIME));
        assert!(range_applies(&head(&[]), Some(MTIME)));
        assert!(applies("Sat, 01 Jun 2024 10:00:00 GMT"));
        assert!(!applies("Sat, 01 Jun 2024 10:00:01 GMT"));
        assert!(!applies("Sat, 01 Jun 2024 09:59:59 GMT"));
        assert!(!applies("\"etag\""));
        assert!(!range_applies(
            &head(&[("If-Range", "Sat, 01 Jun 2024 10:00:00 GMT")]),
            None
        ));
    }

    #[test]
    fn mtimes_are_clamped_to_http_dates() {
        let at = |secs: u64| Ok(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(mtime_secs(at(MTIME)), Some(MTIME));
        assert_eq!(mtime_secs(Ok(UNIX_EPOCH - Duration::from_secs(5))), Some(0));
        assert_eq!(mtime_secs(at(u64::MAX / 4)), Some(253_402_300_799));
        assert_eq!(
            mtime_secs(Err(std::io::ErrorKind::Unsupported.into())),
            None
        );
    }
}

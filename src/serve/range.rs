//! The `Range` request header (RFC 9110 §14.1–§14.2), reduced to what a
//! static file server needs: one byte range. apt resumes a partial download
//! with `Range: bytes=N-`; a request for several ranges would need a
//! `multipart/byteranges` answer, which the RFC lets a server avoid by
//! ignoring the header and sending the whole file.

/// What to send for a `Range` header, given the file's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeAnswer {
    /// Send the whole file (200): no usable single range was asked for.
    Full,
    /// Send bytes `start..=end` (206); `end` is below the length.
    Partial { start: u64, end: u64 },
    /// The range lies beyond the end of the file (416).
    Unsatisfiable,
}

/// Evaluates the value of a `Range` header against a file of `len` bytes.
pub(crate) fn evaluate(header: &str, len: u64) -> RangeAnswer {
    let Some((unit, set)) = header.split_once('=') else {
        return RangeAnswer::Full;
    };
    if !unit.eq_ignore_ascii_case("bytes") {
        return RangeAnswer::Full;
    }
    // `#` lists may contain empty elements (RFC 9110 §5.6.1).
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return RangeAnswer::Full;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAnswer::Full;
    };
    if first.is_empty() {
        // `-N`: the last N bytes.
        let Some(suffix) = parse_number(last) else {
            return RangeAnswer::Full;
        };
        if suffix == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        if len == 0 {
            // §14.1.3 calls this satisfiable, but there is no byte to name in
            // a Content-Range: the whole (empty) file is the honest answer.
            return RangeAnswer::Full;
        }
        return RangeAnswer::Partial {
            start: len - suffix.min(len),
            end: len - 1,
        };
    }
    let Some(start) = parse_number(first) else {
        return RangeAnswer::Full;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match parse_number(last) {
            Some(end) if end >= start => end,
            // `5-3` is invalid, and an invalid Range is ignored.
            _ => return RangeAnswer::Full,
        }
    };
    if start >= len {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial {
        start,
        end: end.min(len - 1),
    }
}

/// A run of ASCII digits; values beyond `u64` saturate, since any of them is
/// past the end of any file.
fn parse_number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::RangeAnswer::{Full, Partial, Unsatisfiable};
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn single_ranges() {
        for (header, answer) in [
            ("bytes=0-4", Partial { start: 0, end: 4 }),
            ("bytes=5-", Partial { start: 5, end: 9 }),
            ("bytes=-3", Partial { start: 7, end: 9 }),
            ("bytes=-30", Partial { start: 0, end: 9 }),
            ("bytes=8-100", Partial { start: 8, end: 9 }),
            ("bytes=9-9", Partial { start: 9, end: 9 }),
            ("Bytes=2-3", Partial { start: 2, end: 3 }),
            ("bytes= 2-3 ,", Partial { start: 2, end: 3 }),
            (
                "bytes=0-99999999999999999999999",
                Partial { start: 0, end: 9 },
            ),
        ] {
            assert_eq!(evaluate(header, 10), answer, "{header}");
        }
    }

    #[test]
    fn unsatisfiable_ranges() {
        for header in [
            "bytes=10-",
            "bytes=10-20",
            "bytes=-0",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(evaluate(header, 10), Unsatisfiable, "{header}");
        }
        assert_eq!(evaluate("bytes=0-", 0), Unsatisfiable);
    }

    #[test]
    fn ignored_ranges_send_the_whole_file() {
        for header in [
            "bytes=0-1,3-4",
            "bytes=0-1, -2",
            "bytes=5-3",
            "bytes=a-b",
            "bytes=-",
            "bytes=+1-2",
            "bytes=1",
            "bytes=",
            "items=0-1",
            "bytes 0-1",
        ] {
            assert_eq!(evaluate(header, 10), Full, "{header}");
        }
        assert_eq!(evaluate("bytes=-5", 0), Full);
    }
}

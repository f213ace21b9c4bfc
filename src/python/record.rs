//! `RECORD`: the CSV list of a wheel's files with their hashes.
use super::PythonError;

/// One line of `RECORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// The path inside the wheel.
    pub path: String,
    /// The SHA-256 digest as written (`sha256=` urlsafe base64, no padding).
    pub sha256: Option<String>,
    /// The size in bytes, if given.
    pub size: Option<u64>,
}

/// Urlsafe base64 without padding, as RECORD writes digests.
pub fn urlsafe_b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The fields of one CSV line (RFC 4180 quoting).
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        let field = fields.last_mut()?;
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(String::new()),
            (c, _) => field.push(c),
        }
    }
    (!quoted).then_some(fields)
}

/// Parses `RECORD`; weak hashes (md5, sha1) and malformed lines are refused.
pub fn parse_record(text: &str, origin: &str) -> Result<Vec<RecordEntry>, PythonError> {
    let bad = |n: usize, reason: String| PythonError::Lock {
        origin: origin.to_owned(),
        line: n + 1,
        reason,
    };
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = csv_fields(line).ok_or_else(|| bad(n, "an unclosed quote".into()))?;
        let [path, hash, size] = &fields[..] else {
            return Err(bad(n, format!("{} fields where 3 belong", fields.len())));
        };
        let sha256 = match hash.split_once('=') {
            None if hash.is_empty() => None,
            Some(("sha256", digest)) => Some(digest.to_owned()),
            _ => return Err(bad(n, format!("hash {hash:?} is not sha256=..."))),
        };
        let size = (!size.is_empty())
            .then(|| size.parse::<u64>())
            .transpose()
            .map_err(|_| bad(n, format!("size {size:?} is not a number")))?;
        entries.push(RecordEntry {
            path: path.clone(),
            sha256,
            size,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_urlsafe_base64_without_padding() {
        use sha2::Digest as _;
        // What pip writes for an empty file.
        assert_eq!(
            urlsafe_b64(&sha2::Sha256::digest(b"")),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        assert_eq!(urlsafe_b64(b"ab"), "YWI");
    }

    #[test]
    fn record_lines_are_read_and_weak_hashes_refused() {
        let r = parse_record(
            "a/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\"a/x,y.py\",,\na-1.dist-info/RECORD,,\n",
            "RECORD",
        )
        .expect("parses");
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].path, "a/x,y.py");
        assert!(parse_record("a,md5=xyz,1\n", "RECORD").is_err());
        assert!(parse_record("a,sha256=x\n", "RECORD").is_err());
        assert!(parse_record("\"a,sha256=x,1\n", "RECORD").is_err());
    }
}

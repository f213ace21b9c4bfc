//! From a request-target to the path it names (RFC 9112 §3.2): the
//! origin-form `/dists/stable/Release?x` that clients send to a server, or
//! the absolute-form `http://10.0.2.100/dists/stable/Release` that they send
//! to a proxy (and that every server must accept). The query is ignored and
//! percent-escapes are decoded: apt escapes `+`, `~` and space, so it asks
//! for `hello_1.0%7erc1-1_all.deb`; a literal `+` means itself, not a space.

/// The request-target is not an origin-form or http(s) absolute-form URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadTarget;

/// The decoded path of `target`, starting with `/`. It may contain any byte,
/// including `/` from `%2F` and NUL from `%00`: confinement is checked later,
/// on the decoded bytes, so that no escape can smuggle a `..` past it.
pub(crate) fn decode_target(target: &str) -> Result<Vec<u8>, BadTarget> {
    let path = if target.starts_with('/') {
        target
    } else {
        absolute_form_path(target)?
    };
    let path = match path.split_once('?') {
        Some((path, _query)) => path,
        None => path,
    };
    if path.contains('#') {
        // A fragment is never part of a request-target.
        return Err(BadTarget);
    }
    percent_decode(path)
}

/// The path of an `http://authority/path` or `https://…` target (`/` when
/// it has none); the authority is not checked, as only one site is served.
fn absolute_form_path(target: &str) -> Result<&str, BadTarget> {
    let (scheme, rest) = target.split_once("://").ok_or(BadTarget)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(BadTarget);
    }
    let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if path_start == 0 {
        // No authority at all (`http:///x`).
        return Err(BadTarget);
    }
    match &rest[path_start..] {
        "" => Ok("/"),
        path if path.starts_with('/') => Ok(path),
        // `http://host?q`: an empty path with a query.
        _ => Ok("/"),
    }
}

/// Decodes `%XX` escapes (either case of hex digit); a `%` not followed by
/// two hex digits makes the target invalid.
pub(crate) fn percent_decode(text: &str) -> Result<Vec<u8>, BadTarget> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let high = bytes.get(i + 1).and_then(|&b| hex_value(b));
            let low = bytes.get(i + 2).and_then(|&b| hex_value(b));
            let (Some(high), Some(low)) = (high, low) else {
                return Err(BadTarget);
            };
            decoded.push(high << 4 | low);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    Ok(decoded)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn decoded(target: &str) -> Result<String, BadTarget> {
        decode_target(target).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    #[test]
    fn decodes_what_apt_escapes() {
        assert_eq!(
            decoded("/pool/main/h/hello/hello_1.0%7erc1%2B2-1_all.deb"),
            Ok("/pool/main/h/hello/hello_1.0~rc1+2-1_all.deb".to_owned())
        );
        assert_eq!(decoded("/a%7Eb%20c+d"), Ok("/a~b c+d".to_owned()));
    }

    #[test]
    fn ignores_the_query() {
        assert_eq!(
            decoded("/dists/stable/Release?x=%zz#y"),
            Ok("/dists/stable/Release".to_owned())
        );
    }

    #[test]
    fn takes_the_path_of_an_absolute_form_target() {
        assert_eq!(
            decoded("http://10.0.2.100:80/dists/stable/InRelease"),
            Ok("/dists/stable/InRelease".to_owned())
        );
        assert_eq!(decoded("HTTP://host/a%7eb?q"), Ok("/a~b".to_owned()));
        assert_eq!(decoded("https://host"), Ok("/".to_owned()));
        assert_eq!(decoded("http://host?q"), Ok("/".to_owned()));
    }

    #[test]
    fn keeps_escaped_separators_and_dots_for_confinement_to_judge() {
        assert_eq!(
            decoded("/%2e%2e/%2E%2E%2fetc/passwd"),
            Ok("/../../etc/passwd".to_owned())
        );
        assert_eq!(decode_target("/a%00b"), Ok(b"/a\0b".to_vec()));
    }

    #[test]
    fn rejects_other_forms_and_bad_escapes() {
        for target in [
            "*",
            "example.com:443",
            "ftp://host/x",
            "http:///x",
            "dists/stable/Release",
            "/a%",
            "/a%7",
            "/a%g0",
            "/a#b",
        ] {
            assert_eq!(decode_target(target), Err(BadTarget), "{target}");
        }
    }
}

//! Where a mirror lives: `s3://BUCKET[/PREFIX][?endpoint=URL&region=NAME]`.
//!
//! The URL names a place, never a secret: credentials in it are refused
//! (they come from the environment or `~/.aws`, see [`super::creds`]), and
//! so is anything the push would have to guess about (an unknown
//! parameter, a prefix segment a server could resolve as `..`).

use std::fmt;
use std::str::FromStr;

use super::MirrorError;

/// A parsed mirror URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorUrl {
    /// The bucket.
    pub bucket: String,
    /// The key prefix inside it, without leading or trailing `/` (may be empty).
    pub prefix: String,
    /// `scheme://host[:port]` of an S3-compatible service; AWS when absent.
    pub endpoint: Option<String>,
    /// The signing region (else `AWS_REGION`, the profile's, `us-east-1`).
    pub region: Option<String>,
    /// `plus-workaround`: also store each pool file whose name has a `+`
    /// under the name with a space instead. Amazon S3 decodes a `+` in a
    /// URL path as a space, so an apt that sends `+` unescaped would get
    /// 403/404 for `…_1.0+b1_amd64.deb` (aptly's `plusWorkaround`,
    /// aptly#98, deb-s3#44). Default: on for Amazon S3 (no endpoint), off
    /// for other services.
    pub plus_workaround: bool,
}

impl MirrorUrl {
    /// The object key of `rel` (a path relative to the repository root).
    pub fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// Whether `self` is `allowed` or lies under it: the same bucket and
    /// endpoint, and a prefix equal to or below the allowed one.
    pub fn is_within(&self, allowed: &MirrorUrl) -> bool {
        let under = allowed.prefix.is_empty()
            || self.prefix == allowed.prefix
            || self
                .prefix
                .strip_prefix(&allowed.prefix)
                .is_some_and(|rest| rest.starts_with('/'));
        self.bucket == allowed.bucket && self.endpoint == allowed.endpoint && under
    }

    /// Where apt reads the mirror when the endpoint serves the bucket
    /// over HTTP, path style (`endpoint/bucket/prefix/`); AWS's
    /// virtual-hosted address otherwise.
    pub fn http_base(&self) -> String {
        let path = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}/{path}", self.bucket),
            None => format!("https://{}.s3.amazonaws.com/{path}", self.bucket),
        }
    }
}

impl fmt::Display for MirrorUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        let mut sep = '?';
        if let Some(endpoint) = &self.endpoint {
            write!(f, "{sep}endpoint={endpoint}")?;
            sep = '&';
        }
        if let Some(region) = &self.region {
            write!(f, "{sep}region={region}")?;
            sep = '&';
        }
        if self.plus_workaround != self.endpoint.is_none() {
            write!(f, "{sep}plus-workaround={}", self.plus_workaround)?;
        }
        Ok(())
    }
}

impl FromStr for MirrorUrl {
    type Err = MirrorError;

    fn from_str(url: &str) -> Result<Self, MirrorError> {
        // A URL with credentials in it is refused without repeating them.
        let shown = mask_credentials(url);
        let bad = |reason: String| MirrorError::BadUrl {
            url: shown.clone(),
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("a mirror URL starts with s3://".into()))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if url.contains('@') || bucket.contains(':') {
            return Err(bad("credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use ~/.aws/credentials".into()));
        }
        check_bucket(bucket).map_err(bad)?;
        let prefix = prefix.trim_end_matches('/');
        for segment in prefix.split('/').filter(|_| !prefix.is_empty()) {
            check_segment(segment).map_err(bad)?;
        }
        let mut parsed = MirrorUrl {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: None,
            region: None,
            plus_workaround: true,
        };
        let mut plus = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "endpoint" => parsed.endpoint = Some(check_endpoint(value).map_err(bad)?),
                "region" => parsed.region = Some(check_region(value).map_err(bad)?),
                "plus-workaround" => {
                    plus = Some(match value {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad(format!("plus-workaround={value:?}: true or false"))),
                    })
                }
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (known: endpoint, region, plus-workaround)"
                    )))
                }
            }
        }
        parsed.plus_workaround = plus.unwrap_or(parsed.endpoint.is_none());
        Ok(parsed)
    }
}

/// `text` with the user part of every `scheme://user:secret@host` in it
/// replaced by `***`.
pub fn mask_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (head, tail) = rest.split_at(start + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#', '&']).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// S3's bucket naming rules: 3–63 of `a-z 0-9 . -`, alphanumeric at both ends.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let ok_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if (3..=63).contains(&bucket.len())
        && ok_chars
        && ends(bucket.bytes().next())
        && ends(bucket.bytes().last())
        && !bucket.contains("..")
    {
        Ok(())
    } else {
        Err(format!(
            "{bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '.', '-')"
        ))
    }
}

/// A prefix segment: a name a server stores as is (no `.`, `..`, empty
/// segments, or characters that need escaping).
fn check_segment(segment: &str) -> Result<(), String> {
    let ok = !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "prefix segment {segment:?} is not allowed (letters, digits, '.', '_', '-', '+', '~'; not '.' or '..')"
        ))
    }
}

/// `http(s)://host[:port]`, with no path, query or user.
fn check_endpoint(value: &str) -> Result<String, String> {
    let shown = mask_credentials(value);
    let parsed = reqwest::Url::parse(value).map_err(|e| format!("endpoint {shown:?}: {e}"))?;
    let plain = matches!(parsed.scheme(), "http" | "https")
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.query().is_none()
        && parsed.fragment().is_none()
        && matches!(parsed.path(), "" | "/")
        && parsed.host_str().is_some();
    if !plain {
        return Err(format!(
            "endpoint {shown:?} must be http(s)://HOST[:PORT], without a path, query or credentials"
        ));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn check_region(value: &str) -> Result<String, String> {
    if !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(value.to_owned())
    } else {
        Err(format!("region {value:?} is not a region name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn parses_bucket_prefix_and_parameters() {
        let url: MirrorUrl =
            "s3://my-bucket/apt/myapp/?endpoint=https://s3.example.org&region=eu-west-1"
                .parse()
                .expect("valid");
        assert_eq!(url.bucket, "my-bucket");
        assert_eq!(url.prefix, "apt/myapp");
        assert_eq!(url.endpoint.as_deref(), Some("https://s3.example.org"));
        assert_eq!(url.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            url.key("dists/stable/InRelease"),
            "apt/myapp/dists/stable/InRelease"
        );
        assert_eq!(
            url.http_base(),
            "https://s3.example.org/my-bucket/apt/myapp/"
        );
        assert_eq!(
            url.to_string(),
            "s3://my-bucket/apt/myapp?endpoint=https://s3.example.org&region=eu-west-1"
        );
        assert!(!url.plus_workaround, "off for another service");
        let bare: MirrorUrl = "s3://bucket".parse().expect("valid");
        assert!(bare.plus_workaround, "on for Amazon S3");
        let off: MirrorUrl = "s3://bucket/p?plus-workaround=false"
            .parse()
            .expect("valid");
        assert!(!off.plus_workaround);
        assert_eq!(off.to_string(), "s3://bucket/p?plus-workaround=false");
        let on: MirrorUrl = "s3://bucket/p?endpoint=http://127.0.0.1:9&plus-workaround=true"
            .parse()
            .expect("valid");
        assert_eq!(on.to_string().parse::<MirrorUrl>().expect("round trip"), on);
        assert_eq!(bare.key("pool/x.deb"), "pool/x.deb");
        assert_eq!(bare.http_base(), "https://bucket.s3.amazonaws.com/");
    }

    #[test]
    fn within_means_same_bucket_same_endpoint_and_a_prefix_below() {
        let url = |s: &str| s.parse::<MirrorUrl>().expect(s);
        let allowed = url("s3://bkt/apt?endpoint=https://s3.example.org");
        assert!(url("s3://bkt/apt?endpoint=https://s3.example.org").is_within(&allowed));
        assert!(
            url("s3://bkt/apt/x?endpoint=https://s3.example.org&region=eu-west-1")
                .is_within(&allowed)
        );
        assert!(!url("s3://bkt/apt2?endpoint=https://s3.example.org").is_within(&allowed));
        assert!(!url("s3://bkt/apt/x?endpoint=https://evil.example").is_within(&allowed));
        assert!(
            !url("s3://bkt/apt/x").is_within(&allowed),
            "AWS is another endpoint"
        );
        assert!(!url("s3://ckt/apt?endpoint=https://s3.example.org").is_within(&allowed));
        assert!(url("s3://ckt/any/thing").is_within(&url("s3://ckt")));
    }

    #[test]
    fn refuses_what_it_would_have_to_guess_about() {
        for (url, needle) in [
            ("http://bucket/apt", "starts with s3://"),
            ("s3://AKIA:secret@bucket/apt", "credentials"),
            ("s3://user@bucket/apt", "credentials"),
            ("s3://Bucket/apt", "bucket name"),
            ("s3://ab/apt", "bucket name"),
            ("s3://bucket/apt/../other", "'..'"),
            ("s3://bucket/apt//x", "not allowed"),
            ("s3://bucket/apt/a%2e", "not allowed"),
            ("s3://bucket/apt?acl=public", "unknown parameter"),
            ("s3://bucket/apt?endpoint=ftp://host", "http(s)"),
            (
                "s3://bucket/apt?endpoint=https://u:secret@host",
                "credentials",
            ),
            (
                "https://AKID:secret@bkt.s3.amazonaws.com/apt",
                "starts with s3://",
            ),
            (
                "s3://bucket/apt?endpoint=http://AKID:secret@127.0.0.1:9",
                "credentials",
            ),
            (
                "s3://bucket/apt?endpoint=https://host/path",
                "without a path",
            ),
            ("s3://bucket/apt?region=EU", "region"),
            ("s3://bucket/apt?plus-workaround=yes", "true or false"),
        ] {
            let e = url.parse::<MirrorUrl>().expect_err(url).to_string();
            assert!(e.contains(needle), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }
}

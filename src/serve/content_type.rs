//! The `Content-Type` of a served file, from its name. apt ignores it; it is
//! for browsers and `curl -v` users looking at the repository.

use std::path::Path;

const TEXT: &str = "text/plain; charset=utf-8";
const BINARY: &str = "application/octet-stream";

/// The media type of the file at `path` (its resolved name, so that a
/// `by-hash/SHA256/…` symlink is typed after the index it points to).
pub(crate) fn content_type(path: &Path) -> &'static str {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return BINARY;
    };
    if name == "Release.gpg" {
        // A detached, ASCII-armoured signature of `Release`.
        return "application/pgp-signature";
    }
    let extension = path.extension().and_then(|e| e.to_str());
    match extension.map(str::to_ascii_lowercase).as_deref() {
        Some("deb" | "udeb" | "ddeb") => "application/vnd.debian.binary-package",
        Some("xz") => "application/x-xz",
        Some("gz") => "application/gzip",
        Some("bz2") => "application/x-bzip2",
        Some("zst") => "application/zstd",
        Some("lz4") => "application/x-lz4",
        Some("lzma") => "application/x-lzma",
        Some("asc") => "application/pgp-keys",
        Some("dsc" | "changes" | "buildinfo" | "txt") => TEXT,
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        // `key.gpg` is a binary keyring: no better type than bytes.
        Some(_) => BINARY,
        None if is_index(name) => TEXT,
        None => BINARY,
    }
}

/// The uncompressed repository indices (Debian repository format).
fn is_index(name: &str) -> bool {
    matches!(
        name,
        "Release" | "InRelease" | "Packages" | "Sources" | "Index"
    ) || name.starts_with("Contents-")
        || name.starts_with("Translation-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn types_repository_files() {
        for (name, expected) in [
            (
                "hello_1.0~rc1-1_all.deb",
                "application/vnd.debian.binary-package",
            ),
            ("Packages.xz", "application/x-xz"),
            ("Packages.gz", "application/gzip"),
            ("Contents-amd64.gz", "application/gzip"),
            ("Packages", TEXT),
            ("Release", TEXT),
            ("InRelease", TEXT),
            ("Contents-amd64", TEXT),
            ("Translation-en", TEXT),
            ("Release.gpg", "application/pgp-signature"),
            ("key.asc", "application/pgp-keys"),
            ("key.gpg", BINARY),
            ("README", BINARY),
            ("x.DEB", "application/vnd.debian.binary-package"),
        ] {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }
}

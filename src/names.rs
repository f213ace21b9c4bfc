//! The character rule shared by the names that become one path component
//! and one shell word: apt's suites, codenames, components and
//! architectures (directories under `dists/`), and VM image names and run
//! ids (directories of the image store). Each kind of name keeps its one
//! validator in the module that owns the concept — `apt::settings::check_name`
//! for suites and components, `vm::image::check_name` for image names and run
//! ids — and both use this rule, so they cannot drift apart again. `deb`'s
//! package, architecture and field names follow Debian policy's own rules
//! (`deb::fields`), which differ from this one.

/// Whether `name` is plain: not empty, not starting with `.` or `-` (so
/// never `.`, `..`, a hidden file or something read as an option), and
/// only ASCII letters, digits and the bytes of `punctuation`.
pub fn is_plain(name: &str, punctuation: &[u8]) -> bool {
    !name.is_empty()
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || punctuation.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        for good in ["bookworm", "main", "x", "a.b_c-d", "0", "Trixie"] {
            assert!(is_plain(good, b"._-"), "{good}");
        }
        for bad in [
            "", ".", "..", ".hidden", "-rf", "a/b", "a b", "é", "a+b", "a\n",
        ] {
            assert!(!is_plain(bad, b"._-"), "{bad:?}");
        }
        assert!(is_plain("a+b", b"._-+"));
    }
}

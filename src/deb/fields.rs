//! The syntax of the control fields that become file names, pool paths and
//! index keys: `Package`, `Source`, `Version` and `Architecture`.
//!
//! A `.deb` handed to `repo add` is untrusted input, and these four values
//! are joined into paths (`pool/main/h/hello/hello_1.0_all.deb`). Checking
//! them against Debian Policy's syntax before anything is written is what
//! keeps `Source: ../../elsewhere` out of the file system and a multi-byte
//! character out of code that slices names by bytes. Every reader and writer
//! of control data goes through [`Control::validate`](super::Control::validate),
//! which calls these.

use crate::version::DebVersion;

use super::control::ControlError;

/// Policy 5.6.7 (and 5.6.1 for source names): at least two characters,
/// lowercase ASCII letters, digits and `+ - .`, starting with a letter or digit.
pub fn check_package_name(name: &str) -> Result<(), ControlError> {
    if is_package_name(name) {
        Ok(())
    } else {
        Err(ControlError::BadPackageName {
            name: name.to_owned(),
        })
    }
}

fn is_package_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
}

/// Policy 5.6.1 in a binary package: `Source: name` or `Source: name (version)`
/// when the source version differs. Returns the source package name.
pub fn check_source(value: &str) -> Result<&str, ControlError> {
    let bad = || ControlError::BadSource {
        value: value.to_owned(),
    };
    let (name, version) = match value.split_once(' ') {
        None => (value, None),
        Some((name, rest)) => {
            let version = rest
                .strip_prefix('(')
                .and_then(|v| v.strip_suffix(')'))
                .ok_or_else(bad)?;
            (name, Some(version))
        }
    };
    if !is_package_name(name) {
        return Err(bad());
    }
    if let Some(version) = version {
        DebVersion::parse(version).map_err(|_| bad())?;
    }
    Ok(name)
}

/// Policy 5.6.8 (and dpkg's `dpkg_arch_name_is_illegal`): one architecture
/// name, lowercase ASCII letters, digits and `-`, starting with a letter or
/// digit; a binary package never names more than one.
pub fn check_architecture(value: &str) -> Result<(), ControlError> {
    let bytes = value.as_bytes();
    let ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ControlError::BadArchitecture {
            value: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn source_names_and_versions() {
        assert_eq!(check_source("hello").expect("plain"), "hello");
        assert_eq!(
            check_source("libfoo (1:2.0-3)").expect("with version"),
            "libfoo"
        );
        for bad in [
            "../../../../../../elsewhere",
            "libé",
            "a",
            "hello (1.0",
            "hello 1.0",
            "hello (x1)",
            "hello  (1.0)",
            "Hello",
            "",
            "-x",
            "a/b",
        ] {
            let err = check_source(bad).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!("invalid Source field {bad:?}: it must be a package name, optionally followed by \" (version)\""),
                "{bad}"
            );
        }
    }

    #[test]
    fn architectures() {
        for good in ["amd64", "all", "arm64", "kfreebsd-amd64", "x32"] {
            check_architecture(good).expect(good);
        }
        for bad in ["", "-amd64", "AMD64", "amd64 i386", "../x", "é", "amd64\n"] {
            let err = check_architecture(bad).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!("invalid Architecture field {bad:?}: an architecture is one lowercase name such as amd64 or all"),
            );
        }
    }
}

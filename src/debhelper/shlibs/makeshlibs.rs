//! What dh_makeshlibs writes for a package that ships public shared
//! libraries: a `shlibs` file, so that packages built against them get a
//! dependency, and the `triggers` file that runs ldconfig after install
//! (lintian's `package-must-activate-ldconfig-trigger`).
//!
//! dh_makeshlibs' default dependency is `package (>= upstream-version)`;
//! we write `package (= version)` instead, as the issue asks for libraries
//! of the same build: our packages are released together from one tag, and
//! an exact dependency keeps a program and its library from one release.

use super::{shlibs_file::split_soname, Binary};
use crate::debhelper::elf::ElfKind;

/// The directories a public library lives in (Debian Policy 8.1 and the
/// multiarch ones), as dh_makeshlibs looks for them.
fn is_public_dir(dir: &str) -> bool {
    match dir {
        "/lib" | "/usr/lib" => true,
        _ => ["/lib/", "/usr/lib/"].iter().any(|top| {
            dir.strip_prefix(top).is_some_and(|rest| {
                !rest.is_empty() && !rest.contains('/') && rest.contains("-linux-")
            })
        }),
    }
}

/// The `shlibs` and `triggers` control files of `package` at `version`, or
/// `None` when it ships no public shared library.
pub fn makeshlibs(
    package: &str,
    version: &str,
    binaries: &[Binary],
) -> Option<Vec<(String, Vec<u8>)>> {
    let mut lines: Vec<String> = Vec::new();
    for binary in binaries {
        let Some(soname) = binary.elf.soname.as_deref() else {
            continue;
        };
        if binary.elf.kind != ElfKind::SharedObject || !is_public_dir(super::parent(&binary.path)) {
            continue;
        }
        let Some((name, soversion)) = split_soname(soname) else {
            continue;
        };
        let line = format!("{name} {soversion} {package} (= {version})\n");
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return None;
    }
    lines.sort();
    Some(vec![
        ("shlibs".to_owned(), lines.concat().into_bytes()),
        (
            "triggers".to_owned(),
            b"# Triggers added by git-buildkit (as dh_makeshlibs)\nactivate-noawait ldconfig\n"
                .to_vec(),
        ),
    ])
}

//! The control stanza of a package built from its `[[package]]` table.
//! `Installed-Size` is added, and the fields put in dpkg-gencontrol's
//! order, when the `.deb` is written (see [`crate::deb::write_deb`]).

use super::description;
use crate::config::{PackageConfig, SHLIBS};
use crate::deb::{self, Control};
use crate::version::DebVersion;

/// The fields of `package` at `version`; `readme` is the extended
/// description taken from the README when the configured one is only a
/// synopsis; `shlibs` what `${shlibs}` stands for (the dependencies of the
/// package's ELF files).
pub(super) fn stanza(
    package: &PackageConfig,
    version: &DebVersion,
    readme: Option<&str>,
    shlibs: &[String],
) -> Result<Control, deb::ControlError> {
    let mut control = Control::new();
    control.push("Package", package.name.get_ref())?;
    control.push("Version", &version.to_string())?;
    control.push("Architecture", package.architecture.get_ref())?;
    control.push("Maintainer", package.maintainer.get_ref())?;
    for (field, list) in package.relations() {
        let mut joined: Vec<&str> = Vec::new();
        for relation in list {
            let relation = relation.get_ref().as_str();
            let expanded = if relation.trim() == SHLIBS {
                shlibs.iter().map(String::as_str).collect()
            } else {
                vec![relation]
            };
            for one in expanded {
                if !joined.contains(&one) {
                    joined.push(one);
                }
            }
        }
        if !joined.is_empty() {
            control.push(field, &joined.join(", "))?;
        }
    }
    control.push("Section", package.section.as_deref().unwrap_or("misc"))?;
    control.push(
        "Priority",
        package.priority.as_deref().unwrap_or("optional"),
    )?;
    if let Some(homepage) = &package.homepage {
        control.push("Homepage", homepage)?;
    }
    control.push(
        "Description",
        &description::field(package.description.get_ref(), readme),
    )?;
    Ok(control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::package::assemble::{assemble, Parts};
    use pretty_assertions::assert_eq;

    fn package(table: &str) -> PackageConfig {
        let text = format!(
            "[[package]]\nname = \"hello\"\nmaintainer = \"Jane Doe <jane@example.com>\"\n{table}"
        );
        let mut config = Config::parse(&text, "v1.2.0:.buildkit.toml").expect("config");
        config.packages.remove(0)
    }

    fn version() -> DebVersion {
        DebVersion::parse("1.2.0-1").expect("version")
    }

    #[test]
    fn the_stanza_has_every_field_in_order_with_defaults() {
        let package = package(
            "description = \"says hello\\nIt greets.\\n\\nTwice.\"\n\
             architecture = \"amd64\"\n\
             homepage = \"https://example.com\"\n\
             replaces = [\"hi\"]\n\
             depends = [\"libc6 (>= 2.31)\", \"foo | bar\"]\n\
             pre-depends = [\"dpkg (>= 1.19)\"]\n",
        );
        let control = stanza(&package, &version(), None, &[]).expect("stanza");
        assert_eq!(
            control.to_string(),
            "Package: hello\n\
             Version: 1.2.0-1\n\
             Architecture: amd64\n\
             Maintainer: Jane Doe <jane@example.com>\n\
             Pre-Depends: dpkg (>= 1.19)\n\
             Depends: libc6 (>= 2.31), foo | bar\n\
             Replaces: hi\n\
             Section: misc\n\
             Priority: optional\n\
             Homepage: https://example.com\n\
             Description: says hello\n \
             It greets.\n \
             .\n \
             Twice.\n"
        );
    }

    #[test]
    fn a_lone_synopsis_is_extended_by_the_readme_paragraph() {
        let package =
            package("description = \"says hello\"\nsection = \"utils\"\npriority = \"extra\"\n");
        let control =
            stanza(&package, &version(), Some("It greets\nthe world."), &[]).expect("stanza");
        assert_eq!(
            control.to_string(),
            "Package: hello\n\
             Version: 1.2.0-1\n\
             Architecture: all\n\
             Maintainer: Jane Doe <jane@example.com>\n\
             Section: utils\n\
             Priority: extra\n\
             Description: says hello\n \
             It greets\n \
             the world.\n"
        );
    }

    #[test]
    fn the_written_package_adds_installed_size_in_dpkg_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tree = dir.path().join("tree");
        std::fs::create_dir(&tree).expect("mkdir");
        std::fs::write(tree.join("LICENSE"), "MIT\n").expect("license");
        std::fs::write(tree.join("hello"), vec![b'x'; 3000]).expect("binary");
        let package = package(
            "description = \"says hello\\nIt greets.\"\n\
             depends = [\"libc6\"]\n\
             assets = [{ src = \"hello\", dest = \"/usr/bin/hello\", mode = \"0755\" }]\n",
        );
        let parts = Parts {
            tree: &tree,
            version: &version(),
            epoch: 1_700_000_000,
            changelog: "hello (1.2.0-1) unstable; urgency=medium\n",
            tag: "v1.2.0",
            commit: "0123456789abcdef0123456789abcdef01234567",
            readme: None,
            first: false,
        };
        let (spec, _) = assemble(&package, &parts).expect("assemble");
        let out = dir.path().join("out");
        let written = crate::deb::write_deb(&spec, &out).expect("write");
        let read = crate::deb::read_deb(&written.path).expect("read");
        // Installed-Size: 3 KiB for the binary, 1 each for the copyright
        // file and the changelog, 1 for each of the 5 directories (usr, usr/bin,
        // usr/share, usr/share/doc, usr/share/doc/hello) and 1 for the root.
        assert_eq!(
            read.control.to_string(),
            "Package: hello\n\
             Version: 1.2.0-1\n\
             Architecture: all\n\
             Maintainer: Jane Doe <jane@example.com>\n\
             Installed-Size: 11\n\
             Depends: libc6\n\
             Section: misc\n\
             Priority: optional\n\
             Description: says hello\n \
             It greets.\n"
        );
    }
}

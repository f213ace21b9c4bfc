//! The `-dbgsym` package of a binary package, as dh_gencontrol makes it
//! from what dh_strip kept: the debug files under
//! `/usr/lib/debug/.build-id/`, a doc symlink to the main package's
//! documentation, and a control stanza that overrides nearly every field
//! of the main one (debhelper's `dh_gencontrol`, the `@dbgsym_options`).

use crate::deb::{Compression, Control, PackageSpec};

use super::strip::{DebugFiles, StripError};

/// The `-dbgsym` package of `main` (its control stanza) holding `debug`.
///
/// Fields, in the order dpkg-gencontrol writes them: `Package:
/// <name>-dbgsym`, `Package-Type: ddeb` (so the file is a `.ddeb`),
/// `Source` (the main package's source; the names always differ),
/// `Version`, `Auto-Built-Package: debug-symbols`, `Architecture`,
/// `Maintainer`, `Installed-Size`, `Depends: <name> (= <version>)`,
/// `Section: debug` (in the main package's component), `Priority:
/// optional`, `Multi-Arch: same` only when the main package is,
/// `Description: debug symbols for <name>`, `Build-Ids`.
pub fn dbgsym_spec(
    main: &Control,
    debug: DebugFiles,
    mtime: u64,
    compression: Compression,
) -> Result<PackageSpec, StripError> {
    main.validate().map_err(crate::deb::DebError::from)?;
    let name = main.package().unwrap_or_default();
    let version = main.version().unwrap_or_default();
    let source = main.get("Source").unwrap_or(name);
    let section = match main.get("Section").and_then(|s| s.rsplit_once('/')) {
        Some((component, _)) if component != "main" => format!("{component}/debug"),
        _ => "debug".to_owned(),
    };
    let mut fields: Vec<(&str, String)> = vec![
        ("Package", format!("{name}-dbgsym")),
        ("Package-Type", "ddeb".into()),
        ("Source", source.to_owned()),
        ("Version", version.to_owned()),
        ("Auto-Built-Package", "debug-symbols".into()),
        (
            "Architecture",
            main.architecture().unwrap_or_default().to_owned(),
        ),
    ];
    if main.get("Multi-Arch") == Some("same") {
        fields.push(("Multi-Arch", "same".into()));
    }
    if let Some(maintainer) = main.get("Maintainer") {
        fields.push(("Maintainer", maintainer.to_owned()));
    }
    fields.extend([
        ("Depends", format!("{name} (= {version})")),
        ("Section", section),
        ("Priority", "optional".into()),
        ("Description", format!("debug symbols for {name}")),
        ("Build-Ids", debug.build_ids.join(" ")),
    ]);
    let mut control = Control::new();
    for (field, value) in fields {
        control
            .push(field, &value)
            .map_err(crate::deb::DebError::from)?;
    }
    let mut data = debug.tree;
    // dh_strip links the dbgsym's doc directory to the main package's.
    data.add_symlink(&format!("/usr/share/doc/{name}-dbgsym"), name)?;
    Ok(PackageSpec {
        control,
        control_files: Vec::new(),
        data,
        compression,
        mtime,
        generate: true,
        on_disk: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::DataTree;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_stanza_is_written_in_dpkg_gencontrols_order() {
        let main = Control::parse(
            "Package: zhello\nVersion: 1:1.2-1\nArchitecture: amd64\nMaintainer: A <a@example.org>\n\
             Depends: libc6 (>= 2.34)\nSection: contrib/utils\nPriority: optional\n\
             Homepage: https://example.org\nDescription: hello\n more\n",
        )
        .expect("control");
        let mut tree = DataTree::new();
        tree.add_bytes("/usr/lib/debug/.build-id/ab/cd.debug", vec![0; 10], 0o644)
            .expect("debug file");
        let debug = DebugFiles {
            tree,
            build_ids: vec!["abcd".into(), "ef01".into()],
        };
        let spec = dbgsym_spec(&main, debug, 0, Compression::Gzip).expect("spec");
        let dir = tempfile::tempdir().expect("tempdir");
        let written = crate::deb::write_deb(&spec, dir.path()).expect("write");
        assert_eq!(
            written.path.file_name().and_then(|n| n.to_str()),
            Some("zhello-dbgsym_1.2-1_amd64.ddeb")
        );
        let info = crate::deb::read_deb(&written.path).expect("read");
        assert_eq!(
            info.control.to_string(),
            "Package: zhello-dbgsym\nPackage-Type: ddeb\nSource: zhello\nVersion: 1:1.2-1\n\
             Auto-Built-Package: debug-symbols\nArchitecture: amd64\n\
             Maintainer: A <a@example.org>\nInstalled-Size: 10\nDepends: zhello (= 1:1.2-1)\n\
             Section: contrib/debug\nPriority: optional\nDescription: debug symbols for zhello\n\
             Build-Ids: abcd ef01\n"
        );
    }
}

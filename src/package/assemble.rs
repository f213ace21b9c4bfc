//! One package's contents read from the built tree: its assets, the
//! copyright file, the changelog, the maintainer scripts and conffiles, and
//! the README paragraph a one-line description is extended with. Every
//! path is resolved by [`confine`](super::confine), so no symlink brings a
//! host file into a package.

use std::path::{Path, PathBuf};

use super::confine::{self, Last};
use super::error::{leaves_tree, PackageError, TreeFile};
use super::{control, description};
use crate::config::{Config, PackageConfig};
use crate::deb::{self, Compression, ControlFile, DataTree, DebError, PackageSpec};
use crate::version::DebVersion;

/// The scripts dpkg runs and the other files a control directory may hold.
const SCRIPTS: &[&str] = &["preinst", "postinst", "prerm", "postrm", "config"];
const CONTROL_DATA: &[&str] = &["templates", "triggers", "shlibs", "symbols"];
const LICENSE_FILES: &[&str] = &[
    "LICENSE",
    "LICENSE.md",
    "LICENSE.txt",
    "COPYING",
    "COPYING.md",
    "COPYING.txt",
];

/// The suffix of package files rendered when the package is built.
const TERA: &str = ".tera";

/// What one package is made from besides its `[[package]]` table.
pub(super) struct Parts<'a> {
    /// The built tree.
    pub(super) tree: &'a Path,
    /// The package's Debian version.
    pub(super) version: &'a DebVersion,
    /// `SOURCE_DATE_EPOCH`: every file's time.
    pub(super) epoch: u64,
    /// The text of `changelog.Debian`.
    pub(super) changelog: &'a str,
    /// The tag, for the copyright file and `.tera` files.
    pub(super) tag: &'a str,
    /// The tagged commit, for `.tera` files.
    pub(super) commit: &'a str,
    /// The README, for a description that is only a synopsis.
    pub(super) readme: Option<&'a str>,
    /// Whether this is the package's first release (one changelog entry).
    pub(super) first: bool,
}

/// The lintian override a first release carries. Lintian reads a changelog
/// with one entry as an initial upload to Debian, which must close the ITP
/// bug; a package published outside Debian has no such bug to close.
pub(crate) fn first_release_override(name: &str) -> String {
    format!(
        "# Published outside Debian: no ITP bug exists to close (git-buildkit).\n\
         {name}: initial-upload-closes-no-bugs\n"
    )
}

/// Adds [`first_release_override`] to the package's lintian overrides: a
/// file of its own, or the end of the one the project ships (unless that
/// one overrides the tag already).
fn add_first_release_override(data: &mut DataTree, name: &str) -> Result<(), PackageError> {
    let dest = format!("/usr/share/lintian/overrides/{name}");
    let deb_err = |source| PackageError::Deb {
        package: name.to_owned(),
        source,
    };
    let existing = data
        .files()
        .find(|(path, _, _)| *path == dest)
        .map(|(_, source, _)| source.clone());
    let mut text = match existing {
        None => {
            return data
                .add_bytes(&dest, first_release_override(name).into_bytes(), 0o644)
                .map_err(deb_err)
        }
        Some(crate::deb::FileSource::Bytes(bytes)) => bytes,
        Some(crate::deb::FileSource::Path(path)) => {
            use std::io::Read;
            let mut bytes = Vec::new();
            std::fs::File::open(&path)
                .and_then(|f| f.take((1 << 20) + 1).read_to_end(&mut bytes))
                .and_then(|_| match bytes.len() > 1 << 20 {
                    true => Err(std::io::Error::other("a lintian overrides file over 1 MiB")),
                    false => Ok(()),
                })
                .map_err(|source| PackageError::Io { path, source })?;
            bytes
        }
    };
    if String::from_utf8_lossy(&text).contains("initial-upload-closes-no-bugs") {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(first_release_override(name).as_bytes());
    let size = text.len() as u64;
    data.replace_source(&dest, crate::deb::FileSource::Bytes(text), size)
        .map_err(deb_err)
}

/// Builds the spec of one package from its configuration and the built
/// tree, with the extended description taken from the README when the
/// configured one is only a synopsis. The control stanza has `${shlibs}`
/// still empty: [`super::binaries`] computes it once every package of the
/// build is assembled.
pub(super) fn assemble(
    package: &PackageConfig,
    parts: &Parts<'_>,
) -> Result<(PackageSpec, Option<String>), PackageError> {
    let name = package.name.get_ref().as_str();
    let deb_err = |source| PackageError::Deb {
        package: name.to_owned(),
        source,
    };
    let text = package.description.get_ref();
    let extended = if description::is_synopsis_only(text) {
        let paragraph = parts
            .readme
            .and_then(|r| description::readme_paragraph(r, text.trim()));
        if paragraph.is_none() {
            return Err(PackageError::NoLongDescription {
                package: name.to_owned(),
            });
        }
        paragraph
    } else {
        None
    };
    let vars = tera_vars(package, parts);
    let mut data = DataTree::new();
    let mut conffiles = add_assets(package, parts.tree, &vars, &mut data)?;

    let doc = format!("/usr/share/doc/{name}");
    let copyright = copyright_text(package, parts.tree, parts.tag)?;
    data.add_bytes(&format!("{doc}/copyright"), copyright.into_bytes(), 0o644)
        .map_err(deb_err)?;
    data.add_bytes(
        &format!("{doc}/changelog.Debian.gz"),
        deb::gzip_n(parts.changelog.as_bytes()),
        0o644,
    )
    .map_err(deb_err)?;

    if parts.first {
        add_first_release_override(&mut data, name)?;
    }
    let mut control_files = maintainer_scripts(package, parts.tree, &vars)?;
    let units =
        crate::debhelper::systemd::snippets(&data, package.systemd.as_ref()).map_err(|e| {
            PackageError::MaintainerScripts {
                package: name.to_owned(),
                problem: e.to_string(),
            }
        })?;
    merge_snippets(package, &mut control_files, &units)?;
    conffiles.extend(data.files_under("etc/"));
    conffiles.sort();
    conffiles.dedup();
    if !conffiles.is_empty() {
        let text: String = conffiles.iter().map(|c| format!("{c}\n")).collect();
        control_files.push(ControlFile {
            name: "conffiles".into(),
            mode: 0o644,
            bytes: text.into_bytes(),
        });
    }

    let spec = PackageSpec {
        control: control::stanza(package, parts.version, extended.as_deref(), &[])
            .map_err(|e| deb_err(e.into()))?,
        control_files,
        data,
        compression: Compression::default(),
        mtime: parts.epoch,
        generate: true,
        on_disk: None,
    };
    Ok((spec, extended))
}

/// The variables of `.tera` package files: the package's name,
/// architecture and Debian version, its upstream part, the tag and commit.
fn tera_vars(package: &PackageConfig, parts: &Parts<'_>) -> crate::template::Vars {
    [
        ("name", package.name.get_ref().clone()),
        ("version", parts.version.to_string()),
        ("upstream_version", parts.version.upstream.clone()),
        ("architecture", package.architecture.get_ref().clone()),
        ("tag", parts.tag.to_owned()),
        ("commit", parts.commit.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A `.tera` package file rendered with `vars` (the file is read from the
/// built tree, at most 1 MiB of it).
fn render_tera(
    package: &str,
    path: &Path,
    rel: &str,
    vars: &crate::template::Vars,
) -> Result<Vec<u8>, PackageError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(crate::template::MAX_OUTPUT as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|source| PackageError::Io {
            path: path.to_owned(),
            source,
        })?;
    let template_error = |source| PackageError::Template {
        package: package.to_owned(),
        source: Box::new(source),
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) if text.len() <= crate::template::MAX_OUTPUT => text,
        _ => {
            return Err(template_error(crate::template::TemplateError::Render {
                file: rel.to_owned(),
                message: "a .tera file must be UTF-8 text of at most 1 MiB".into(),
            }))
        }
    };
    crate::template::render(rel, &text, vars)
        .map(String::into_bytes)
        .map_err(template_error)
}

/// Adds the package's assets to `data`; returns the ones marked conffile.
/// A file asset whose `src` ends in `.tera` is rendered, and installed
/// without the suffix when `dest` names a directory.
fn add_assets(
    package: &PackageConfig,
    tree: &Path,
    vars: &crate::template::Vars,
    data: &mut DataTree,
) -> Result<Vec<String>, PackageError> {
    let name = package.name.get_ref().as_str();
    let mut conffiles = Vec::new();
    for asset in &package.assets {
        let rel = asset.src.get_ref();
        let src = confine::resolve(tree, rel, Last::Keep)
            .map_err(|o| leaves_tree(name, TreeFile::Asset, rel, o))?;
        let meta = std::fs::symlink_metadata(&src).map_err(|_| PackageError::MissingAsset {
            package: name.to_owned(),
            src: asset.src.get_ref().clone(),
        })?;
        let mut dest = asset.dest.get_ref().clone();
        if meta.file_type().is_symlink() {
            // Packaged as a symlink; where it leads must be inside the tree too.
            confine::resolve(tree, rel, Last::Follow)
                .map_err(|o| leaves_tree(name, TreeFile::Asset, rel, o))?;
        }
        // Installed under a name that keeps `.tera` (an application's own
        // tera templates), the file is copied as it is.
        let tera =
            rel.ends_with(TERA) && !meta.is_dir() && (dest.ends_with('/') || !dest.ends_with(TERA));
        if dest.ends_with('/') && !meta.is_dir() {
            let file = file_name(&src);
            dest.push_str(if tera {
                &file[..file.len() - TERA.len()]
            } else {
                &file
            });
        }
        if tera {
            use std::os::unix::fs::PermissionsExt;
            let source = confine::resolve(tree, rel, Last::Follow)
                .map_err(|o| leaves_tree(name, TreeFile::Asset, rel, o))?;
            let bytes = render_tera(name, &source, rel, vars)?;
            let executable = std::fs::metadata(&source)
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false);
            let mode = asset
                .mode
                .map_or(if executable { 0o755 } else { 0o644 }, |m| m.0);
            data.add_bytes(&dest, bytes, mode)
                .map_err(|source| PackageError::Deb {
                    package: name.to_owned(),
                    source,
                })?;
            if asset.conffile {
                conffiles.push(dest.clone());
            }
            continue;
        }
        add_path(data, &src, &dest, asset.mode.map(|m| m.0)).map_err(|e| match e {
            AddError::Deb(source) => PackageError::Deb {
                package: name.to_owned(),
                source,
            },
            AddError::Io(path, source) => PackageError::Io { path, source },
        })?;
        if asset.conffile {
            conffiles.push(dest.clone());
        }
    }
    Ok(conffiles)
}

/// The text of the tree's README, when some package's description is only
/// a synopsis and needs its first paragraph (see [`description`]).
pub(super) fn readme_text(config: &Config, tree: &Path) -> Result<Option<String>, PackageError> {
    let Some(package) = config
        .packages
        .iter()
        .find(|p| description::is_synopsis_only(p.description.get_ref()))
    else {
        return Ok(None);
    };
    let Some(file) = description::READMES
        .iter()
        .find(|f| std::fs::symlink_metadata(tree.join(f)).is_ok())
    else {
        return Ok(None);
    };
    let path = confine::resolve(tree, file, Last::Follow)
        .map_err(|o| leaves_tree(package.name.get_ref(), TreeFile::Readme, file, o))?;
    let text = std::fs::read(&path).map_err(|source| PackageError::Io { path, source })?;
    Ok(Some(String::from_utf8_lossy(&text).into_owned()))
}

pub(super) fn copyright_text(
    package: &PackageConfig,
    tree: &Path,
    tag: &str,
) -> Result<String, PackageError> {
    let name = package.name.get_ref();
    let source = match &package.copyright {
        Some(path) => Some(path.get_ref().clone()),
        None => LICENSE_FILES
            .iter()
            .find(|f| std::fs::symlink_metadata(tree.join(f)).is_ok())
            .map(|f| (*f).to_owned()),
    };
    let Some(source) = source else {
        return Err(PackageError::NoCopyright {
            package: name.clone(),
        });
    };
    let path = confine::resolve(tree, &source, Last::Follow)
        .map_err(|o| leaves_tree(name, TreeFile::Copyright, &source, o))?;
    let license =
        std::fs::read_to_string(&path).map_err(|source| PackageError::Io { path, source })?;
    Ok(format!(
        "{name} was packaged by git-buildkit from {tag}.\nIts license ({source}) follows.\n\n{}\n",
        license.trim_end()
    ))
}

/// The control files of the `maintainer-scripts` directory: the scripts
/// dpkg runs and the data files a control archive may hold, each either as
/// it is or as `NAME.tera`, rendered (not both).
fn maintainer_scripts(
    package: &PackageConfig,
    tree: &Path,
    vars: &crate::template::Vars,
) -> Result<Vec<ControlFile>, PackageError> {
    let Some(dir) = &package.maintainer_scripts else {
        return Ok(Vec::new());
    };
    let problem = |problem: String| PackageError::MaintainerScripts {
        package: package.name.get_ref().clone(),
        problem,
    };
    let name = package.name.get_ref();
    let path = confine::resolve(tree, dir.get_ref(), Last::Follow)
        .map_err(|o| leaves_tree(name, TreeFile::MaintainerScripts, dir.get_ref(), o))?;
    let entries = std::fs::read_dir(&path).map_err(|_| {
        problem(format!(
            "maintainer-scripts directory {:?} does not exist in the built tree",
            dir.get_ref()
        ))
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PackageError::Io {
            path: path.clone(),
            source,
        })?;
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let tera = entry_name.ends_with(TERA);
        let file = entry_name
            .strip_suffix(TERA)
            .unwrap_or(&entry_name)
            .to_owned();
        let mode = if SCRIPTS.contains(&file.as_str()) {
            0o755
        } else if CONTROL_DATA.contains(&file.as_str()) {
            0o644
        } else {
            continue;
        };
        if files.iter().any(|f: &ControlFile| f.name == file) {
            return Err(problem(format!(
                "both {file} and {file}{TERA} are in {:?}: keep one",
                dir.get_ref()
            )));
        }
        let rel = format!("{}/{entry_name}", dir.get_ref().trim_end_matches('/'));
        let script = confine::resolve(tree, &rel, Last::Follow)
            .map_err(|o| leaves_tree(name, TreeFile::MaintainerScript, &rel, o))?;
        let bytes = if tera {
            render_tera(name, &script, &rel, vars)?
        } else {
            std::fs::read(&script).map_err(|source| PackageError::Io {
                path: script.clone(),
                source,
            })?
        };
        if mode == 0o755 && !bytes.starts_with(b"#!") {
            return Err(problem(format!(
                "maintainer script {file} must start with a #! line"
            )));
        }
        files.push(ControlFile {
            name: file,
            mode,
            bytes,
        });
    }
    Ok(files)
}

/// Merges the systemd units' snippets into the maintainer scripts (see
/// [`crate::debhelper::scripts::merge`]).
fn merge_snippets(
    package: &PackageConfig,
    files: &mut Vec<ControlFile>,
    units: &crate::debhelper::systemd::Snippets,
) -> Result<(), PackageError> {
    use crate::debhelper::scripts::{is_shell_script, TOKEN};
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        let at = files.iter().position(|f| f.name == script);
        let project = at.map(|i| files[i].bytes.as_slice());
        if let Some(text) = project.filter(|_| !units.of(script).is_empty()) {
            let has_token = text.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes());
            if !has_token && !is_shell_script(text) {
                return Err(PackageError::MaintainerScripts {
                    package: package.name.get_ref().clone(),
                    problem: format!(
                        "{script} is not a shell script, so the systemd snippets (shell) can \
                         only go where it says {TOKEN}: put that line where they belong"
                    ),
                });
            }
        }
        let Some(bytes) = crate::debhelper::scripts::merge(script, project, units.of(script))
        else {
            continue;
        };
        match at {
            Some(i) => files[i].bytes = bytes,
            None => files.push(ControlFile {
                name: script.into(),
                mode: 0o755,
                bytes,
            }),
        }
    }
    Ok(())
}

enum AddError {
    Deb(DebError),
    Io(PathBuf, std::io::Error),
}

/// Adds a file, symlink or (recursively, sorted) directory at `dest`.
fn add_path(
    data: &mut DataTree,
    src: &Path,
    dest: &str,
    mode: Option<u32>,
) -> Result<(), AddError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e| AddError::Io(src.to_owned(), e);
    let meta = std::fs::symlink_metadata(src).map_err(io)?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(src).map_err(io)?;
        return data
            .add_symlink(dest, &target.to_string_lossy())
            .map_err(AddError::Deb);
    }
    if meta.is_dir() {
        data.add_dir(dest, 0o755).map_err(AddError::Deb)?;
        let mut children: Vec<_> = std::fs::read_dir(src)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        children.sort_by_key(std::fs::DirEntry::file_name);
        for child in children {
            let child_dest = format!(
                "{}/{}",
                dest.trim_end_matches('/'),
                child.file_name().to_string_lossy()
            );
            add_path(data, &child.path(), &child_dest, mode)?;
        }
        return Ok(());
    }
    let executable = meta.permissions().mode() & 0o111 != 0;
    let mode = mode.unwrap_or(if executable { 0o755 } else { 0o644 });
    data.add_file(dest, src.to_owned(), meta.len(), mode)
        .map_err(AddError::Deb)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(data: &DataTree, dest: &str) -> String {
        data.files()
            .find(|(path, _, _)| path == dest)
            .map(|(_, source, _)| match source {
                crate::deb::FileSource::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                crate::deb::FileSource::Path(p) => std::fs::read_to_string(p).expect("read"),
            })
            .expect("the overrides file")
    }

    #[test]
    fn the_first_release_override_joins_the_projects_own_overrides() {
        let dest = "/usr/share/lintian/overrides/zhello";
        let mut data = DataTree::new();
        add_first_release_override(&mut data, "zhello").expect("alone");
        assert!(text_of(&data, dest).ends_with("zhello: initial-upload-closes-no-bugs\n"));

        let mut data = DataTree::new();
        data.add_bytes(dest, b"zhello: no-manual-page".to_vec(), 0o644)
            .expect("project's");
        add_first_release_override(&mut data, "zhello").expect("joined");
        let text = text_of(&data, dest);
        assert!(text.starts_with("zhello: no-manual-page\n#"), "{text}");
        assert!(
            text.ends_with("zhello: initial-upload-closes-no-bugs\n"),
            "{text}"
        );
        add_first_release_override(&mut data, "zhello").expect("again");
        assert_eq!(text_of(&data, dest), text, "added once");
    }
}

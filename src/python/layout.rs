//! The packages a closure becomes: one per distribution (`debs`) or one
//! bundle, under `/usr/lib/<app>/`.
//!
//! Every module goes into `/usr/lib/<app>/python`, a directory on nobody's
//! `sys.path`: Debian's own programs never import our copies, and our
//! `python3-*`-free names never collide with Debian's packages. Only the
//! application's own scripts go to `/usr/bin`, as wrappers that put the
//! private directory first. The `.pyc` files are made on the target by
//! py3compile (dh_python3's snippets), so the packages survive a Python
//! minor upgrade.
use std::path::Path;

use super::closure::{Closure, Dist};
use super::control::{extended, python_depends, synopsis};
use super::markers::Target;
use super::names::{normalize, package_name};
use super::scripts;
use super::version::{debian_upstream, relations};
use super::wheel::Scheme;
use super::PythonError;
use crate::deb::{Compression, Control, ControlFile, DataTree, PackageSpec};
use crate::version::DebVersion;

/// How a closure is packaged (`python.layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One package per distribution (like py2deb).
    #[default]
    Debs,
    /// The application and its closure in one package (like dh-virtualenv).
    Bundle,
}

/// What the application's package is given from outside the wheels.
#[derive(Debug)]
pub struct LayoutRequest<'a> {
    /// The application's package name.
    pub app: &'a str,
    /// Its Debian version.
    pub app_version: &'a DebVersion,
    /// The layout.
    pub layout: Layout,
    /// `Maintainer` of every package.
    pub maintainer: &'a str,
    /// The Debian revision of the dependencies' packages (`1`).
    pub revision: &'a str,
    /// Where wheels are extracted (kept until the packages are written).
    pub scratch: &'a Path,
    /// The target Python and architecture.
    pub target: &'a Target,
    /// The application's timestamp (`SOURCE_DATE_EPOCH` of the tag).
    pub epoch: u64,
    /// The application's `copyright` text (else from its wheel).
    pub app_copyright: Option<String>,
    /// The application's `changelog.Debian` text (else one entry).
    pub app_changelog: Option<String>,
    /// The application's description: synopsis and extended text.
    pub app_description: Option<(String, String)>,
    /// Debian packages mapped for dependencies (`python.system`) and other
    /// relations the application's package adds to its `Depends`.
    pub app_depends: Vec<String>,
}

/// One generated package.
#[derive(Debug, Clone)]
pub struct PyPackage {
    /// The distribution it holds (the root's for the application's package
    /// and the bundle).
    pub dist: String,
    /// Everything to write it. `Depends` may hold `${shlibs}` where the
    /// libraries its ELF files need go.
    pub spec: PackageSpec,
    /// Whether it holds ELF files (binary wheels).
    pub binary: bool,
    /// Whether they may be stripped: not when auditwheel grafted libraries
    /// into the wheel (`<dist>.libs/`), whose patchelf-rewritten headers
    /// strip breaks (pypa/manylinux#119).
    pub strip: bool,
    /// What the user should know (a dependency without a licence).
    pub warnings: Vec<String>,
}

/// The contents of one package being assembled.
struct Parts {
    data: DataTree,
    depends: Vec<String>,
    has_py: bool,
    extension: Option<(u32, u32)>,
    binary: bool,
    patched: bool,
    arch: &'static str,
    copyright: String,
    warnings: Vec<String>,
}

fn deb_err(package: &str) -> impl Fn(crate::deb::DebError) -> PythonError + '_ {
    move |source| PythonError::Deb {
        package: package.to_owned(),
        source,
    }
}

/// The Debian version of a dependency's package.
fn dist_version(dist: &Dist, revision: &str) -> String {
    format!(
        "{}-{revision}",
        debian_upstream(&dist.wheel.metadata.version)
    )
}

/// The package name of each distribution.
fn names(closure: &Closure, req: &LayoutRequest<'_>) -> Result<Vec<String>, PythonError> {
    closure
        .dists
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i == closure.root {
                Ok(req.app.to_owned())
            } else {
                package_name(req.app, &d.wheel.metadata.name)
            }
        })
        .collect()
}

// Long function: the two layouts side by side, each a short loop over
// the closure with what differs between the app and its dependencies.
/// The packages of `closure`, the application's first.
pub fn packages(closure: &Closure, req: &LayoutRequest<'_>) -> Result<Vec<PyPackage>, PythonError> {
    let names = names(closure, req)?;
    let prefix = format!("/usr/lib/{}", req.app);
    let python_dir = format!("{prefix}/python");
    let mut out = Vec::new();
    let mut owners: std::collections::BTreeMap<String, String> = Default::default();
    match req.layout {
        Layout::Debs => {
            for (i, dist) in closure.dists.iter().enumerate() {
                let mut parts = new_parts();
                add_dist(
                    &mut parts,
                    dist,
                    i == closure.root,
                    req,
                    &python_dir,
                    &mut owners,
                )?;
                let version = if i == closure.root {
                    req.app_version.to_string()
                } else {
                    dist_version(dist, req.revision)
                };
                if i == closure.root {
                    // Exactly the versions built, below.
                    let rels = python_depends(&dist.wheel, req.target.python);
                    parts.depends.extend(rels);
                    system_depends(&mut parts, closure, i);
                } else {
                    dist_depends(&mut parts, closure, i, &names, req);
                }
                let mut replaces = Vec::new();
                if i == closure.root {
                    for (j, d) in closure.dists.iter().enumerate() {
                        if j != closure.root {
                            parts.depends.push(format!(
                                "{} (= {})",
                                names[j],
                                dist_version(d, req.revision)
                            ));
                        }
                    }
                    parts.depends.extend(req.app_depends.iter().cloned());
                } else {
                    // A bundle held these files. Unversioned, so the package
                    // stays the same bytes from one app release to the next
                    // (the repository refuses a changed file of one version).
                    replaces.push(req.app.to_owned());
                }
                out.push(finish(
                    parts,
                    &names[i],
                    &version,
                    dist,
                    i == closure.root,
                    &replaces,
                    req,
                )?);
            }
        }
        Layout::Bundle => {
            let mut parts = new_parts();
            let mut copyrights = Vec::new();
            for (i, dist) in closure.dists.iter().enumerate() {
                add_dist(
                    &mut parts,
                    dist,
                    i == closure.root,
                    req,
                    &python_dir,
                    &mut owners,
                )?;
                dist_depends(&mut parts, closure, i, &names, req);
                copyrights.push(std::mem::take(&mut parts.copyright));
            }
            parts.copyright = copyrights.join("\n\n");
            // Inside the bundle, dependencies between its own parts vanish.
            parts.depends.retain(|d| {
                !names
                    .iter()
                    .any(|n| d == n || d.starts_with(&format!("{n} ")))
            });
            parts.depends.extend(req.app_depends.iter().cloned());
            let replaces: Vec<String> = names
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != closure.root)
                .map(|(_, n)| n.clone())
                .collect();
            let root = &closure.dists[closure.root];
            out.push(finish(
                parts,
                req.app,
                &req.app_version.to_string(),
                root,
                true,
                &replaces,
                req,
            )?);
        }
    }
    Ok(out)
}

fn new_parts() -> Parts {
    Parts {
        data: DataTree::new(),
        depends: Vec::new(),
        has_py: false,
        extension: None,
        binary: false,
        patched: false,
        arch: "all",
        copyright: String::new(),
        warnings: Vec::new(),
    }
}

/// The relations of distribution `i` on the others and on Debian packages.
fn dist_depends(
    parts: &mut Parts,
    closure: &Closure,
    i: usize,
    names: &[String],
    req: &LayoutRequest<'_>,
) {
    let dist = &closure.dists[i];
    for (j, spec) in &dist.requires {
        let built = &closure.dists[*j].wheel.metadata.version;
        let rev = if *j == closure.root {
            req.app_version.revision.as_str()
        } else {
            req.revision
        };
        let rels = relations(&names[*j], spec, Some((built, rev)));
        if rels.is_empty() {
            parts.depends.push(names[*j].clone());
        }
        parts.depends.extend(rels);
    }
    system_depends(parts, closure, i);
    for d in python_depends(&dist.wheel, req.target.python) {
        if !parts.depends.contains(&d) {
            parts.depends.push(d);
        }
    }
}

/// The relations of distribution `i` on Debian packages (`python.system`).
fn system_depends(parts: &mut Parts, closure: &Closure, i: usize) {
    for (m, spec) in &closure.dists[i].requires_system {
        let debian = &closure.mapped[*m].debian;
        let rels = relations(debian, spec, None);
        if rels.is_empty() {
            parts.depends.push(debian.clone());
        }
        parts.depends.extend(rels);
    }
}

// Long function: one wheel's members mapped to their places, with the
// generated files (wrappers, fixed scripts, INSTALLER) beside them.
/// Extracts `dist`'s wheel and adds its files to `parts`.
fn add_dist(
    parts: &mut Parts,
    dist: &Dist,
    is_root: bool,
    req: &LayoutRequest<'_>,
    python_dir: &str,
    owners: &mut std::collections::BTreeMap<String, String>,
) -> Result<(), PythonError> {
    let wheel = &dist.wheel;
    let dist_name = normalize(&wheel.metadata.name);
    let dir = req.scratch.join(&dist_name);
    wheel.extract(&dir)?;
    let prefix = format!("/usr/lib/{}", req.app);
    let bin_dir = if is_root {
        "/usr/bin".to_owned()
    } else {
        format!("{prefix}/bin")
    };
    let arch = wheel.name.debian_arch()?;
    if arch != "all" {
        parts.arch = arch;
    }
    if let Some(super::filename::PyAbi::Cp(x, y)) = wheel.name.cpython_abi() {
        parts.extension = Some((x, y));
    }
    let owner = format!("{} {}", wheel.metadata.name, wheel.metadata.version);
    let mut claim = |dest: &str| -> Result<(), PythonError> {
        if let Some(other) = owners.insert(dest.to_owned(), owner.clone()) {
            return Err(PythonError::Clash {
                path: dest.to_owned(),
                a: other,
                b: owner.clone(),
            });
        }
        Ok(())
    };
    for f in &wheel.files {
        let dest = match f.scheme {
            Scheme::Purelib | Scheme::Platlib => format!("{python_dir}/{}", f.rel),
            Scheme::Scripts => format!("{bin_dir}/{}", f.rel),
            Scheme::Headers => format!("{prefix}/include/{dist_name}/{}", f.rel),
            Scheme::Data if is_root && f.rel.starts_with("share/") => format!("/usr/{}", f.rel),
            Scheme::Data => format!("{prefix}/{}", f.rel),
        };
        claim(&dest)?;
        let source = dir.join(&f.zip_path);
        parts.has_py |=
            f.rel.ends_with(".py") && matches!(f.scheme, Scheme::Purelib | Scheme::Platlib);
        if f.scheme == Scheme::Scripts {
            let bytes = std::fs::read(&source).map_err(|source_err| PythonError::Io {
                path: source.clone(),
                source: source_err,
            })?;
            if let Some(fixed) = scripts::fix_script(&bytes, python_dir) {
                parts
                    .data
                    .add_bytes(&dest, fixed, 0o755)
                    .map_err(deb_err(req.app))?;
                continue;
            }
        }
        let mut head = [0u8; 4];
        let got = std::fs::File::open(&source)
            .and_then(|mut file| std::io::Read::read(&mut file, &mut head))
            .unwrap_or(0);
        let is_elf = got == 4 && head == *b"\x7fELF";
        parts.binary |= is_elf;
        parts.patched |= is_elf
            && f.rel
                .split('/')
                .next()
                .is_some_and(|top| top.ends_with(".libs"));
        if !is_elf && head.starts_with(b"#!") && f.rel.ends_with(".py") {
            // dh_python3's fix_shebang: a module run as a script runs
            // under Debian's python3, never `env python`.
            let bytes = std::fs::read(&source).map_err(|e| PythonError::Io {
                path: source.clone(),
                source: e,
            })?;
            if let Some(fixed) = scripts::fix_shebang(&bytes) {
                parts
                    .data
                    .add_bytes(&dest, fixed, f.mode)
                    .map_err(deb_err(req.app))?;
                continue;
            }
        }
        // An executable that is neither ELF nor a script (a module with
        // its x bit set by accident) is not executable (dh_fixperms).
        let mode = if is_elf || head.starts_with(b"#!") {
            f.mode
        } else {
            f.mode & !0o111
        };
        parts
            .data
            .add_file(&dest, source, f.size, mode)
            .map_err(deb_err(req.app))?;
    }
    let installer = format!("{python_dir}/{}/INSTALLER", wheel.dist_info);
    claim(&installer)?;
    parts
        .data
        .add_bytes(&installer, b"git-buildkit\n".to_vec(), 0o644)
        .map_err(deb_err(req.app))?;
    for ep in &wheel.entry_points {
        let dest = format!("{bin_dir}/{}", ep.name);
        claim(&dest)?;
        let text = scripts::wrapper(
            ep,
            &wheel.metadata.name,
            &wheel.metadata.version.to_string(),
            python_dir,
        );
        parts
            .data
            .add_bytes(&dest, text.into_bytes(), 0o755)
            .map_err(deb_err(req.app))?;
        if is_root {
            let page = format!("/usr/share/man/man1/{}.1.gz", ep.name);
            if wheel
                .files
                .iter()
                .any(|f| f.rel.ends_with(&format!("man1/{}.1", ep.name)))
            {
                continue;
            }
            claim(&page)?;
            let man = man_page(
                &ep.name,
                wheel.metadata.summary.as_deref(),
                req.app,
                &req.app_version.to_string(),
            );
            parts
                .data
                .add_bytes(&page, crate::deb::gzip_n(man.as_bytes()), 0o644)
                .map_err(deb_err(req.app))?;
        }
    }
    let (text, known) = super::copyright::copyright(wheel)?;
    if !known {
        parts.warnings.push(format!(
            "{} {} names no licence and ships no licence file",
            wheel.metadata.name, wheel.metadata.version
        ));
    }
    parts.copyright = text;
    Ok(())
}

/// A minimal manual page for a script (lintian's `no-manual-page`).
fn man_page(name: &str, summary: Option<&str>, app: &str, version: &str) -> String {
    let what = synopsis(summary, &format!("a command of {app}"));
    let esc = |s: &str| s.replace('\\', "\\e").replace('-', "\\-");
    format!(
        ".TH {upper} 1 \"\" \"{app} {version}\" \"User Commands\"\n.SH NAME\n{n} \\- {what}\n.SH SYNOPSIS\n.B {n}\n.RI [ options ]\n.SH DESCRIPTION\n.B {n}\nis installed by the package {app}. Run\n.B {n} \\-\\-help\nfor its options.\n",
        upper = esc(&name.to_ascii_uppercase()).replace('"', ""),
        n = esc(name),
        what = esc(&what),
    )
}

// Long function: the control stanza, the documentation files and the
// maintainer scripts of one package, in the order dpkg-gencontrol writes.
/// The package spec of `parts`.
fn finish(
    mut parts: Parts,
    name: &str,
    version: &str,
    dist: &Dist,
    is_app: bool,
    replaces: &[String],
    req: &LayoutRequest<'_>,
) -> Result<PyPackage, PythonError> {
    let m = &dist.wheel.metadata;
    let doc = format!("/usr/share/doc/{name}");
    let copyright = match (is_app, &req.app_copyright) {
        (true, Some(c)) => c.clone(),
        _ => parts.copyright.clone(),
    };
    let err = deb_err(name);
    parts
        .data
        .add_bytes(&format!("{doc}/copyright"), copyright.into_bytes(), 0o644)
        .map_err(&err)?;
    let mtime = if is_app {
        req.epoch
    } else {
        dist.wheel.newest_mtime.max(315_532_800)
    };
    let changelog = match (is_app, &req.app_changelog) {
        (true, Some(c)) => c.clone(),
        _ => format!(
            "{name} ({version}) unstable; urgency=medium\n\n  * Packaged by git-buildkit from the wheel of {} {}.\n\n -- {}  {}\n",
            m.name,
            m.version,
            req.maintainer,
            crate::time::rfc2822(crate::time::signed(mtime)),
        ),
    };
    let entries = changelog
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphanumeric()))
        .count();
    parts
        .data
        .add_bytes(
            &format!("{doc}/changelog.Debian.gz"),
            crate::deb::gzip_n(changelog.as_bytes()),
            0o644,
        )
        .map_err(&err)?;
    if entries <= 1 || parts.patched {
        let mut text = if entries <= 1 {
            crate::package::assemble::first_release_override(name)
        } else {
            String::new()
        };
        if parts.patched {
            text.push_str(&format!(
                "# auditwheel grafted these libraries and rewrote them with patchelf;\n\
                 # strip would break them (pypa/manylinux#119): shipped as the wheel has them.\n\
                 {name}: unstripped-binary-or-object\n"
            ));
        }
        parts
            .data
            .add_bytes(
                &format!("/usr/share/lintian/overrides/{name}"),
                text.into_bytes(),
                0o644,
            )
            .map_err(&err)?;
    }
    let package_arg = if parts.arch == "all" {
        name.to_owned()
    } else {
        format!("{name}:{}", parts.arch)
    };
    let python_dir = format!("/usr/lib/{}/python", req.app);
    let mut control_files = Vec::new();
    if parts.has_py {
        let script = |body: String| ControlFile {
            name: String::new(),
            mode: 0o755,
            bytes: format!("{}{body}", crate::debhelper::scripts::HEADER).into_bytes(),
        };
        control_files.push(ControlFile {
            name: "postinst".into(),
            ..script(scripts::postinst(
                &package_arg,
                &python_dir,
                parts.extension,
            ))
        });
        control_files.push(ControlFile {
            name: "prerm".into(),
            ..script(scripts::prerm(&package_arg))
        });
        let rt = scripts::rtupdate(&package_arg, &python_dir, parts.extension);
        parts
            .data
            .add_bytes(
                &format!("/usr/share/python3/runtime.d/{name}.rtupdate"),
                rt.into_bytes(),
                0o755,
            )
            .map_err(&err)?;
    }
    if parts.binary {
        parts.depends.insert(0, "${shlibs}".to_owned());
    }
    let mut depends: Vec<String> = Vec::new();
    for d in parts.depends {
        if !depends.contains(&d) {
            depends.push(d);
        }
    }
    let (short, long) = match (is_app, &req.app_description) {
        (true, Some((s, l))) => (s.clone(), l.clone()),
        _ => {
            let short = synopsis(
                m.summary.as_deref(),
                &format!("Python distribution {}", m.name),
            );
            let mut paras = vec![format!(
                "This package holds the Python distribution {} {} for {}, installed privately under /usr/lib/{}/python: Debian's own Python programs do not see it.",
                m.name, m.version, req.app, req.app
            )];
            if let Some(h) = &m.home_page {
                paras.push(format!("Home page: {h}"));
            }
            (short, extended(&paras))
        }
    };
    let mut control = Control::new();
    let mut fields: Vec<(&str, String)> = vec![
        ("Package", name.to_owned()),
        ("Version", version.to_owned()),
        ("Architecture", parts.arch.to_owned()),
        ("Maintainer", req.maintainer.to_owned()),
        ("Section", "python".to_owned()),
        ("Priority", "optional".to_owned()),
    ];
    if !depends.is_empty() {
        fields.push(("Depends", depends.join(", ")));
    }
    if !replaces.is_empty() {
        fields.push(("Replaces", replaces.join(", ")));
        if is_app {
            // Only the bundle breaks the per-distribution packages: a
            // dependency's package must not break the app that needs it.
            fields.push(("Breaks", replaces.join(", ")));
        }
    }
    if let Some(h) = m
        .home_page
        .as_ref()
        .filter(|h| h.starts_with("http") && !h.contains(char::is_whitespace))
    {
        fields.push(("Homepage", h.clone()));
    }
    let description = if long.is_empty() {
        short
    } else {
        format!("{short}\n{long}")
    };
    fields.push(("Description", description));
    for (field, value) in fields {
        control.push(field, &value).map_err(|e| PythonError::Deb {
            package: name.to_owned(),
            source: e.into(),
        })?;
    }
    control.sort_canonical();
    Ok(PyPackage {
        dist: normalize(&m.name),
        spec: PackageSpec {
            control,
            control_files,
            data: parts.data,
            compression: Compression::default(),
            mtime,
            generate: true,
            on_disk: None,
        },
        binary: parts.binary,
        strip: !parts.patched,
        warnings: parts.warnings,
    })
}

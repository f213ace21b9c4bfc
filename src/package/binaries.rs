//! What debhelper does to the packages of a build once their files are
//! assembled (see [`crate::debhelper`]): their ELF files stripped, the
//! debug information kept for a `-dbgsym` package (dh_strip), the `shlibs`
//! file and `ldconfig` trigger of the libraries they ship (dh_makeshlibs),
//! and what `${shlibs}` stands for: the packages of the libraries their ELF
//! files need (dh_shlibdeps).

use std::path::Path;

use super::error::PackageError;
use crate::config::PackageConfig;
use crate::deb::{ControlFile, DataTree, FileSource};
use crate::debhelper::elf::Elf;
use crate::debhelper::foreign::ForeignLibraries;
use crate::debhelper::shlibs::{self, Binary, BuildLibrary, ForeignIndex, HostDpkg};
use crate::debhelper::strip::{self, DebugFiles, StripOptions};
use crate::debhelper::{admindir, host_arch};
use crate::progress::Listener;

/// At most this much of a file is read to look at its ELF headers.
const MAX_ELF: u64 = 1 << 30;

/// Strips the ELF files of `data` in `scratch` as `package` asks; the
/// debug files for its `-dbgsym` package, when there are any.
pub(super) fn strip(
    name: &str,
    options: StripOptions,
    data: &mut DataTree,
    scratch: &Path,
    listener: &dyn Listener,
) -> Result<Option<DebugFiles>, PackageError> {
    let stripped =
        strip::strip_tree(data, scratch, options).map_err(|source| PackageError::Strip {
            package: name.to_owned(),
            source: Box::new(source),
        })?;
    if options.dbgsym && !stripped.without_build_id.is_empty() {
        listener.warn(&format!(
            "{name}: no build id in {}: stripped, its debug information not kept \
             (link with -Wl,--build-id)",
            stripped.without_build_id.join(", ")
        ));
    }
    Ok(stripped.debug)
}

/// The files dh_shlibdeps looks at: executable, or named like a shared
/// library (`*.so*`, OCaml's `*.cmxs`, node's `*.node`), and not detached
/// debug information under `/usr/lib/debug`.
fn is_shlibdeps_candidate(path: &str, mode: u32) -> bool {
    const DEBUG_DIRS: &[&str] = &[
        "lib",
        "lib64",
        "usr",
        "bin",
        "sbin",
        "opt",
        "dev",
        "emul",
        ".build-id",
    ];
    let name = path.rsplit('/').next().unwrap_or(path);
    let looks_shared = name.contains(".so") || name.ends_with(".cmxs") || name.ends_with(".node");
    let detached = path
        .strip_prefix("/usr/lib/debug/")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|top| DEBUG_DIRS.contains(&top));
    (mode & 0o111 != 0 || looks_shared) && !detached
}

/// The ELF files of a package's data tree that dh_shlibdeps would look at
/// (see [`is_shlibdeps_candidate`]), read from their (stripped) sources;
/// files that are not ELF are skipped, a damaged one is an error, and so is
/// one too large to read (never a silently missing dependency).
pub(super) fn elf_files(package: &str, data: &DataTree) -> Result<Vec<Binary>, PackageError> {
    let mut binaries = Vec::new();
    for (path, source, mode) in data.files() {
        if !is_shlibdeps_candidate(&path, mode) {
            continue;
        }
        let bytes = match source {
            FileSource::Bytes(bytes) => std::borrow::Cow::Borrowed(bytes.as_slice()),
            FileSource::Path(file) => {
                let io = |source| PackageError::Io {
                    path: file.clone(),
                    source,
                };
                if !starts_with_elf_magic(file).map_err(io)? {
                    continue;
                }
                let len = std::fs::metadata(file).map_err(io)?.len();
                if len > MAX_ELF {
                    return Err(PackageError::Io {
                        path: file.clone(),
                        source: std::io::Error::other(format!(
                            "an ELF file of {len} bytes: more than the {MAX_ELF} read to find its libraries"
                        )),
                    });
                }
                std::borrow::Cow::Owned(std::fs::read(file).map_err(io)?)
            }
        };
        match Elf::parse(&bytes) {
            Ok(Some(elf)) => binaries.push(Binary { path, elf }),
            Ok(None) => {}
            Err(source) => {
                return Err(PackageError::BadElf {
                    package: package.to_owned(),
                    file: path,
                    source: Box::new(source),
                })
            }
        }
    }
    Ok(binaries)
}

fn starts_with_elf_magic(file: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut magic = Vec::with_capacity(4);
    std::fs::File::open(file)?.take(4).read_to_end(&mut magic)?;
    Ok(magic == b"\x7fELF")
}

/// The public libraries `package` at `version` ships: a dependency on one of
/// them from another package of the build is `package (= version)`.
pub(super) fn build_libraries(
    package: &str,
    version: &str,
    binaries: &[Binary],
) -> Vec<BuildLibrary> {
    binaries
        .iter()
        .filter(|b| b.elf.is_public_library())
        .filter_map(|b| {
            Some(BuildLibrary {
                package: package.to_owned(),
                version: version.to_owned(),
                path: b.path.clone(),
                soname: b.elf.soname.clone()?,
            })
        })
        .collect()
}

/// Adds what dh_makeshlibs writes (`shlibs`, the `ldconfig` trigger) to a
/// package's control files; a project's own `shlibs` wins, and its own
/// `triggers` file keeps its lines, the trigger added once.
pub(super) fn add_makeshlibs(
    package: &str,
    version: &str,
    binaries: &[Binary],
    control_files: &mut Vec<ControlFile>,
) {
    let Some(files) = shlibs::makeshlibs(package, version, binaries) else {
        return;
    };
    for (name, bytes) in files {
        match control_files.iter_mut().find(|f| f.name == name) {
            None => control_files.push(ControlFile {
                name,
                mode: 0o644,
                bytes,
            }),
            Some(existing) if name == "triggers" => {
                let text = String::from_utf8_lossy(&existing.bytes).into_owned();
                for line in String::from_utf8_lossy(&bytes).lines() {
                    if !text.lines().any(|l| l.trim() == line.trim()) {
                        if !existing.bytes.is_empty() && !existing.bytes.ends_with(b"\n") {
                            existing.bytes.push(b'\n');
                        }
                        existing.bytes.extend_from_slice(line.as_bytes());
                        existing.bytes.push(b'\n');
                    }
                }
            }
            Some(_) => {}
        }
    }
}

/// What `${shlibs}` stands for in `package`: the dependencies of its ELF
/// files on shared libraries, resolved against the host's dpkg database
/// when the package is built for the host's architecture (or `all`), else
/// against that architecture's packages in the Debian archive.
pub(super) struct Resolver<'a> {
    /// Libraries of the build's other packages.
    pub(super) build: &'a [BuildLibrary],
    /// Leave out (with a warning) what maps to no package.
    pub(super) allow_unresolved: bool,
    /// Another architecture's library packages.
    pub(super) foreign: Option<&'a dyn ForeignLibraries>,
    /// Progress and warnings.
    pub(super) listener: &'a dyn Listener,
    /// The host's dpkg database, read once per build on first need.
    pub(super) host: std::cell::OnceCell<HostDpkg>,
}

impl Resolver<'_> {
    /// The host's dpkg database ([`admindir`]), read on first use.
    fn host(&self, package: &str) -> Result<&HostDpkg, PackageError> {
        if let Some(host) = self.host.get() {
            return Ok(host);
        }
        let host = HostDpkg::open_admindir(Path::new("/"), &admindir(), host_arch())
            .map_err(|source| shlibs_error(package, source))?;
        Ok(self.host.get_or_init(|| host))
    }

    /// The `Depends` entries for `package`'s `binaries`.
    pub(super) fn depends(
        &self,
        package: &PackageConfig,
        binaries: &[Binary],
    ) -> Result<Vec<String>, PackageError> {
        self.depends_of(
            package.name.get_ref(),
            package.architecture.get_ref(),
            package.shlibs_field().is_some(),
            binaries,
        )
    }

    // Long function: dh_shlibdeps' decisions (static files, no ${shlibs},
    // arch all, another architecture, what maps to no package) in order.
    /// The `Depends` entries for the `binaries` of package `name` of
    /// architecture `arch`, whose relations name `${shlibs}` or not.
    pub(super) fn depends_of(
        &self,
        name: &str,
        arch: &str,
        wants_shlibs: bool,
        binaries: &[Binary],
    ) -> Result<Vec<String>, PackageError> {
        let dynamic: Vec<&Binary> = binaries.iter().filter(|b| !b.elf.is_static).collect();
        if dynamic.is_empty() {
            return Ok(Vec::new());
        }
        if !wants_shlibs {
            self.listener.note(&format!(
                "{name}: its relations leave out ${{shlibs}}, so the libraries its ELF files \
                 need are not among its dependencies"
            ));
            return Ok(Vec::new());
        }
        let arch = match arch {
            "all" => {
                self.listener.warn(&format!(
                    "{name} is architecture all but ships ELF files ({}): lintian calls that \
                     an error (arch-independent-package-contains-binary-or-object); set its \
                     architecture",
                    dynamic[0].path
                ));
                dynamic
                    .iter()
                    .find_map(|b| b.elf.debian_arch())
                    .unwrap_or(host_arch())
            }
            arch => arch,
        };
        let resolution = if arch == host_arch() {
            shlibs::resolve(name, binaries, self.build, self.host(name)?)
        } else {
            let index = self.foreign_index(name, arch, &dynamic)?;
            shlibs::resolve(name, binaries, self.build, &index)
        }
        .map_err(|source| shlibs_error(name, source))?;
        if !resolution.unresolved.is_empty() {
            let lines: Vec<String> = resolution
                .unresolved
                .iter()
                .map(|u| format!("{} needs {}: {}", u.file, u.library, u.reason))
                .collect();
            if !self.allow_unresolved {
                return Err(PackageError::UnresolvedLibraries {
                    package: name.to_owned(),
                    lines,
                });
            }
            for line in lines {
                self.listener
                    .warn(&format!("{name}: {line}; left out of its dependencies"));
            }
        }
        Ok(resolution.depends)
    }

    /// `arch`'s packages of the libraries `binaries` need: which packages
    /// provide each library is asked of the host's dpkg database (any
    /// architecture), their `symbols`/`shlibs` of the Debian archive.
    fn foreign_index(
        &self,
        name: &str,
        arch: &str,
        binaries: &[&Binary],
    ) -> Result<ForeignIndex, PackageError> {
        let Some(foreign) = self.foreign else {
            return Err(PackageError::Foreign {
                package: name.to_owned(),
                arch: arch.to_owned(),
                reason: "no Debian archive to fetch its libraries' information from".into(),
            });
        };
        let host = self.host(name)?;
        let mut wanted: Vec<String> = Vec::new();
        for soname in binaries.iter().flat_map(|b| &b.elf.needed) {
            if self.build.iter().any(|l| &l.soname == soname) {
                continue;
            }
            let providers = host
                .providers_by_soname(soname)
                .map_err(|source| shlibs_error(name, source))?;
            if providers.is_empty() {
                self.listener.warn(&format!(
                    "{name}: no package on this host describes {soname}, so its {arch} package \
                     is not known; install the library's package on this host (any \
                     architecture), or list the dependency yourself"
                ));
            }
            for package in providers {
                if !wanted.contains(&package) {
                    wanted.push(package);
                }
            }
        }
        self.listener.status(
            "Fetching",
            &format!("the {arch} symbols of {}", wanted.join(", ")),
        );
        let fetched = foreign
            .fetch(arch, &wanted)
            .map_err(|e| PackageError::Foreign {
                package: name.to_owned(),
                arch: arch.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(ForeignIndex::new(arch, fetched))
    }
}

fn shlibs_error(package: &str, source: shlibs::ShlibsError) -> PackageError {
    PackageError::Shlibs {
        package: package.to_owned(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlibdeps_looks_at_executables_and_libraries_not_detached_debug_files() {
        assert!(is_shlibdeps_candidate("/usr/bin/zhello", 0o755));
        assert!(is_shlibdeps_candidate(
            "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
            0o644
        ));
        assert!(is_shlibdeps_candidate(
            "/usr/lib/node_modules/x/build/x.node",
            0o644
        ));
        assert!(!is_shlibdeps_candidate(
            "/usr/share/firmware/blob.elf",
            0o644
        ));
        assert!(!is_shlibdeps_candidate(
            "/usr/lib/debug/.build-id/ab/cdef.debug",
            0o644
        ));
        assert!(!is_shlibdeps_candidate(
            "/usr/lib/debug/usr/bin/zhello",
            0o755
        ));
    }

    #[test]
    fn a_package_of_the_build_gives_its_public_libraries() {
        assert!(build_libraries("x", "1", &[]).is_empty());
    }
}

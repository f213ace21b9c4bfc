//! Dependencies on shared libraries, computed as dpkg-shlibdeps computes
//! them (dh_shlibdeps), and the `shlibs`/`triggers` files dh_makeshlibs
//! writes for a package that ships libraries.
//!
//! For each ELF file of a package, each `DT_NEEDED` library is looked for
//! (in the package itself, in another package of the same build, then in a
//! [`LibraryIndex`]: the host's dpkg database or a foreign architecture's
//! packages), and the package providing it gives a dependency template from
//! its `symbols` file (raised to the highest minimal version of the symbols
//! the file uses) or, failing that, its `shlibs` file. The steps and their
//! order follow `/usr/bin/dpkg-shlibdeps` (dpkg 1.22); where we differ, a
//! comment says why. A library that maps to no package is an
//! [`Unresolved`], never a silently missing dependency.

mod deps;
mod foreign;
mod host;
mod makeshlibs;
pub mod shlibs_file;
pub mod symbols;

use std::path::PathBuf;

pub use deps::Dependencies;
pub use foreign::{ForeignIndex, ForeignPackage};
pub use host::HostDpkg;
pub use makeshlibs::makeshlibs;

use crate::debhelper::elf::{Abi, Elf};
use symbols::{SymbolFile, SymbolObject};

/// One ELF file of a package: its path in the package (`/usr/bin/zhello`) and what it says.
#[derive(Debug, Clone)]
pub struct Binary {
    /// The absolute path the file is installed at.
    pub path: String,
    /// The parsed file.
    pub elf: Elf,
}

/// A library shipped by a package of the same build: depending on it gives `package (= version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildLibrary {
    /// The package that ships it.
    pub package: String,
    /// That package's version.
    pub version: String,
    /// Where it is installed (`/usr/lib/x86_64-linux-gnu/libmine.so.1`).
    pub path: String,
    /// Its SONAME.
    pub soname: String,
}

impl BuildLibrary {
    /// The entry for `binary` of `package` at `version` when it is a public
    /// shared library (a SONAME, a shared object), else `None`.
    pub fn from_binary(package: &str, version: &str, binary: &Binary) -> Option<BuildLibrary> {
        if !binary.elf.is_public_library() {
            return None;
        }
        Some(BuildLibrary {
            package: package.to_owned(),
            version: version.to_owned(),
            path: binary.path.clone(),
            soname: binary.elf.soname.clone()?,
        })
    }
}

/// A package that may provide a library, with its dependency information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The package name as dpkg knows it (`zlib1g:amd64`).
    pub package: String,
    /// Its `symbols` file, if any.
    pub symbols: Option<String>,
    /// Its `shlibs` file, if any.
    pub shlibs: Option<String>,
}

/// Where a library was found, and who provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// No file of that name and ABI in any directory searched.
    NotFound {
        /// The directories searched, in order.
        searched: Vec<String>,
    },
    /// Found.
    Found {
        /// Where (or, for a foreign architecture, which packages).
        path: String,
        /// Whether the library has a SONAME (dpkg's `is_public_library`);
        /// only then does a `shlibs` file count.
        public: bool,
        /// The packages owning it, in order.
        providers: Vec<Provider>,
    },
}

/// Where libraries and their dependency information come from, for one architecture.
pub trait LibraryIndex {
    /// The Debian architecture (`amd64`).
    fn arch(&self) -> &str;
    /// The system library directories, searched after a binary's RPATH.
    fn library_dirs(&self) -> Vec<String>;
    /// Finds `soname` for a binary of `abi`, searching `rpath` first.
    fn lookup(&self, soname: &str, abi: &Abi, rpath: &[String]) -> Result<Lookup, ShlibsError>;
    /// `/etc/dpkg/shlibs.override`, read before any package's `shlibs`.
    fn shlibs_override(&self) -> Option<&str> {
        None
    }
    /// `/etc/dpkg/shlibs.default`, read after every package's `shlibs`.
    fn shlibs_default(&self) -> Option<&str> {
        None
    }
}

/// A library no package provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The ELF file that needs it (its path in the package).
    pub file: String,
    /// The library (`DT_NEEDED`).
    pub library: String,
    /// Why it maps to no package.
    pub reason: String,
}

/// The result of [`resolve`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// `Depends` entries, merged and sorted as dpkg-shlibdeps writes them.
    pub depends: Vec<String>,
    /// Libraries that map to no package.
    pub unresolved: Vec<Unresolved>,
}

/// Why dependency information could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ShlibsError {
    /// A file of the dpkg database could not be read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the dpkg database is larger than we read.
    #[error("{path} is larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap.
        limit: u64,
    },
    /// A package's symbols file is invalid.
    #[error("invalid symbols file of {package}")]
    Symbols {
        /// The package.
        package: String,
        /// What is wrong.
        #[source]
        source: symbols::SymbolsError,
    },
}

/// Computes the `Depends` entries of `package` from its ELF files, as
/// dpkg-shlibdeps does. `build` lists the libraries shipped by the other
/// packages of the same build.
pub fn resolve(
    package: &str,
    binaries: &[Binary],
    build: &[BuildLibrary],
    index: &dyn LibraryIndex,
) -> Result<Resolution, ShlibsError> {
    let mut deps = Dependencies::default();
    let mut unresolved = Vec::new();
    for binary in binaries {
        if binary.elf.is_static {
            continue;
        }
        resolve_binary(
            package,
            binary,
            binaries,
            build,
            index,
            &mut deps,
            &mut unresolved,
        )?;
    }
    Ok(Resolution {
        depends: deps.render(),
        unresolved,
    })
}

/// One binary's libraries, then its symbols (the body of dpkg-shlibdeps'
/// main loop).
// Long function: the steps of one dpkg-shlibdeps loop, in its order, read best in one piece.
fn resolve_binary(
    package: &str,
    binary: &Binary,
    own: &[Binary],
    build: &[BuildLibrary],
    index: &dyn LibraryIndex,
    deps: &mut Dependencies,
    unresolved: &mut Vec<Unresolved>,
) -> Result<(), ShlibsError> {
    let rpath = expand_origin(binary);
    let mut dirs = rpath.clone();
    dirs.extend(index.library_dirs());
    let mut unresolved_here = |library: &str, reason: String| {
        unresolved.push(Unresolved {
            file: binary.path.clone(),
            library: library.to_owned(),
            reason,
        });
    };
    // The objects of the symbols files used, in DT_NEEDED order (dpkg's
    // merged `$symfile`, looked up in `@sonames` order).
    let mut objects: Vec<SymbolObject> = Vec::new();
    for soname in &binary.elf.needed {
        if !is_file_name(soname) {
            unresolved_here(soname, "the library name is not a file name".to_owned());
            continue;
        }
        let in_dirs = |path: &str| dirs.iter().any(|d| parent(path) == d.trim_end_matches('/'));
        if own
            .iter()
            .any(|b| b.elf.soname.as_deref() == Some(soname) && in_dirs(&b.path))
            || build
                .iter()
                .any(|l| l.package == package && &l.soname == soname && in_dirs(&l.path))
        {
            continue;
        }
        if let Some(lib) = build
            .iter()
            .find(|l| &l.soname == soname && in_dirs(&l.path))
        {
            deps.set_unversioned(&format!("{} (= {})", lib.package, lib.version));
            continue;
        }
        match index.lookup(soname, &binary.elf.abi, &rpath)? {
            Lookup::NotFound { searched } => {
                unresolved_here(soname, format!("not found in {}", searched.join(":")))
            }
            Lookup::Found {
                path,
                public,
                providers,
            } => {
                if providers.is_empty() {
                    unresolved_here(soname, format!("{path} belongs to no package"));
                    continue;
                }
                match from_providers(soname, public, &providers, index)? {
                    Some(Info::Symbols(object)) => {
                        let dep = object.deps.first().cloned().unwrap_or_default();
                        deps.update(&dep, &object.smallest_version(0).cloned());
                        objects.push(object);
                    }
                    Some(Info::Shlibs(dep)) => deps.set_unversioned(&dep),
                    Some(Info::Private) => {}
                    None => {
                        let names: Vec<&str> =
                            providers.iter().map(|p| p.package.as_str()).collect();
                        unresolved_here(
                            soname,
                            format!(
                                "{path} (from {}) has no symbols or shlibs information",
                                names.join(", ")
                            ),
                        );
                    }
                }
            }
        }
    }
    for symbol in &binary.elf.undefined {
        let name = symbol.versioned_name();
        let found = objects.iter().find_map(|object| {
            object
                .symbols
                .get(&name)
                .filter(|s| !s.deprecated)
                .map(|s| (object, s))
        });
        if let Some((object, symbol)) = found {
            if let Some(dep) = object.deps.get(symbol.dep_id) {
                deps.update(dep, &Some(symbol.minver.clone()));
            }
        }
    }
    Ok(())
}

/// What the providers of a library say about it.
enum Info {
    /// The object of a symbols file.
    Symbols(SymbolObject),
    /// A `shlibs` dependency.
    Shlibs(String),
    /// A library without SONAME and without symbols: dpkg skips it.
    Private,
}

/// The first provider with information, in dpkg's order: its symbols
/// file; else, for a public library, the shlibs files (override, the
/// package's, default).
fn from_providers(
    soname: &str,
    public: bool,
    providers: &[Provider],
    index: &dyn LibraryIndex,
) -> Result<Option<Info>, ShlibsError> {
    let mut private = false;
    for provider in providers {
        if let Some(text) = &provider.symbols {
            if symbols::has_soname(text, soname) {
                let file = SymbolFile::parse(text, index.arch()).map_err(|source| {
                    ShlibsError::Symbols {
                        package: provider.package.clone(),
                        source,
                    }
                })?;
                if let Some(object) = file.objects.get(soname) {
                    return Ok(Some(Info::Symbols(object.clone())));
                }
            }
        }
        if !public {
            private = true;
            continue;
        }
        let files = [
            index.shlibs_override(),
            provider.shlibs.as_deref(),
            index.shlibs_default(),
        ];
        if let Some(dep) = files
            .into_iter()
            .flatten()
            .find_map(|text| shlibs_file::lookup(text, soname))
        {
            return Ok(Some(Info::Shlibs(dep)));
        }
    }
    Ok(private.then_some(Info::Private))
}

/// The RPATH and RUNPATH of a binary with `$ORIGIN` replaced by its
/// directory in the package.
fn expand_origin(binary: &Binary) -> Vec<String> {
    let origin = parent(&binary.path);
    binary
        .elf
        .search_path()
        .map(|dir| dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))
        .collect()
}

/// The directory part of a path (`/usr/bin/x` → `/usr/bin`).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(at) => &path[..at],
        None => "",
    }
}

/// Whether a DT_NEEDED name can be looked up as a file in a directory: a
/// hostile `../../etc/passwd` must not be.
fn is_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// The multiarch tuple of a Debian architecture (`amd64` →
/// `x86_64-linux-gnu`), for the library directories.
pub fn multiarch(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "x86_64-linux-gnu",
        "i386" => "i386-linux-gnu",
        "x32" => "x86_64-linux-gnux32",
        "arm64" => "aarch64-linux-gnu",
        "armhf" => "arm-linux-gnueabihf",
        "armel" => "arm-linux-gnueabi",
        "ppc64el" => "powerpc64le-linux-gnu",
        "ppc64" => "powerpc64-linux-gnu",
        "powerpc" => "powerpc-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        "mips64el" => "mips64el-linux-gnuabi64",
        "mipsel" => "mipsel-linux-gnu",
        "loong64" => "loongarch64-linux-gnu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;

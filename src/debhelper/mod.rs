//! What debhelper does for a package, done natively (issue 12): the
//! dependencies of its ELF files on shared libraries (dh_shlibdeps), the
//! `shlibs` file and `ldconfig` trigger of the libraries it ships
//! (dh_makeshlibs), stripping with the debug information kept in a
//! `-dbgsym` package (dh_strip), and the maintainer-script snippets of its
//! systemd units (dh_installsystemd).
pub mod dbgsym;
pub mod elf;
pub mod foreign;
pub mod scripts;
pub mod shlibs;
pub mod strip;
pub mod systemd;

use std::path::{Path, PathBuf};

/// The Debian architecture of this host (what `dpkg --print-architecture`
/// says on it), from the architecture this program was built for.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "i386",
        "aarch64" => "arm64",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// dpkg's database: `DPKG_ADMINDIR` when set (as dpkg and dpkg-shlibdeps
/// read it), else `/var/lib/dpkg`.
pub fn admindir() -> PathBuf {
    std::env::var_os("DPKG_ADMINDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/var/lib/dpkg"), PathBuf::from)
}

/// The shared libraries (sonames) an installed package declares in its
/// `symbols` and `shlibs` files in the dpkg database at `admindir`, for
/// naming a library in a message; empty when the package is not installed.
pub fn sonames_of(admindir: &Path, package: &str) -> Vec<String> {
    if crate::deb::check_package_name(package).is_err() {
        return Vec::new();
    }
    let info = admindir.join("info");
    let mut sonames = Vec::new();
    for stem in [package.to_owned(), format!("{package}:{}", host_arch())] {
        let read = |ext: &str| {
            let path = info.join(format!("{stem}.{ext}"));
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            (size <= 16 << 20)
                .then(|| std::fs::read_to_string(&path).ok())
                .flatten()
                .unwrap_or_default()
        };
        for line in read("symbols").lines() {
            if !line.starts_with([' ', '\t', '|', '*', '#']) {
                if let Some(soname) = line.split_whitespace().next() {
                    sonames.push(soname.to_owned());
                }
            }
        }
        for line in read("shlibs").lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [name, version, _, ..] = words[..] {
                if !name.ends_with(':') {
                    sonames.push(format!("{name}.so.{version}"));
                }
            }
        }
    }
    sonames.sort();
    sonames.dedup();
    sonames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_library_package_names_its_sonames() {
        let root = tempfile::tempdir().expect("tempdir");
        let info = root.path().join("info");
        std::fs::create_dir_all(&info).expect("mkdir");
        std::fs::write(
            info.join(format!("libfoo1:{}.symbols", host_arch())),
            "libfoo.so.1 libfoo1 #MINVER#\n* Build-Depends-Package: libfoo-dev\n foo@Base 1.0\n",
        )
        .expect("symbols");
        std::fs::write(
            info.join("libfoo1.shlibs"),
            "libbar 2 libfoo1 (>= 1.0)\nudeb: libbar 2 libfoo1-udeb\n",
        )
        .expect("shlibs");
        assert_eq!(
            sonames_of(root.path(), "libfoo1"),
            ["libbar.so.2", "libfoo.so.1"]
        );
        assert!(sonames_of(root.path(), "../../etc/passwd").is_empty());
        assert!(sonames_of(root.path(), "libnone1").is_empty());
    }
}

/// Why [`depends_of_files`] could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DependsError {
    /// A file could not be read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not ELF, or a damaged one.
    #[error("{path} is not a valid ELF file: {reason}")]
    NotElf {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The files are built for another architecture than the host's.
    #[error("{path} is built for {arch}; only the host's architecture ({host}) is resolved here")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Its architecture.
        arch: String,
        /// The host's.
        host: &'static str,
    },
    /// dpkg's database could not be read.
    #[error(transparent)]
    Shlibs(#[from] shlibs::ShlibsError),
}

/// What dpkg-shlibdeps computes for `files` (ELF files of the host's
/// architecture, anywhere on disk) against the host's dpkg database
/// ([`admindir`]): their `Depends` entries, and the libraries that map to
/// no package.
pub fn depends_of_files(files: &[PathBuf]) -> Result<shlibs::Resolution, DependsError> {
    let mut binaries = Vec::new();
    for path in files {
        let read_err = |source| DependsError::Read {
            path: path.clone(),
            source,
        };
        // A FIFO or a device would block or never end: regular files only,
        // and at most 1 GiB of one.
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if !meta.is_file() || meta.len() > 1 << 30 {
            return Err(DependsError::NotElf {
                path: path.clone(),
                reason: "not a regular file of at most 1 GiB".into(),
            });
        }
        let bytes = std::fs::read(path).map_err(read_err)?;
        let elf = elf::Elf::parse(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|elf| elf.ok_or_else(|| "no ELF header".to_owned()))
            .map_err(|reason| DependsError::NotElf {
                path: path.clone(),
                reason,
            })?;
        if let Some(arch) = elf.debian_arch().filter(|a| *a != host_arch()) {
            return Err(DependsError::Foreign {
                path: path.clone(),
                arch: arch.to_owned(),
                host: host_arch(),
            });
        }
        binaries.push(shlibs::Binary {
            path: path.display().to_string(),
            elf,
        });
    }
    let index = shlibs::HostDpkg::open_admindir(Path::new("/"), &admindir(), host_arch())?;
    Ok(shlibs::resolve("", &binaries, &[], &index)?)
}

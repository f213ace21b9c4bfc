//! The host's dpkg database as a [`LibraryIndex`]: libraries found on the
//! search path dpkg-shlibdeps uses (`Dpkg::Shlibs::setup_library_paths`:
//! RPATH, `/lib`, `/usr/lib`, `/etc/ld.so.conf` and its includes, the
//! multilib directories), their owners found as `dpkg -S` finds them (the
//! `*.list` files; through the /usr-merge aliases and symlinks too), and
//! the owners' `symbols`/`shlibs` files.
//!
//! Everything is read under a root directory (`/` in production, a fake
//! tree in tests); a symlink leading out of it is ignored, every file read
//! is capped, and every file is treated as hostile text.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{multiarch, shlibs_file, symbols, LibraryIndex, Lookup, Provider, ShlibsError};
use crate::debhelper::elf::{Abi, Elf};

/// The most we read of a text file of the database (`*.list`, `*.symbols`).
const TEXT_LIMIT: u64 = 64 << 20;
/// The most we read of a library to see whether it has a SONAME.
const LIBRARY_LIMIT: u64 = 1 << 30;
/// How deep `include` lines of ld.so.conf may nest.
const INCLUDE_DEPTH: usize = 8;

/// The host's dpkg database, for one architecture.
#[derive(Debug)]
pub struct HostDpkg {
    root: PathBuf,
    /// dpkg's database (`<root>/var/lib/dpkg`, or `DPKG_ADMINDIR`).
    admindir: PathBuf,
    arch: String,
    dirs: Vec<String>,
    /// Library paths (only lines with `.so`) → owning packages.
    owners: HashMap<String, Vec<String>>,
    shlibs_override: Option<String>,
    shlibs_default: Option<String>,
}

impl HostDpkg {
    /// Reads the database under `root` for architecture `arch`.
    pub fn open(root: &Path, arch: &str) -> Result<HostDpkg, ShlibsError> {
        Self::open_admindir(root, &root.join("var/lib/dpkg"), arch)
    }

    /// Reads the database at `admindir` (dpkg's `--admindir`), the
    /// libraries and configuration under `root`, for architecture `arch`.
    pub fn open_admindir(
        root: &Path,
        admindir: &Path,
        arch: &str,
    ) -> Result<HostDpkg, ShlibsError> {
        let dirs = library_dirs(root, arch)?;
        let owners = read_owners(&admindir.join("info"))?;
        Ok(HostDpkg {
            root: root.to_owned(),
            admindir: admindir.to_owned(),
            arch: arch.to_owned(),
            dirs,
            owners,
            shlibs_override: read_text(&root.join("etc/dpkg/shlibs.override"))?,
            shlibs_default: read_text(&root.join("etc/dpkg/shlibs.default"))?,
        })
    }

    /// The packages (names without `:arch`, sorted) whose symbols or shlibs
    /// file describes `soname`, whatever their architecture: which foreign
    /// packages to fetch for a library.
    pub fn providers_by_soname(&self, soname: &str) -> Result<Vec<String>, ShlibsError> {
        let info = self.admindir.join("info");
        let mut out = Vec::new();
        for (stem, ext) in info_files(&info)? {
            let matches = match ext.as_str() {
                "symbols" => read_text(&info.join(format!("{stem}.symbols")))?
                    .is_some_and(|t| symbols::has_soname(&t, soname)),
                "shlibs" => read_text(&info.join(format!("{stem}.shlibs")))?
                    .is_some_and(|t| shlibs_file::lookup(&t, soname).is_some()),
                _ => false,
            };
            if matches {
                let name = stem.split(':').next().unwrap_or(&stem).to_owned();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// `path` (absolute, in the host's namespace) inside the root, with
    /// symlinks followed; `None` when it does not exist or leads out.
    fn real_path(&self, path: &str) -> Option<(PathBuf, String)> {
        let root = fs::canonicalize(&self.root).ok()?;
        let real = fs::canonicalize(self.root.join(path.trim_start_matches('/'))).ok()?;
        let inside = real.strip_prefix(&root).ok()?;
        let logical = format!("/{}", inside.to_string_lossy());
        Some((real, logical))
    }

    /// The packages owning `path` (dpkg -S), trying its /usr-merge alias.
    fn owners_of(&self, path: &str) -> Vec<String> {
        for candidate in [Some(path.to_owned()), usr_merge_alias(path)]
            .into_iter()
            .flatten()
        {
            if let Some(owners) = self.owners.get(&candidate) {
                return owners.clone();
            }
        }
        Vec::new()
    }

    /// The package's dependency information: its symbols file (from
    /// /etc/dpkg/symbols first, as dpkg-shlibdeps looks) and shlibs file.
    fn provider(&self, package: &str) -> Result<Provider, ShlibsError> {
        let name = package.split(':').next().unwrap_or(package);
        let info = self.admindir.join("info");
        let etc = self.root.join("etc/dpkg/symbols");
        let mut symbols = None;
        for file in [
            etc.join(format!("{name}.symbols.{}", self.arch)),
            etc.join(format!("{name}.symbols")),
            info.join(format!("{package}.symbols")),
        ] {
            if let Some(text) = read_text(&file)? {
                symbols = Some(text);
                break;
            }
        }
        Ok(Provider {
            package: package.to_owned(),
            symbols,
            shlibs: read_text(&info.join(format!("{package}.shlibs")))?,
        })
    }
}

impl LibraryIndex for HostDpkg {
    fn arch(&self) -> &str {
        &self.arch
    }

    fn library_dirs(&self) -> Vec<String> {
        self.dirs.clone()
    }

    fn lookup(&self, soname: &str, abi: &Abi, rpath: &[String]) -> Result<Lookup, ShlibsError> {
        let searched: Vec<String> = rpath.iter().chain(&self.dirs).cloned().collect();
        let mut found = Vec::new();
        for dir in &searched {
            let path = format!("{}/{soname}", dir.trim_end_matches('/'));
            let Some((real, logical)) = self.real_path(&path) else {
                continue;
            };
            if Abi::from_header(&read_head(&real)?).as_ref() == Some(abi) {
                found.push((path, real, logical));
            }
        }
        let Some((first, first_real, _)) = found.first().cloned() else {
            return Ok(Lookup::NotFound { searched });
        };
        let mut packages: Vec<String> = Vec::new();
        for (path, _, logical) in &found {
            let mut owners = self.owners_of(path);
            if owners.is_empty() {
                owners = self.owners_of(logical);
            }
            for owner in owners {
                if !packages.contains(&owner) {
                    packages.push(owner);
                }
            }
        }
        let providers = packages
            .iter()
            .map(|p| self.provider(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Lookup::Found {
            path: first,
            public: is_public(&first_real)?,
            providers,
        })
    }

    fn shlibs_override(&self) -> Option<&str> {
        self.shlibs_override.as_deref()
    }

    fn shlibs_default(&self) -> Option<&str> {
        self.shlibs_default.as_deref()
    }
}

/// The other name of a path under the /usr merge: `/lib/x` ↔ `/usr/lib/x`
/// (also `/bin`, `/sbin`, `/lib32`, `/lib64`).
fn usr_merge_alias(path: &str) -> Option<String> {
    for top in ["/lib/", "/lib32/", "/lib64/", "/libx32/", "/bin/", "/sbin/"] {
        if let Some(rest) = path.strip_prefix(top) {
            return Some(format!("/usr{top}{rest}"));
        }
        if let Some(rest) = path.strip_prefix(&format!("/usr{top}")) {
            return Some(format!("{top}{rest}"));
        }
    }
    None
}

/// The search path after RPATH (dpkg's `setup_library_paths`): `/lib`,
/// `/usr/lib`, ld.so.conf's directories, then the multilib ones. We add
/// the multiarch directories of `arch` after ld.so.conf when it lacks them
/// (dpkg adds them only when cross-building; on a native host ld.so.conf
/// names them).
fn library_dirs(root: &Path, arch: &str) -> Result<Vec<String>, ShlibsError> {
    let mut dirs: Vec<String> = vec!["/lib".into(), "/usr/lib".into()];
    let mut visited = HashSet::new();
    parse_ldso_conf(root, "/etc/ld.so.conf", &mut dirs, &mut visited, 0)?;
    if let Some(tuple) = multiarch(arch) {
        for dir in [format!("/lib/{tuple}"), format!("/usr/lib/{tuple}")] {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    for dir in ["/lib32", "/usr/lib32", "/lib64", "/usr/lib64"] {
        dirs.push(dir.to_owned());
    }
    Ok(dirs)
}

/// One ld.so.conf file (dpkg's `parse_ldso_conf`): directories and
/// `include` globs (only `*` in the file name part).
fn parse_ldso_conf(
    root: &Path,
    file: &str,
    dirs: &mut Vec<String>,
    visited: &mut HashSet<String>,
    depth: usize,
) -> Result<(), ShlibsError> {
    if depth > INCLUDE_DEPTH || !visited.insert(file.to_owned()) {
        return Ok(());
    }
    let Some(text) = read_text(&root.join(file.trim_start_matches('/')))? else {
        return Ok(());
    };
    for line in text.lines() {
        let line = line.trim_end_matches('/');
        if let Some(pattern) = line.trim_start().strip_prefix("include") {
            let pattern = pattern.trim();
            if pattern.starts_with('/') && !pattern.contains("..") {
                for include in glob(root, pattern) {
                    parse_ldso_conf(root, &include, dirs, visited, depth + 1)?;
                }
            }
        } else if line.trim_start().starts_with('/') {
            let dir = line.trim().to_owned();
            if !dir.contains("..") && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    Ok(())
}

/// The files under `root` matching an absolute pattern with `*` only in
/// its last component, sorted like a shell glob.
fn glob(root: &Path, pattern: &str) -> Vec<String> {
    let (dir, name) = match pattern.rsplit_once('/') {
        Some((dir, name)) => (dir, name),
        None => return Vec::new(),
    };
    let Some((prefix, suffix)) = name.split_once('*') else {
        return vec![pattern.to_owned()];
    };
    let Ok(entries) = fs::read_dir(root.join(dir.trim_start_matches('/'))) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
        })
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}

/// The `(stem, extension)` of each file in the info directory.
fn info_files(info: &Path) -> Result<Vec<(String, String)>, ShlibsError> {
    let entries = match fs::read_dir(info) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ShlibsError::Read {
                path: info.to_owned(),
                source,
            })
        }
    };
    let mut out: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            n.rsplit_once('.')
                .map(|(s, e)| (s.to_owned(), e.to_owned()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Library paths → owners, from every `*.list` file (lines with `.so` only:
/// the rest is never asked for).
fn read_owners(info: &Path) -> Result<HashMap<String, Vec<String>>, ShlibsError> {
    let mut owners: HashMap<String, Vec<String>> = HashMap::new();
    for (stem, ext) in info_files(info)? {
        if ext != "list" {
            continue;
        }
        let Some(text) = read_text(&info.join(format!("{stem}.list")))? else {
            continue;
        };
        for line in text.lines().filter(|l| l.contains(".so")) {
            let entry = owners.entry(line.to_owned()).or_default();
            if !entry.contains(&stem) {
                entry.push(stem.clone());
            }
        }
    }
    Ok(owners)
}

/// A text file, capped; `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>, ShlibsError> {
    match read_capped(path, TEXT_LIMIT)? {
        Some(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        None => Ok(None),
    }
}

/// A file's bytes, at most `limit`; `None` when it does not exist.
fn read_capped(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, ShlibsError> {
    let read_error = |source| ShlibsError::Read {
        path: path.to_owned(),
        source,
    };
    // Only regular files: a FIFO or a device would block or never end.
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(source)),
    }
    let file = fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(ShlibsError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(Some(bytes))
}

/// The first 64 bytes of a file (an ELF header), fewer if it is shorter;
/// a directory or unreadable file gives none.
fn read_head(path: &Path) -> Result<Vec<u8>, ShlibsError> {
    let mut bytes = Vec::new();
    if !fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(bytes);
    }
    if let Ok(file) = fs::File::open(path) {
        let _ = file.take(64).read_to_end(&mut bytes);
    }
    Ok(bytes)
}

/// Whether the library has a SONAME (read whole, capped).
fn is_public(path: &Path) -> Result<bool, ShlibsError> {
    let Some(bytes) = read_capped(path, LIBRARY_LIMIT)? else {
        return Ok(false);
    };
    Ok(matches!(Elf::parse(&bytes), Ok(Some(elf)) if elf.is_public_library()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("libfifo.so.1");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        assert!(read_head(&fifo).expect("reads").is_empty());
        assert!(read_text(&fifo).expect("reads").is_none());
    }

    #[test]
    fn usr_merge_aliases_go_both_ways() {
        assert_eq!(
            usr_merge_alias("/lib/x/libz.so.1").as_deref(),
            Some("/usr/lib/x/libz.so.1")
        );
        assert_eq!(
            usr_merge_alias("/usr/lib/libz.so.1").as_deref(),
            Some("/lib/libz.so.1")
        );
        assert_eq!(usr_merge_alias("/opt/libz.so.1"), None);
    }

    #[test]
    fn ld_so_conf_includes_are_followed_under_the_root_and_loops_end() {
        let root = tempfile::tempdir().expect("tempdir");
        let etc = root.path().join("etc/ld.so.conf.d");
        fs::create_dir_all(&etc).expect("mkdir");
        fs::write(
            root.path().join("etc/ld.so.conf"),
            "include /etc/ld.so.conf.d/*.conf\n/opt/lib/\n",
        )
        .expect("write");
        fs::write(
            etc.join("a.conf"),
            "# c\n/usr/lib/x86_64-linux-gnu\ninclude /etc/ld.so.conf\n",
        )
        .expect("write");
        fs::write(etc.join("b.conf"), "/lib/x86_64-linux-gnu\n/../../escape\n").expect("write");
        fs::write(etc.join("c.txt"), "/not/included\n").expect("write");
        assert_eq!(
            library_dirs(root.path(), "amd64").expect("dirs"),
            [
                "/lib",
                "/usr/lib",
                "/usr/lib/x86_64-linux-gnu",
                "/lib/x86_64-linux-gnu",
                "/opt/lib",
                "/lib32",
                "/usr/lib32",
                "/lib64",
                "/usr/lib64"
            ]
        );
    }
}

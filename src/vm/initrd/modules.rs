//! Which module files the initramfs holds and in what order `/init` loads
//! them: each wanted module after its dependencies (read from its
//! `.modinfo`), modules built into the kernel left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::elf::modinfo_depends;
use super::InitrdError;

/// The `wanted` modules of a modules directory and their dependencies, each
/// after its dependencies, decompressed.
pub(super) fn resolve(modules_dir: &Path, wanted: &[&str]) -> Result<Vec<Module>, InitrdError> {
    let index = ModuleIndex::load(modules_dir)?;
    let mut resolver = Resolver {
        index: &index,
        visits: HashMap::new(),
        order: Vec::new(),
    };
    for name in wanted {
        resolver.visit(&normalise(name))?;
    }
    Ok(resolver.order)
}

/// The module files under a modules directory, by name, and the names of
/// modules built into the kernel.
struct ModuleIndex {
    dir: PathBuf,
    files: BTreeMap<String, ModuleFile>,
    builtin: BTreeSet<String>,
}

impl ModuleIndex {
    fn load(dir: &Path) -> Result<ModuleIndex, InitrdError> {
        let mut files = BTreeMap::new();
        index_files(dir, &mut files)?;
        let builtin_path = dir.join("modules.builtin");
        let builtin = match fs::read_to_string(&builtin_path) {
            Ok(text) => text
                .lines()
                .filter_map(|line| line.rsplit('/').next())
                .filter_map(split_file_name)
                .map(|(name, _)| name)
                .collect(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => BTreeSet::new(),
            Err(source) => {
                return Err(InitrdError::Read {
                    path: builtin_path,
                    source,
                })
            }
        };
        Ok(ModuleIndex {
            dir: dir.to_owned(),
            files,
            builtin,
        })
    }
}

/// Adds every module file under `dir` to `files`, walking in sorted order so
/// that of two files with one name the same one always wins. Symbolic links
/// (such as `build`, pointing at headers that are not there) are not followed.
fn index_files(dir: &Path, files: &mut BTreeMap<String, ModuleFile>) -> Result<(), InitrdError> {
    let list_error = |source| InitrdError::ListDir {
        path: dir.to_owned(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| {
                    let entry = entry?;
                    Ok((entry.path(), entry.file_type()?))
                })
                .collect::<io::Result<Vec<_>>>()
        })
        .map_err(list_error)?;
    entries.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (path, file_type) in entries {
        if file_type.is_dir() {
            index_files(&path, files)?;
        } else if file_type.is_file() {
            let name = path.file_name().and_then(|name| name.to_str());
            if let Some((name, compression)) = name.and_then(split_file_name) {
                files
                    .entry(name)
                    .or_insert(ModuleFile { path, compression });
            }
        }
    }
    Ok(())
}

/// A module file found in the modules tree.
struct ModuleFile {
    path: PathBuf,
    compression: Compression,
}

/// How a module file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Plain,
    Xz,
    Zstd,
}

/// The normalised module name and compression of a module file name, or
/// None for other files and for names the init script could not quote.
fn split_file_name(file_name: &str) -> Option<(String, Compression)> {
    let (stem, compression) = [
        (".ko", Compression::Plain),
        (".ko.xz", Compression::Xz),
        (".ko.zst", Compression::Zstd),
    ]
    .into_iter()
    .find_map(|(suffix, compression)| Some((file_name.strip_suffix(suffix)?, compression)))?;
    let name = normalise(stem);
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    (!name.is_empty() && name.bytes().all(plain)).then_some((name, compression))
}

/// The kernel treats `-` and `_` in module names alike.
pub(super) fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

/// A module ready for the archive.
pub(super) struct Module {
    /// The name, with `_` for `-`.
    pub(super) name: String,
    /// The uncompressed `.ko` file.
    pub(super) contents: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    InProgress,
    Done,
}

/// A depth-first walk of the dependency graph that appends each module
/// after its dependencies, visiting dependencies in name order so the load
/// order depends only on the modules.
struct Resolver<'a> {
    index: &'a ModuleIndex,
    visits: HashMap<String, Visit>,
    order: Vec<Module>,
}

impl Resolver<'_> {
    fn visit(&mut self, name: &str) -> Result<(), InitrdError> {
        if self.index.builtin.contains(name) {
            return Ok(());
        }
        match self.visits.get(name) {
            Some(Visit::Done) => return Ok(()),
            Some(Visit::InProgress) => {
                return Err(InitrdError::DependencyCycle {
                    name: name.to_owned(),
                    dir: self.index.dir.clone(),
                })
            }
            None => {}
        }
        let file = self
            .index
            .files
            .get(name)
            .ok_or_else(|| InitrdError::MissingModule {
                name: name.to_owned(),
                dir: self.index.dir.clone(),
            })?;
        self.visits.insert(name.to_owned(), Visit::InProgress);
        let contents = read_module(file)?;
        let mut depends = modinfo_depends(&contents).ok_or_else(|| InitrdError::NotModule {
            path: file.path.clone(),
        })?;
        depends.sort();
        for dependency in depends {
            self.visit(&dependency)?;
        }
        self.visits.insert(name.to_owned(), Visit::Done);
        self.order.push(Module {
            name: name.to_owned(),
            contents,
        });
        Ok(())
    }
}

/// Reads a module file, decompressing it: busybox `insmod` may not
/// understand compressed modules.
fn read_module(file: &ModuleFile) -> Result<Vec<u8>, InitrdError> {
    let raw = fs::read(&file.path).map_err(|source| InitrdError::Read {
        path: file.path.clone(),
        source,
    })?;
    let decoded = match file.compression {
        Compression::Plain => return Ok(raw),
        Compression::Xz => {
            let mut out = Vec::new();
            liblzma::bufread::XzDecoder::new_multi_decoder(raw.as_slice())
                .read_to_end(&mut out)
                .map(|_| out)
        }
        Compression::Zstd => zstd::stream::decode_all(raw.as_slice()),
    };
    decoded.map_err(|source| InitrdError::Decompress {
        path: file.path.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use crate::vm::initrd::fixtures::{names, tree};
    use crate::vm::initrd::{build_initrd, InitrdError};
    use pretty_assertions::assert_eq;
    use std::fs;

    #[test]
    fn loads_dependencies_first_and_skips_built_in_modules() {
        let tree = tree();
        let initrd = build_initrd(&tree.modules, &tree.busybox, &["a", "e", "f_g", "d"])
            .expect("build initrd");
        assert_eq!(initrd.modules, names(&["d", "b", "c_dash", "a"]));
    }

    #[test]
    fn missing_wanted_module_is_an_error() {
        let tree = tree();
        let error = build_initrd(&tree.modules, &tree.busybox, &["a", "nope"])
            .expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::MissingModule { name, dir } if name == "nope" && *dir == tree.modules),
            "{error:?}"
        );
    }

    #[test]
    fn missing_dependency_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["x"]).expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::MissingModule { name, .. } if name == "y"),
            "{error:?}"
        );
    }

    #[test]
    fn dependency_cycle_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["p"]).expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::DependencyCycle { name, .. } if name == "p"),
            "{error:?}"
        );
    }

    #[test]
    fn file_without_modinfo_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["junk"]).expect_err("build should fail");
        let path = tree.modules.join("kernel/junk.ko");
        assert!(
            matches!(&error, InitrdError::NotModule { path: p } if *p == path),
            "{error:?}"
        );
    }

    #[test]
    fn corrupt_compressed_module_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["broken"]).expect_err("build should fail");
        let path = tree.modules.join("kernel/broken.ko.xz");
        assert!(
            matches!(&error, InitrdError::Decompress { path: p, .. } if *p == path),
            "{error:?}"
        );
    }

    #[test]
    fn modules_builtin_is_optional() {
        let tree = tree();
        fs::remove_file(tree.modules.join("modules.builtin")).expect("remove");
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["a"]).expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::MissingModule { name, .. } if name == "e"),
            "{error:?}"
        );
    }
}

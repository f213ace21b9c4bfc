//! The pool: where each .deb lives (`pool/<component>/<prefix>/<source>/`),
//! what is already there, and the durable copy of new ones.

use std::path::{Path, PathBuf};

use crate::apt::entry::Incoming;
use crate::apt::fsutil::{self, SyncBatch};
use crate::apt::{parallel, AptError};

/// `pool/<component>/<prefix>/<source>/<file>`, with Debian's `libX` prefixes.
pub fn pool_path(component: &str, source: &str, file: &str) -> String {
    // `source` passed `deb::check_source` (ASCII); `get` keeps even other text from panicking.
    let prefix = match source.get(..4) {
        Some(lib) if lib.starts_with("lib") => lib,
        _ => source.get(..1).unwrap_or_default(),
    };
    format!("pool/{component}/{prefix}/{source}/{file}")
}

/// Reads and checks every .deb, on all cores.
pub(super) fn read_all(debs: &[PathBuf]) -> Result<Vec<Incoming>, AptError> {
    parallel::map(debs, parallel::cores(), "a reader thread panicked", |p| {
        Incoming::read(p)
    })
}

/// What the pool holds at a .deb's place, compared with the .deb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PoolFile {
    /// Nothing.
    Missing,
    /// The same bytes.
    Same,
    /// A strict prefix of them: a copy cut short (a power loss before the sync).
    Truncated,
    /// Other bytes.
    Different,
}

/// Compares the pool file at `target` with the .deb at `deb_path`.
pub(super) fn pool_file(
    target: &Path,
    deb_path: &Path,
    deb: &Incoming,
) -> Result<PoolFile, AptError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| AptError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let existing = match std::fs::read(target) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PoolFile::Missing),
        Err(source) => {
            return Err(AptError::Io {
                path: target.to_owned(),
                source,
            })
        }
    };
    if existing.len() as u64 == deb.size
        && hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&existing)) == deb.sha256
    {
        return Ok(PoolFile::Same);
    }
    let incoming = read(deb_path)?;
    Ok(if incoming.starts_with(&existing) {
        PoolFile::Truncated
    } else {
        PoolFile::Different
    })
}

/// Copies each .deb to its pool place durably: into a temporary file
/// beside it, all data synced, then renamed over the target. The renames'
/// directories are left in the returned batch, to be synced before the
/// publish that refers to them (or at once when nothing is published).
pub(super) fn write_pool(writes: &[(&PathBuf, PathBuf)]) -> Result<SyncBatch, AptError> {
    let mut batch = SyncBatch::default();
    let mut staged = Vec::new();
    for (from, to) in writes {
        let err = |source| AptError::Io {
            path: to.clone(),
            source,
        };
        let dir = crate::fsutil::parent(to);
        fsutil::create_dirs(dir, &mut batch)?;
        let tmp = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempfile_in(dir)
            .map_err(err)?;
        std::fs::copy(from, tmp.path()).map_err(err)?;
        fsutil::set_mode(tmp.path(), 0o644).map_err(err)?;
        batch.data(tmp.path());
        staged.push((tmp, to));
    }
    batch.commit()?;
    for (tmp, to) in staged {
        tmp.persist(to).map_err(|e| AptError::Io {
            path: to.clone(),
            source: e.error,
        })?;
        batch.dir(crate::fsutil::parent(to));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_paths_follow_debian() {
        assert_eq!(
            pool_path("main", "hello", "hello_1_all.deb"),
            "pool/main/h/hello/hello_1_all.deb"
        );
        assert_eq!(
            pool_path("main", "libfoo", "libfoo1_1_amd64.deb"),
            "pool/main/libf/libfoo/libfoo1_1_amd64.deb"
        );
        assert_eq!(
            pool_path("contrib", "lib", "lib_1_all.deb"),
            "pool/contrib/l/lib/lib_1_all.deb"
        );
    }
}

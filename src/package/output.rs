//! Where the `.deb` files land: every package of a run is written into a
//! staging directory beside its final place and moved in only when every
//! one succeeded, so a failure leaves no partial set behind.

use std::path::{Path, PathBuf};

use super::PackageError;
use crate::deb::WrittenDeb;

/// A staging directory inside the output directory; removed when dropped.
pub(super) struct Staging {
    out_dir: PathBuf,
    dir: tempfile::TempDir,
}

impl Staging {
    /// Creates `out_dir` if needed and a staging directory in it.
    pub(super) fn new(out_dir: &Path) -> Result<Self, PackageError> {
        let out_err = |source| PackageError::Io {
            path: out_dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(out_dir).map_err(out_err)?;
        let dir = tempfile::Builder::new()
            .prefix(".buildkit-staging-")
            .tempdir_in(out_dir)
            .map_err(out_err)?;
        Ok(Self {
            out_dir: out_dir.to_owned(),
            dir,
        })
    }

    /// Where the packages are written first.
    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Moves each package into the output directory and points its path there.
    pub(super) fn publish(self, debs: &mut [WrittenDeb]) -> Result<(), PackageError> {
        for deb in debs {
            let target = self.out_dir.join(deb.path.file_name().unwrap_or_default());
            std::fs::rename(&deb.path, &target).map_err(|source| PackageError::Io {
                path: target.clone(),
                source,
            })?;
            deb.path = target;
        }
        Ok(())
    }
}

//! Why an initramfs could not be built, naming the file or module.

use std::io;
use std::path::PathBuf;

/// Why an initramfs could not be built.
#[derive(Debug, thiserror::Error)]
pub enum InitrdError {
    /// A directory of the modules tree could not be listed.
    #[error("could not list kernel modules in {path}")]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file (module, `modules.builtin`, busybox) could not be read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A wanted module or one of its dependencies is nowhere to be found.
    #[error("kernel module {name} is neither in {dir} nor built into the kernel")]
    MissingModule {
        /// The module name, with `_` for `-`.
        name: String,
        /// The modules directory searched.
        dir: PathBuf,
    },
    /// A compressed module did not decompress.
    #[error("could not decompress kernel module {path}")]
    Decompress {
        /// The compressed module.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A module file is not a 64-bit little-endian ELF file with a `.modinfo` section.
    #[error("{path} is not a kernel module with a .modinfo section")]
    NotModule {
        /// The module file.
        path: PathBuf,
    },
    /// Modules depend on each other in a circle, so no load order exists.
    #[error("kernel module {name} in {dir} depends on itself through its dependencies")]
    DependencyCycle {
        /// A module on the cycle.
        name: String,
        /// The modules directory.
        dir: PathBuf,
    },
    /// A file does not fit the 32-bit size field of a cpio entry.
    #[error("{name} is too large for a cpio archive")]
    TooLarge {
        /// The path inside the archive.
        name: String,
    },
}

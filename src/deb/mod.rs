//! Debian binary packages: the control stanza, the data tree, and the `.deb`
//! container itself (ar + tar + compression), written and read natively.
//!
//! This module knows nothing of git, repositories or configuration files; it
//! turns a [`PackageSpec`] into bytes on disk ([`write_deb`]) and bytes on disk
//! back into a [`DebInfo`] ([`read_deb`]). The byte layout follows dpkg-deb
//! (see `deb(5)` and dpkg's `src/deb/build.c`) so that `dpkg-deb`, `lintian`
//! and apt read our files exactly as they read dpkg's.

mod ar;
mod compress;
mod control;
mod dir;
mod error;
mod fields;
mod pgzip;
mod reader;
mod tar;
mod tree;
mod writer;

pub use ar::{read_header as read_ar_header, HeaderError as ArHeaderError, MemberHeader};

pub use compress::Compression;
pub use control::{Control, ControlError, FIELD_ORDER};
pub use dir::spec_from_dir;
pub use error::DebError;
pub use fields::{check_architecture, check_package_name, check_source};
pub use pgzip::{deflate_piece, GZIP_HEADER, WINDOW as DEFLATE_WINDOW};
#[cfg(test)]
pub(crate) use reader::read_bytes as reader_for_tests;
pub use reader::{read_deb, DebInfo, EntryInfo, EntryKind as InfoEntryKind, Limits};
pub use tree::{DataTree, Entry, EntryKind, FileSource};
pub use writer::{gzip_n, write_deb, ControlFile, DirStamp, OnDisk, PackageSpec, WrittenDeb};

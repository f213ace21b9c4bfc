//! What debhelper does for a package, done natively (issue 12): the
//! dependencies of its ELF files on shared libraries (dh_shlibdeps), the
//! `shlibs` file and `ldconfig` trigger of the libraries it ships
//! (dh_makeshlibs), stripping with the debug information kept in a
//! `-dbgsym` package (dh_strip), and the maintainer-script snippets of its
//! systemd units (dh_installsystemd).

pub mod scripts;
pub mod systemd;

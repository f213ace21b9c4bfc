//! DEP-8 test descriptions: `debian/tests/control`, the file autopkgtest
//! reads (`doc/README.package-tests.rst` in autopkgtest,
//! <https://salsa.debian.org/ci-team/autopkgtest/-/blob/master/doc/README.package-tests.rst>).
//!
//! Packagers already describe their as-installed tests this way, so the VM
//! runner reads the same file instead of a format of our own. Where the
//! document is silent we do what autopkgtest's `lib/testdesc.py` does:
//!
//! * `#` starts a comment anywhere on a line, so a `#` inside a
//!   `Test-Command` starts a comment too; a line that only held a comment is
//!   dropped, so it neither ends a stanza nor breaks a continuation;
//! * continuation lines are joined to their field with one space: a
//!   multi-line `Test-Command` is one shell line;
//! * `Test-Command` stanzas are named `command1`, `command2`, … by their
//!   position among such stanzas, unless `Features: test-name=NAME` names
//!   one (which then takes no number);
//! * `needs-sudo` adds `sudo` to the test's dependencies.
//!
//! Our runner is a throw-away VM: root, no internet, no source tree. A test
//! that needs what it cannot offer is *skipped with a reason*, as
//! autopkgtest skips a test its testbed cannot run, and so is a stanza with
//! an unknown field or a test with an unknown restriction. A file
//! autopkgtest would call broken (a stanza with no test, `Tests` and
//! `Test-Command` together, an unsafe test name) is an error.
//!
//! `@recommends@` and the deprecated `needs-recommends` skip the test too:
//! the runner does not know the Recommends of the source's packages, and a
//! test run without what it asked for fails for the wrong reason. A skip is
//! reported; a false failure blocks a release.
//!
//! The parts: `stanza` reads the file into fields, `parser` turns each
//! stanza into tests (`model`), naming them and finding their scripts
//! (`names`), expanding `Depends` (`depends`) and deciding what to skip
//! (`skip`); `error` says why a file is refused.

mod depends;
mod error;
#[cfg(test)]
mod fixtures;
mod model;
mod names;
mod parser;
mod skip;
mod stanza;

pub use error::Dep8Error;
pub use model::{Dep8Test, TestKind};
pub use parser::parse;

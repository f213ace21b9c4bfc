//! Integration tests: the real `git-buildkit` binary on scripted git
//! repositories, judged by the real tools a user has (`git`, `dpkg-deb`,
//! `lintian`, `dpkg --compare-versions`). One test binary, so cargo links once.

mod common;

mod deb_cmd;
mod docs;
mod errors;
mod flow;
mod package;
mod pipeline;
mod repo;
mod untrusted_deb;
mod version_cmd;
mod vm;

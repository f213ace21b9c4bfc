//! git-buildkit: from a version tag to a tested Debian package in a signed
//! apt repository.
//!
//! The library holds every stage as a function with typed input and output;
//! it never parses argv and never prints. Progress reaches the caller through
//! the [`progress::Listener`] trait. The binary (`src/main.rs`, `src/cli/`)
//! turns argv into calls and results into text, JSON and exit codes.

pub mod apt;
pub mod changelog;
pub mod config;
pub mod deb;
pub mod deb822;
pub mod debhelper;
pub mod doctor;
pub mod exit;
pub mod flow;
pub mod fsutil;
pub mod git;
pub mod hooks;
pub mod lines;
pub mod names;
pub mod package;
pub mod paths;
pub mod pipeline;
pub mod process;
pub mod progress;
pub mod proxy;
pub mod python;
pub mod serve;
pub mod sign;
pub mod template;
pub mod time;
pub mod version;
pub mod vm;

#[cfg(test)]
mod proptests;

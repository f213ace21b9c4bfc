//! Integration tests: the real `git-buildkit` binary on scripted git
//! repositories, judged by the real tools a user has (`git`, `dpkg-deb`,
//! `lintian`, `dpkg --compare-versions`). One test binary, so cargo links once.

mod common;

mod build_path;
mod build_safety;
mod cache;
mod config_reference;
mod dbgsym;
mod deb_cmd;
mod debhelper;
mod docs;
mod doctor;
mod errors;
mod fetch_and_queue;
mod flow;
mod flow_commands;
mod flow_finish;
mod flow_safety;
mod gated;
mod house;
mod mirror;
mod mirror_faults;
mod package;
mod pipeline;
mod python_deb;
mod python_package;
mod repo;
mod self_release;
mod serve_load;
mod serving;
mod shlibdeps;
mod source_release;
mod systemd;
mod template_python;
mod template_rust;
mod template_service;
mod templates;
mod tour;
mod untrusted_deb;
mod verify;
mod version_cmd;
mod vm;
mod vm_debian;
mod vm_exec;
mod vm_hostile;
mod vm_matrix;
mod vm_python;
mod vm_systemd;
mod vm_upgrade;
mod vm_warm;
mod wheelhouse;
mod wheels;
mod worktree;

//! VM smoke tests: a base image built once per recipe ([`image`]), a
//! throw-away qcow2 overlay booted per test ([`run`]) with the qemu argv
//! from a pure function ([`qemu`]), the packages installed with apt from
//! the tag's signed repository ([`job`]), and the verdict read back from
//! framed lines on a serial port ([`verdict`]). The `[vm]` values are
//! typed in [`values`]. A kept run's VM stays up after its verdict
//! ([`kept`]) and runs commands on request ([`exec`]). With an earlier
//! version released, the same boot tests the upgrade from it, a purge and
//! a clean reinstall ([`upgrade`]). The same tests on several Debian
//! releases give one verdict per suite ([`matrix`]).
//!
//! A run takes a plan as plain data ([`run::RunSpec`]: the image, the guest
//! mode and size, the served repository directory with its key and suite,
//! the packages with exact versions, the tests and their scripts' bytes)
//! and returns a [`Verdict`]. What a tag means — its git tree, its
//! `.buildkit.toml`, the `.deb` files published for it — is resolved on the
//! pipeline side (`pipeline::vm_plan`): this module knows a repository only
//! as the directory it serves.

pub mod connections;
pub mod dep8;
mod error;
pub mod exec;
pub mod image;
pub mod initrd;
pub mod job;
pub mod junit;
pub mod kept;
pub mod kernel;
pub mod limits;
pub mod matrix;
pub mod plan;
pub mod qemu;
pub mod qmp;
pub mod run;
pub mod sources;
pub mod upgrade;
pub mod values;
pub mod verdict;
pub mod warm;

pub use error::VmError;
pub use image::{Image, ImageStore, Recipe, DEFAULT_IMAGE};
pub use qemu::{Accel, GuestMode};
pub use verdict::{TestOutcome, TestResult, Verdict, VerdictKind};

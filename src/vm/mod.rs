//! VM smoke tests: a base image built once per recipe ([`image`]), a
//! throw-away qcow2 overlay booted per test ([`run`]) with the qemu argv
//! from a pure function ([`qemu`]), the packages installed with apt from
//! the tag's signed repository ([`job`]), and the verdict read back from
//! framed lines on a serial port ([`verdict`]). The `[vm]` values are
//! typed in [`values`].

pub mod connections;
pub mod dep8;
mod error;
pub mod image;
pub mod initrd;
pub mod job;
pub mod junit;
pub mod kernel;
pub mod limits;
pub mod plan;
pub mod qemu;
pub mod run;
pub mod tag;
pub mod values;
pub mod verdict;

pub use error::VmError;
pub use image::{Image, ImageStore, Recipe};
pub use qemu::{Accel, GuestMode};
pub use verdict::{TestOutcome, TestResult, Verdict, VerdictKind};

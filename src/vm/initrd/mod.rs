//! The initramfs that lets a stock Debian kernel mount its root disk.
//!
//! Debian's kernel keeps virtio and ext4 as modules, so booting it directly
//! (qemu `-kernel`) needs an initramfs that loads them. Running
//! `mkinitramfs` would need the kernel installed on the host and root, so we
//! write a minimal one ourselves: a static busybox, the modules the guest
//! needs (dependencies resolved from each module's `.modinfo`, because the
//! package ships no `modules.dep`; depmod writes it in postinst) and an
//! `/init` script that loads them and switches to the real root.
//!
//! The archive is an uncompressed cpio "newc" archive (the format the kernel
//! unpacks, see <https://docs.kernel.org/driver-api/early-userspace/buffer-format.html>):
//! decompressing it under software emulation would cost more than reading
//! it. Every owner, time and inode number is fixed, so the same inputs give
//! the same bytes.
//!
//! The parts: `modules` finds the wanted modules and their dependencies
//! (reading each one's `.modinfo` with `elf`), `init` writes the `/init`
//! script, `cpio` the archive, and `build` puts them together.

mod build;
mod cpio;
mod elf;
mod error;
#[cfg(test)]
mod fixtures;
mod init;
mod modules;

pub use build::{build_initrd, Initrd};
pub use error::InitrdError;

/// The modules the guest needs before it can mount its root and reach the network.
pub const GUEST_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "virtio_rng",
    "crc32c_generic",
    "ext4",
];

//! The entry point: the wanted modules resolved, then the directory tree,
//! `/dev/console`, busybox, `/init` and the modules written into one archive.

use std::fmt;
use std::fs;
use std::path::Path;

use super::cpio::{Cpio, CHAR_DEVICE, DIR, FILE};
use super::init::init_script;
use super::modules::resolve;
use super::InitrdError;

/// An initramfs image ready to hand to qemu's `-initrd`.
#[derive(Clone, PartialEq, Eq)]
pub struct Initrd {
    /// The cpio "newc" archive, uncompressed.
    pub bytes: Vec<u8>,
    /// The modules `/init` loads, in load order (dependencies first), names only.
    pub modules: Vec<String>,
}

impl fmt::Debug for Initrd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Initrd")
            .field("bytes", &format_args!("[{} bytes]", self.bytes.len()))
            .field("modules", &self.modules)
            .finish()
    }
}

/// The directories of the initramfs, parents first; `/init` mounts onto
/// most of them.
const DIRECTORIES: [&str; 8] = [
    "bin",
    "dev",
    "proc",
    "sys",
    "run",
    "newroot",
    "lib",
    "lib/modules",
];

/// Builds the initramfs from an unpacked kernel package's modules directory
/// (`lib/modules/<version>`, under `usr/` from trixie on), a static busybox
/// and the modules the guest needs (usually
/// [`GUEST_MODULES`](super::GUEST_MODULES)) with their dependencies.
pub fn build_initrd(
    modules_dir: &Path,
    busybox: &Path,
    wanted: &[&str],
) -> Result<Initrd, InitrdError> {
    let loaded = resolve(modules_dir, wanted)?;
    let modules: Vec<String> = loaded.iter().map(|module| module.name.clone()).collect();

    let mut cpio = Cpio::default();
    for dir in DIRECTORIES {
        cpio.entry(dir, DIR | 0o755, 2, (0, 0), &[])?;
    }
    // The kernel opens /dev/console from the initramfs for /init's stdio,
    // before anything could mount devtmpfs.
    cpio.entry("dev/console", CHAR_DEVICE | 0o600, 1, (5, 1), &[])?;
    let busybox_bytes = fs::read(busybox).map_err(|source| InitrdError::Read {
        path: busybox.to_owned(),
        source,
    })?;
    cpio.entry("bin/busybox", FILE | 0o755, 1, (0, 0), &busybox_bytes)?;
    let script = init_script(&modules);
    cpio.entry("init", FILE | 0o755, 1, (0, 0), script.as_bytes())?;
    for module in &loaded {
        let name = format!("lib/modules/{}.ko", module.name);
        cpio.entry(&name, FILE | 0o644, 1, (0, 0), &module.contents)?;
    }
    Ok(Initrd {
        bytes: cpio.finish(),
        modules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::initrd::cpio::newc::{member, read_newc};
    use crate::vm::initrd::fixtures::{fake_ko, names, tree};
    use pretty_assertions::assert_eq;
    use std::process::Command;

    #[test]
    fn archive_holds_the_tree_init_and_decompressed_modules() {
        let tree = tree();
        let initrd = build_initrd(&tree.modules, &tree.busybox, &["b"]).expect("build initrd");
        let dir = |ino, name| member(ino, name, 0o040_755, 2, (0, 0), b"");
        let script = init_script(&names(&["d", "b"]));
        let expected = vec![
            dir(1, "bin"),
            dir(2, "dev"),
            dir(3, "proc"),
            dir(4, "sys"),
            dir(5, "run"),
            dir(6, "newroot"),
            dir(7, "lib"),
            dir(8, "lib/modules"),
            member(9, "dev/console", 0o020_600, 1, (5, 1), b""),
            member(
                10,
                "bin/busybox",
                0o100_755,
                1,
                (0, 0),
                b"\x7fELF static busybox",
            ),
            member(11, "init", 0o100_755, 1, (0, 0), script.as_bytes()),
            member(
                12,
                "lib/modules/d.ko",
                0o100_644,
                1,
                (0, 0),
                &fake_ko("name=d\0"),
            ),
            member(
                13,
                "lib/modules/b.ko",
                0o100_644,
                1,
                (0, 0),
                &fake_ko("depends=d\0name=b\0"),
            ),
        ];
        assert_eq!(read_newc(&initrd.bytes), expected);
    }

    #[test]
    fn builds_are_byte_identical() {
        let first = tree();
        let second = tree();
        let one = build_initrd(&first.modules, &first.busybox, &["a"]).expect("build initrd");
        let two = build_initrd(&second.modules, &second.busybox, &["a"]).expect("build initrd");
        assert!(one.bytes == two.bytes, "two builds differ");
    }

    #[test]
    fn real_cpio_lists_the_archive() {
        if Command::new("cpio").arg("--version").output().is_err() {
            return; // cpio is not installed; read_newc above is the check.
        }
        let tree = tree();
        let initrd = build_initrd(&tree.modules, &tree.busybox, &["b"]).expect("build initrd");
        let archive = tree.modules.join("initrd.cpio");
        fs::write(&archive, &initrd.bytes).expect("write archive");
        let output = Command::new("cpio")
            .args(["-t", "--quiet", "-F"])
            .arg(&archive)
            .output()
            .expect("run");
        assert!(output.status.success(), "{output:?}");
        let listed = String::from_utf8(output.stdout).expect("UTF-8 listing");
        let expected = "bin\ndev\nproc\nsys\nrun\nnewroot\nlib\nlib/modules\ndev/console\n\
                        bin/busybox\ninit\nlib/modules/d.ko\nlib/modules/b.ko\n";
        assert_eq!(listed, expected);
    }

    #[test]
    fn missing_busybox_is_a_read_error() {
        let tree = tree();
        let busybox = tree.modules.join("no-busybox");
        let error = build_initrd(&tree.modules, &busybox, &[]).expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::Read { path, .. } if *path == busybox),
            "{error:?}"
        );
    }
}

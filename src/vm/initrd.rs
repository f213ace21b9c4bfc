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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The modules the guest needs before it can mount its root and reach the network.
pub const GUEST_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "virtio_rng",
    "crc32c_generic",
    "ext4",
];

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

/// Why an initramfs could not be built.
#[derive(Debug, thiserror::Error)]
pub enum InitrdError {
    /// A directory of the modules tree could not be listed.
    #[error("could not list kernel modules in {path}")]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file (module, `modules.builtin`, busybox) could not be read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A wanted module or one of its dependencies is nowhere to be found.
    #[error("kernel module {name} is neither in {dir} nor built into the kernel")]
    MissingModule {
        /// The module name, with `_` for `-`.
        name: String,
        /// The modules directory searched.
        dir: PathBuf,
    },
    /// A compressed module did not decompress.
    #[error("could not decompress kernel module {path}")]
    Decompress {
        /// The compressed module.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A module file is not a 64-bit little-endian ELF file with a `.modinfo` section.
    #[error("{path} is not a kernel module with a .modinfo section")]
    NotModule {
        /// The module file.
        path: PathBuf,
    },
    /// Modules depend on each other in a circle, so no load order exists.
    #[error("kernel module {name} in {dir} depends on itself through its dependencies")]
    DependencyCycle {
        /// A module on the cycle.
        name: String,
        /// The modules directory.
        dir: PathBuf,
    },
    /// A file does not fit the 32-bit size field of a cpio entry.
    #[error("{name} is too large for a cpio archive")]
    TooLarge {
        /// The path inside the archive.
        name: String,
    },
}

/// Builds the initramfs from an unpacked kernel package's modules directory
/// (`lib/modules/<version>`, under `usr/` from trixie on), a static busybox
/// and the modules the guest needs (usually [`GUEST_MODULES`]) with their
/// dependencies.
pub fn build_initrd(
    modules_dir: &Path,
    busybox: &Path,
    wanted: &[&str],
) -> Result<Initrd, InitrdError> {
    let index = ModuleIndex::load(modules_dir)?;
    let mut resolver = Resolver {
        index: &index,
        visits: HashMap::new(),
        order: Vec::new(),
    };
    for name in wanted {
        resolver.visit(&normalise(name))?;
    }
    let loaded = resolver.order;
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

/// The `/init` script: mount the kernel's file systems, load `modules` in
/// order, wait for the root device named by `root=` (default `/dev/vda`),
/// mount it and switch to `init=` (default `/sbin/init`).
fn init_script(modules: &[String]) -> String {
    let loads: String = modules
        .iter()
        .map(|name| format!("load {name}\n"))
        .collect();
    format!(
        r#"#!/bin/busybox sh
# Written by git-buildkit: load the drivers Debian's kernel keeps as modules,
# mount the root file system named on the kernel command line, run its init.

# `--install` finds busybox through /proc/self/exe, so mount /proc first.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
grep -q " /dev devtmpfs " /proc/mounts || mount -t devtmpfs devtmpfs /dev

load() {{
	insmod "/lib/modules/$1.ko" || echo "initrd: could not load $1"
}}
{loads}
root=/dev/vda
init=/sbin/init
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	root=*) root="${{arg#root=}}" ;;
	init=*) init="${{arg#init=}}" ;;
	esac
done

# Like rootwait: the disk appears once its driver has probed it (up to 10 s).
i=0
while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

if ! mount -t ext4 -o rw "$root" /newroot; then
	echo "initrd: cannot mount $root"
	# Stop at once: the host reads a stop without its end marker as a
	# testbed failure, sooner than any timeout would.
	echo 1 > /proc/sys/kernel/sysrq
	echo o > /proc/sysrq-trigger
	# The sysrq power-off is asynchronous; never go on to switch_root.
	sleep 5
	poweroff -f
fi

# Everything the guest's user space would mount with a few dynamically
# linked programs is mounted here by static busybox, which under software
# emulation starts many times faster: /dev, /proc, /sys, /run, /tmp and the
# job disk (the second virtio disk, read-only), when there is one.
mkdir -p /newroot/dev /newroot/proc /newroot/sys /newroot/run /newroot/tmp
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620 devpts /newroot/dev/pts
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/dev/shm
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /newroot/run
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/tmp
if [ -b /newroot/dev/vdb ]; then
	mkdir -p /newroot/run/bk/job
	mount -t ext4 -o ro /newroot/dev/vdb /newroot/run/bk/job ||
		echo "initrd: cannot mount the job disk /dev/vdb"
fi
mount --move /sys /newroot/sys
mount --move /proc /newroot/proc
exec switch_root /newroot "$init"
"#
    )
}

/// The module files under a modules directory, by name, and the names of
/// modules built into the kernel.
struct ModuleIndex {
    dir: PathBuf,
    files: BTreeMap<String, ModuleFile>,
    builtin: BTreeSet<String>,
}

impl ModuleIndex {
    fn load(dir: &Path) -> Result<ModuleIndex, InitrdError> {
        let mut files = BTreeMap::new();
        index_files(dir, &mut files)?;
        let builtin_path = dir.join("modules.builtin");
        let builtin = match fs::read_to_string(&builtin_path) {
            Ok(text) => text
                .lines()
                .filter_map(|line| line.rsplit('/').next())
                .filter_map(split_file_name)
                .map(|(name, _)| name)
                .collect(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => BTreeSet::new(),
            Err(source) => {
                return Err(InitrdError::Read {
                    path: builtin_path,
                    source,
                })
            }
        };
        Ok(ModuleIndex {
            dir: dir.to_owned(),
            files,
            builtin,
        })
    }
}

/// Adds every module file under `dir` to `files`, walking in sorted order so
/// that of two files with one name the same one always wins. Symbolic links
/// (such as `build`, pointing at headers that are not there) are not followed.
fn index_files(dir: &Path, files: &mut BTreeMap<String, ModuleFile>) -> Result<(), InitrdError> {
    let list_error = |source| InitrdError::ListDir {
        path: dir.to_owned(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| {
                    let entry = entry?;
                    Ok((entry.path(), entry.file_type()?))
                })
                .collect::<io::Result<Vec<_>>>()
        })
        .map_err(list_error)?;
    entries.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (path, file_type) in entries {
        if file_type.is_dir() {
            index_files(&path, files)?;
        } else if file_type.is_file() {
            let name = path.file_name().and_then(|name| name.to_str());
            if let Some((name, compression)) = name.and_then(split_file_name) {
                files
                    .entry(name)
                    .or_insert(ModuleFile { path, compression });
            }
        }
    }
    Ok(())
}

/// A module file found in the modules tree.
struct ModuleFile {
    path: PathBuf,
    compression: Compression,
}

/// How a module file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Plain,
    Xz,
    Zstd,
}

/// The normalised module name and compression of a module file name, or
/// None for other files and for names the init script could not quote.
fn split_file_name(file_name: &str) -> Option<(String, Compression)> {
    let (stem, compression) = [
        (".ko", Compression::Plain),
        (".ko.xz", Compression::Xz),
        (".ko.zst", Compression::Zstd),
    ]
    .into_iter()
    .find_map(|(suffix, compression)| Some((file_name.strip_suffix(suffix)?, compression)))?;
    let name = normalise(stem);
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    (!name.is_empty() && name.bytes().all(plain)).then_some((name, compression))
}

/// The kernel treats `-` and `_` in module names alike.
fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

/// A module ready for the archive.
struct Module {
    name: String,
    /// The uncompressed `.ko` file.
    contents: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    InProgress,
    Done,
}

/// A depth-first walk of the dependency graph that appends each module
/// after its dependencies, visiting dependencies in name order so the load
/// order depends only on the modules.
struct Resolver<'a> {
    index: &'a ModuleIndex,
    visits: HashMap<String, Visit>,
    order: Vec<Module>,
}

impl Resolver<'_> {
    fn visit(&mut self, name: &str) -> Result<(), InitrdError> {
        if self.index.builtin.contains(name) {
            return Ok(());
        }
        match self.visits.get(name) {
            Some(Visit::Done) => return Ok(()),
            Some(Visit::InProgress) => {
                return Err(InitrdError::DependencyCycle {
                    name: name.to_owned(),
                    dir: self.index.dir.clone(),
                })
            }
            None => {}
        }
        let file = self
            .index
            .files
            .get(name)
            .ok_or_else(|| InitrdError::MissingModule {
                name: name.to_owned(),
                dir: self.index.dir.clone(),
            })?;
        self.visits.insert(name.to_owned(), Visit::InProgress);
        let contents = read_module(file)?;
        let mut depends = modinfo_depends(&contents).ok_or_else(|| InitrdError::NotModule {
            path: file.path.clone(),
        })?;
        depends.sort();
        for dependency in depends {
            self.visit(&dependency)?;
        }
        self.visits.insert(name.to_owned(), Visit::Done);
        self.order.push(Module {
            name: name.to_owned(),
            contents,
        });
        Ok(())
    }
}

/// Reads a module file, decompressing it: busybox `insmod` may not
/// understand compressed modules.
fn read_module(file: &ModuleFile) -> Result<Vec<u8>, InitrdError> {
    let raw = fs::read(&file.path).map_err(|source| InitrdError::Read {
        path: file.path.clone(),
        source,
    })?;
    let decoded = match file.compression {
        Compression::Plain => return Ok(raw),
        Compression::Xz => {
            let mut out = Vec::new();
            liblzma::bufread::XzDecoder::new_multi_decoder(raw.as_slice())
                .read_to_end(&mut out)
                .map(|_| out)
        }
        Compression::Zstd => zstd::stream::decode_all(raw.as_slice()),
    };
    decoded.map_err(|source| InitrdError::Decompress {
        path: file.path.clone(),
        source,
    })
}

/// The names in the `depends=` entry of a module's `.modinfo` section (no
/// entry means no dependencies), or None when the file is not an ELF64
/// little-endian object with such a section.
fn modinfo_depends(module: &[u8]) -> Option<Vec<String>> {
    let modinfo = elf_section(module, b".modinfo")?;
    let depends = modinfo
        .split(|&b| b == 0)
        .find_map(|entry| entry.strip_prefix(b"depends="))
        .unwrap_or_default();
    Some(
        depends
            .split(|&b| b == b',')
            .filter(|name| !name.is_empty())
            .map(|name| normalise(&String::from_utf8_lossy(name)))
            .collect(),
    )
}

/// The contents of the section called `wanted` in an ELF64 little-endian
/// file (amd64 modules), per the System V ABI's section header layout.
fn elf_section<'a>(elf: &'a [u8], wanted: &[u8]) -> Option<&'a [u8]> {
    const SECTION_HEADER_LEN: usize = 64;
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let table = usize::try_from(u64::from_le_bytes(le(elf, 0x28)?)).ok()?;
    let entry_len = usize::from(u16::from_le_bytes(le(elf, 0x3a)?));
    if entry_len < SECTION_HEADER_LEN {
        return None;
    }
    let header = |index: usize| {
        let start = index.checked_mul(entry_len)?.checked_add(table)?;
        elf.get(start..start.checked_add(SECTION_HEADER_LEN)?)
    };
    let body = |header: &[u8]| {
        let offset = usize::try_from(u64::from_le_bytes(le(header, 0x18)?)).ok()?;
        let size = usize::try_from(u64::from_le_bytes(le(header, 0x20)?)).ok()?;
        elf.get(offset..offset.checked_add(size)?)
    };
    // Files with very many sections keep the count and the name table's
    // index in the first section header instead.
    let count = match u16::from_le_bytes(le(elf, 0x3c)?) {
        0 => usize::try_from(u64::from_le_bytes(le(header(0)?, 0x20)?)).ok()?,
        n => usize::from(n),
    };
    let names_index = match u16::from_le_bytes(le(elf, 0x3e)?) {
        0xffff => usize::try_from(u32::from_le_bytes(le(header(0)?, 0x28)?)).ok()?,
        n => usize::from(n),
    };
    let names = body(header(names_index)?)?;
    (0..count).filter_map(header).find_map(|header| {
        let name_at = usize::try_from(u32::from_le_bytes(le(header, 0)?)).ok()?;
        let name = names.get(name_at..)?.split(|&b| b == 0).next()?;
        if name == wanted {
            body(header)
        } else {
            None
        }
    })
}

/// The `N` bytes at `at`, for the `from_le_bytes` constructors.
fn le<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// File type bits of a cpio mode (from `<sys/stat.h>`).
const DIR: u32 = 0o040_000;
const CHAR_DEVICE: u32 = 0o020_000;
const FILE: u32 = 0o100_000;

/// A cpio "newc" archive being written, owner root and time zero throughout.
#[derive(Default)]
struct Cpio {
    bytes: Vec<u8>,
    /// The last inode number given out; entries are numbered from 1.
    inode: u32,
}

impl Cpio {
    /// Appends an entry; `rdev` is the (major, minor) of a device node.
    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Result<(), InitrdError> {
        let size = u32::try_from(data.len()).map_err(|_| InitrdError::TooLarge {
            name: name.to_owned(),
        })?;
        self.inode += 1;
        self.raw_entry(self.inode, name, mode, nlink, rdev, size);
        self.bytes.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    /// Ends the archive with its `TRAILER!!!` entry.
    fn finish(mut self) -> Vec<u8> {
        self.raw_entry(0, "TRAILER!!!", 0, 1, (0, 0), 0);
        self.bytes
    }

    /// Writes a header and name, padded; the data, if any, follows.
    fn raw_entry(
        &mut self,
        inode: u32,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        size: u32,
    ) {
        // The name size counts the terminating NUL; the name holds no NUL.
        let name_len =
            u32::try_from(name.len() + 1).expect("archive names are paths of a few bytes");
        // ino mode uid gid nlink mtime filesize devmajor devminor
        // rdevmajor rdevminor namesize check
        let fields = [
            inode, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, name_len, 0,
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
    }

    /// Pads to a multiple of four bytes, as newc wants after the name and
    /// after the data.
    fn pad(&mut self) {
        self.bytes.resize(self.bytes.len().next_multiple_of(4), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::process::Command;

    /// A minimal ELF64 relocatable file: a decoy string outside `.modinfo`
    /// (as in `.rodata`), then `.modinfo`, `.shstrtab` and the section table.
    fn fake_ko(modinfo: &str) -> Vec<u8> {
        let names = b"\0.modinfo\0.shstrtab\0.rodata\0";
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        let rodata = (elf.len(), b"\0depends=decoy\0".as_slice());
        elf.extend_from_slice(rodata.1);
        let info = (elf.len(), modinfo.as_bytes());
        elf.extend_from_slice(info.1);
        let strtab = (elf.len(), names.as_slice());
        elf.extend_from_slice(strtab.1);
        let table = elf.len() as u64;
        elf[0x28..0x30].copy_from_slice(&table.to_le_bytes());
        elf[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        elf[0x3c..0x3e].copy_from_slice(&4u16.to_le_bytes());
        elf[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
        let sections = [(0, (0, &[][..])), (1, info), (10, strtab), (20, rodata)];
        for (name, (offset, data)) in sections {
            let mut header = [0u8; 64];
            header[..4].copy_from_slice(&(name as u32).to_le_bytes());
            header[0x18..0x20].copy_from_slice(&(offset as u64).to_le_bytes());
            header[0x20..0x28].copy_from_slice(&(data.len() as u64).to_le_bytes());
            elf.extend_from_slice(&header);
        }
        elf
    }

    use crate::vm::kernel::tests::xz;

    /// A modules tree: a → b, c-dash, e (built in); b → d; plus a cycle
    /// (p ↔ q), a dangling dependency (x → y) and a file that is no module.
    struct Tree {
        _temp: tempfile::TempDir,
        modules: PathBuf,
        busybox: PathBuf,
    }

    fn tree() -> Tree {
        let temp = tempfile::tempdir().expect("tempdir");
        let modules = temp.path().join("lib/modules/6.1.0-1-amd64");
        let write = |relative: &str, contents: &[u8]| {
            let path = modules.join(relative);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, contents).expect("write module");
        };
        write(
            "kernel/fs/a.ko",
            &fake_ko("license=GPL\0depends=b,c-dash,e\0name=a\0"),
        );
        write(
            "kernel/drivers/b.ko.xz",
            &xz(&fake_ko("depends=d\0name=b\0")),
        );
        write(
            "kernel/drivers/c-dash.ko",
            &fake_ko("depends=\0name=c_dash\0"),
        );
        let d = zstd::encode_all(fake_ko("name=d\0").as_slice(), 3).expect("zstd encode");
        write("kernel/lib/d.ko.zst", &d);
        write("kernel/p.ko", &fake_ko("depends=q\0"));
        write("kernel/q.ko", &fake_ko("depends=p\0"));
        write("kernel/x.ko", &fake_ko("depends=y\0"));
        write("kernel/junk.ko", b"not an ELF file");
        write("kernel/broken.ko.xz", b"\xfd7zXZ\0 cut short");
        write(
            "modules.builtin",
            b"kernel/drivers/e.ko\nkernel/fs/f-g.ko\n",
        );
        let busybox = temp.path().join("busybox");
        fs::write(&busybox, b"\x7fELF static busybox").expect("write busybox");
        Tree {
            _temp: temp,
            modules,
            busybox,
        }
    }

    /// One member of a newc archive, every header field kept.
    #[derive(Debug, PartialEq, Eq)]
    struct Member {
        name: String,
        fields: [u32; 13],
        data: Vec<u8>,
    }

    /// Reads a newc archive up to its trailer, checking magic and padding,
    /// and that nothing follows the trailer.
    fn read_newc(mut bytes: &[u8]) -> Vec<Member> {
        let padded = |len: usize| len.div_ceil(4) * 4;
        let mut members = Vec::new();
        loop {
            assert_eq!(&bytes[..6], b"070701");
            let fields: [u32; 13] = std::array::from_fn(|i| {
                let hex = std::str::from_utf8(&bytes[6 + 8 * i..14 + 8 * i]).expect("ASCII field");
                u32::from_str_radix(hex, 16).expect("hex field")
            });
            let (size, name_len) = (fields[6] as usize, fields[11] as usize);
            assert_eq!(bytes[110 + name_len - 1], 0, "name ends in NUL");
            let name = std::str::from_utf8(&bytes[110..110 + name_len - 1]).expect("UTF-8 name");
            let data_at = padded(110 + name_len);
            assert!(bytes[110 + name_len..data_at].iter().all(|&b| b == 0));
            let data = bytes[data_at..data_at + size].to_vec();
            let end = padded(data_at + size);
            assert!(bytes[data_at + size..end].iter().all(|&b| b == 0));
            bytes = &bytes[end..];
            if name == "TRAILER!!!" {
                assert_eq!(bytes, b"", "nothing after the trailer");
                return members;
            }
            members.push(Member {
                name: name.to_owned(),
                fields,
                data,
            });
        }
    }

    fn member(
        ino: u32,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Member {
        let (size, name_len) = (data.len() as u32, name.len() as u32 + 1);
        Member {
            name: name.to_owned(),
            fields: [
                ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, name_len, 0,
            ],
            data: data.to_vec(),
        }
    }

    fn names(modules: &[&str]) -> Vec<String> {
        modules.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn loads_dependencies_first_and_skips_built_in_modules() {
        let tree = tree();
        let initrd = build_initrd(&tree.modules, &tree.busybox, &["a", "e", "f_g", "d"])
            .expect("build initrd");
        assert_eq!(initrd.modules, names(&["d", "b", "c_dash", "a"]));
    }

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
    fn missing_wanted_module_is_an_error() {
        let tree = tree();
        let error = build_initrd(&tree.modules, &tree.busybox, &["a", "nope"])
            .expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::MissingModule { name, dir } if name == "nope" && *dir == tree.modules),
            "{error:?}"
        );
    }

    #[test]
    fn missing_dependency_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["x"]).expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::MissingModule { name, .. } if name == "y"),
            "{error:?}"
        );
    }

    #[test]
    fn dependency_cycle_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["p"]).expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::DependencyCycle { name, .. } if name == "p"),
            "{error:?}"
        );
    }

    #[test]
    fn file_without_modinfo_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["junk"]).expect_err("build should fail");
        let path = tree.modules.join("kernel/junk.ko");
        assert!(
            matches!(&error, InitrdError::NotModule { path: p } if *p == path),
            "{error:?}"
        );
    }

    #[test]
    fn corrupt_compressed_module_is_an_error() {
        let tree = tree();
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["broken"]).expect_err("build should fail");
        let path = tree.modules.join("kernel/broken.ko.xz");
        assert!(
            matches!(&error, InitrdError::Decompress { path: p, .. } if *p == path),
            "{error:?}"
        );
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

    #[test]
    fn modules_builtin_is_optional() {
        let tree = tree();
        fs::remove_file(tree.modules.join("modules.builtin")).expect("remove");
        let error =
            build_initrd(&tree.modules, &tree.busybox, &["a"]).expect_err("build should fail");
        assert!(
            matches!(&error, InitrdError::MissingModule { name, .. } if name == "e"),
            "{error:?}"
        );
    }

    #[test]
    fn depends_come_from_the_modinfo_section_only() {
        assert_eq!(
            modinfo_depends(&fake_ko("depends=virtio,virtio-ring\0name=x\0")),
            Some(names(&["virtio", "virtio_ring"]))
        );
        assert_eq!(modinfo_depends(&fake_ko("name=x\0")), Some(vec![]));
        assert_eq!(modinfo_depends(b"\0depends=a\0"), None);
    }

    #[test]
    fn init_script_loads_modules_in_order() {
        let script = init_script(&names(&["virtio_ring", "virtio"]));
        let expected = r#"#!/bin/busybox sh
# Written by git-buildkit: load the drivers Debian's kernel keeps as modules,
# mount the root file system named on the kernel command line, run its init.

# `--install` finds busybox through /proc/self/exe, so mount /proc first.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
grep -q " /dev devtmpfs " /proc/mounts || mount -t devtmpfs devtmpfs /dev

load() {
	insmod "/lib/modules/$1.ko" || echo "initrd: could not load $1"
}
load virtio_ring
load virtio

root=/dev/vda
init=/sbin/init
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	root=*) root="${arg#root=}" ;;
	init=*) init="${arg#init=}" ;;
	esac
done

# Like rootwait: the disk appears once its driver has probed it (up to 10 s).
i=0
while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

if ! mount -t ext4 -o rw "$root" /newroot; then
	echo "initrd: cannot mount $root"
	# Stop at once: the host reads a stop without its end marker as a
	# testbed failure, sooner than any timeout would.
	echo 1 > /proc/sys/kernel/sysrq
	echo o > /proc/sysrq-trigger
	# The sysrq power-off is asynchronous; never go on to switch_root.
	sleep 5
	poweroff -f
fi

# Everything the guest's user space would mount with a few dynamically
# linked programs is mounted here by static busybox, which under software
# emulation starts many times faster: /dev, /proc, /sys, /run, /tmp and the
# job disk (the second virtio disk, read-only), when there is one.
mkdir -p /newroot/dev /newroot/proc /newroot/sys /newroot/run /newroot/tmp
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620 devpts /newroot/dev/pts
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/dev/shm
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /newroot/run
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/tmp
if [ -b /newroot/dev/vdb ]; then
	mkdir -p /newroot/run/bk/job
	mount -t ext4 -o ro /newroot/dev/vdb /newroot/run/bk/job ||
		echo "initrd: cannot mount the job disk /dev/vdb"
fi
mount --move /sys /newroot/sys
mount --move /proc /newroot/proc
exec switch_root /newroot "$init"
"#;
        assert_eq!(script, expected);
    }

    #[test]
    fn init_script_is_valid_shell() {
        let script = init_script(&names(&["virtio"]));
        let output = Command::new("sh")
            .args(["-n", "-c", &script])
            .output()
            .expect("run");
        assert!(output.status.success(), "{output:?}");
    }
}

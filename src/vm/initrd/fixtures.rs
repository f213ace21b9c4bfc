//! What the tests of every part share: fake kernel modules and a modules
//! tree holding every case the builder must handle.

use std::fs;
use std::path::PathBuf;

use crate::vm::kernel::tests::xz;

/// A minimal ELF64 relocatable file: a decoy string outside `.modinfo`
/// (as in `.rodata`), then `.modinfo`, `.shstrtab` and the section table.
pub(super) fn fake_ko(modinfo: &str) -> Vec<u8> {
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

/// A modules tree: a → b, c-dash, e (built in); b → d; plus a cycle
/// (p ↔ q), a dangling dependency (x → y) and a file that is no module.
pub(super) struct Tree {
    _temp: tempfile::TempDir,
    pub(super) modules: PathBuf,
    pub(super) busybox: PathBuf,
}

pub(super) fn tree() -> Tree {
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

pub(super) fn names(modules: &[&str]) -> Vec<String> {
    modules.iter().map(|name| name.to_string()).collect()
}

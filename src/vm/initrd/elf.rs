//! Reading a kernel module's `.modinfo` section out of its ELF file, for
//! the `depends=` entry the package's missing `modules.dep` would hold.

use super::modules::normalise;

/// The names in the `depends=` entry of a module's `.modinfo` section (no
/// entry means no dependencies), or None when the file is not an ELF64
/// little-endian object with such a section.
pub(super) fn modinfo_depends(module: &[u8]) -> Option<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::initrd::fixtures::{fake_ko, names};
    use pretty_assertions::assert_eq;

    #[test]
    fn depends_come_from_the_modinfo_section_only() {
        assert_eq!(
            modinfo_depends(&fake_ko("depends=virtio,virtio-ring\0name=x\0")),
            Some(names(&["virtio", "virtio_ring"]))
        );
        assert_eq!(modinfo_depends(&fake_ko("name=x\0")), Some(vec![]));
        assert_eq!(modinfo_depends(b"\0depends=a\0"), None);
    }
}

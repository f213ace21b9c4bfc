//! Reading an ELF file: what dh_shlibdeps, dh_makeshlibs and dh_strip need
//! to know about it, read natively with the `object` crate (read only).
//!
//! dpkg-shlibdeps learns the same facts from `objdump -w -f -p -T -R`
//! (`Dpkg::Shlibs::Objdump`); the fields here follow what it extracts:
//! `NEEDED`, `SONAME`, `RPATH`/`RUNPATH`, the dynamic symbols with their
//! versions (a symbol defined only through a copy relocation counts as
//! undefined, as `apply_relocations` does) and the "ABI" it compares a
//! binary and a library with (`get_format`: class, byte order, machine and
//! the ABI bits of the flags).
//!
//! The bytes are untrusted: a malformed file is an error saying what is
//! wrong, never a panic (see `src/proptests/elf.rs`).

use std::collections::HashSet;

use object::elf;
use object::read::elf::{
    Dyn as _, FileHeader, ProgramHeader as _, Rel as _, Rela as _, SectionHeader as _,
    SectionTable, Sym as _,
};
use object::{Endianness, FileKind};

/// Why an ELF file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The file starts with the ELF magic but a part of it is malformed.
    #[error("malformed ELF file: {what}")]
    Malformed {
        /// The part that could not be read.
        what: &'static str,
        /// What `object` said about it.
        #[source]
        source: object::read::Error,
    },
    /// A part of the file is inconsistent in a way `object` does not check.
    #[error("malformed ELF file: {what}: {reason}")]
    Invalid {
        /// The part that could not be read.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What kind of ELF file this is (`e_type`, refined like `file(1)` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// A program; `pie` when it is position independent (`ET_DYN`).
    Executable {
        /// Whether it is a position-independent executable.
        pie: bool,
    },
    /// A shared library (`ET_DYN` that is not a PIE executable).
    SharedObject,
    /// An object file (`ET_REL`), as found in static archives.
    Relocatable,
    /// A core dump.
    Core,
    /// Any other `e_type`.
    Other(u16),
}

/// The word size of an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElfClass {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

/// What a binary and a library must share for the library to be loadable
/// by it: dpkg's `get_format` (class, byte order, machine, ABI flag bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Abi {
    /// The word size.
    pub class: ElfClass,
    /// Whether the file is big-endian.
    pub big_endian: bool,
    /// `e_machine`, with the obsolete numbers dpkg maps folded in.
    pub machine: u16,
    /// The bits of `e_flags` that select an ABI (MIPS, PPC64), others zero.
    pub flags: u32,
}

impl Abi {
    /// The ABI from the first 64 bytes of a file (dpkg's `get_format`);
    /// `None` when they are not an ELF header of a known class and order.
    pub fn from_header(head: &[u8]) -> Option<Abi> {
        if head.len() < 64 || !head.starts_with(&elf::ELFMAG) || head[6] != 1 {
            return None;
        }
        let class = match head[4] {
            1 => ElfClass::Elf32,
            2 => ElfClass::Elf64,
            _ => return None,
        };
        let big_endian = match head[5] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let u16_at = |at: usize| {
            let b = [head[at], head[at + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let u32_at = |at: usize| {
            let b = [head[at], head[at + 1], head[at + 2], head[at + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        // e_flags follows e_version and the three words e_entry, e_phoff, e_shoff.
        let flags_at = match class {
            ElfClass::Elf32 => 36,
            ElfClass::Elf64 => 48,
        };
        let machine = fold_machine(u16_at(18));
        Some(Abi {
            class,
            big_endian,
            machine,
            flags: u32_at(flags_at) & abi_flag_mask(machine),
        })
    }
}

/// One dynamic symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynSymbol {
    /// The symbol's name.
    pub name: String,
    /// Its version (`GLIBC_2.34`); `None` when unversioned.
    pub version: Option<String>,
    /// Whether its binding is weak.
    pub weak: bool,
}

impl DynSymbol {
    /// The name as symbols files write it: `name@version`, `name@Base` when unversioned.
    pub fn versioned_name(&self) -> String {
        format!(
            "{}@{}",
            self.name,
            self.version.as_deref().unwrap_or("Base")
        )
    }
}

/// What we know about one ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    /// Executable, shared object, relocatable...
    pub kind: ElfKind,
    /// What a library must match to be loaded by this file.
    pub abi: Abi,
    /// `DT_SONAME`.
    pub soname: Option<String>,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RPATH`, split at `:`.
    pub rpath: Vec<String>,
    /// `DT_RUNPATH`, split at `:`.
    pub runpath: Vec<String>,
    /// `PT_INTERP`, the program interpreter.
    pub interpreter: Option<String>,
    /// The GNU build id, in lowercase hex.
    pub build_id: Option<String>,
    /// Whether it has `.debug_*` (or compressed `.zdebug_*`) sections.
    pub has_debug: bool,
    /// Dynamic symbols it needs from libraries (copy-relocated ones included).
    pub undefined: Vec<DynSymbol>,
    /// Dynamic symbols it exports (global or weak, defined).
    pub defined: Vec<DynSymbol>,
    /// No `PT_DYNAMIC` segment: nothing is loaded at run time.
    pub is_static: bool,
    /// `e_flags` as written (the ARM float ABI lives there).
    pub e_flags: u32,
}

/// `e_machine` values we name an architecture for (elf.h).
const EM_386: u16 = 3;
const EM_MIPS: u16 = 8;
const EM_PPC: u16 = 20;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_LOONGARCH: u16 = 258;
/// `e_flags` of 32-bit ARM: hard-float ABI (EF_ARM_ABI_FLOAT_HARD).
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;

impl Elf {
    /// Reads `bytes`: `Ok(None)` when they are not ELF at all, an error when
    /// they are ELF but malformed.
    pub fn parse(bytes: &[u8]) -> Result<Option<Elf>, ElfError> {
        if !bytes.starts_with(&elf::ELFMAG) {
            return Ok(None);
        }
        let kind = FileKind::parse(bytes).map_err(|source| ElfError::Malformed {
            what: "the file header",
            source,
        })?;
        match kind {
            FileKind::Elf32 => read::<elf::FileHeader32<Endianness>>(bytes).map(Some),
            FileKind::Elf64 => read::<elf::FileHeader64<Endianness>>(bytes).map(Some),
            _ => Err(ElfError::Invalid {
                what: "the file header",
                reason: "unknown ELF class",
            }),
        }
    }

    /// The Debian architecture this file is built for, when we know it.
    pub fn debian_arch(&self) -> Option<&'static str> {
        let Abi {
            class,
            big_endian,
            machine,
            ..
        } = self.abi;
        let arch = match (machine, class, big_endian) {
            (EM_X86_64, ElfClass::Elf64, false) => "amd64",
            (EM_X86_64, ElfClass::Elf32, false) => "x32",
            (EM_386, ElfClass::Elf32, false) => "i386",
            (EM_AARCH64, ElfClass::Elf64, false) => "arm64",
            (EM_ARM, ElfClass::Elf32, false) if self.arm_hard_float() => "armhf",
            (EM_ARM, ElfClass::Elf32, false) => "armel",
            (EM_PPC64, ElfClass::Elf64, false) => "ppc64el",
            (EM_PPC64, ElfClass::Elf64, true) => "ppc64",
            (EM_PPC, ElfClass::Elf32, true) => "powerpc",
            (EM_S390, ElfClass::Elf64, true) => "s390x",
            (EM_RISCV, ElfClass::Elf64, false) => "riscv64",
            (EM_MIPS, ElfClass::Elf64, false) => "mips64el",
            (EM_MIPS, ElfClass::Elf32, false) => "mipsel",
            (EM_LOONGARCH, ElfClass::Elf64, false) => "loong64",
            _ => return None,
        };
        Some(arch)
    }

    /// Whether a 32-bit ARM file uses the hard-float ABI: the EABI flag, or
    /// the interpreter armhf systems use.
    fn arm_hard_float(&self) -> bool {
        self.e_flags & EF_ARM_ABI_FLOAT_HARD != 0
            || self.interpreter.as_deref() == Some("/lib/ld-linux-armhf.so.3")
    }

    /// The directories `DT_RPATH` and `DT_RUNPATH` name, in that order
    /// (dpkg-shlibdeps searches both, before the system's directories).
    pub fn search_path(&self) -> impl Iterator<Item = &str> {
        self.rpath.iter().chain(&self.runpath).map(String::as_str)
    }

    /// Whether this is a shared library others can link to: a shared object
    /// with a SONAME (dpkg's `is_public_library`).
    pub fn is_public_library(&self) -> bool {
        self.soname.is_some() && matches!(self.kind, ElfKind::SharedObject)
    }
}

/// Reads the file as one ELF class.
fn read<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<Elf, ElfError> {
    let bad = |what| move |source| ElfError::Malformed { what, source };
    let header = H::parse(data).map_err(bad("the file header"))?;
    let endian = header.endian().map_err(bad("the byte order"))?;
    let segments = header
        .program_headers(endian, data)
        .map_err(bad("the program headers"))?;
    let sections = header
        .sections(endian, data)
        .map_err(bad("the section headers"))?;

    let mut interpreter = None;
    let mut is_static = true;
    for segment in segments {
        let p_type = segment.p_type(endian).0;
        if p_type == elf::PT_DYNAMIC.0 {
            is_static = false;
        } else if p_type == elf::PT_INTERP.0 {
            let bytes = segment.data(endian, data).map_err(|()| ElfError::Invalid {
                what: "the interpreter segment",
                reason: "segment outside the file",
            })?;
            interpreter = Some(c_string(bytes));
        }
    }

    let dynamic = Dynamic::read(&sections, endian, data)?;
    let (undefined, defined) = dynamic_symbols(&sections, endian, data, header)?;
    let build_id = build_id(&sections, endian, data)?;
    let mut has_debug = false;
    for section in sections.iter() {
        let name = sections
            .section_name(endian, section)
            .map_err(bad("a section name"))?;
        has_debug |= name.starts_with(b".debug_") || name.starts_with(b".zdebug_");
    }

    let e_type = header.e_type(endian).0;
    let raw_flags = header.e_flags(endian).0;
    let machine = fold_machine(header.e_machine(endian).0);
    let kind = kind(
        e_type,
        dynamic.pie,
        dynamic.soname.is_some(),
        interpreter.is_some(),
    );
    Ok(Elf {
        kind,
        abi: Abi {
            class: if header.is_type_64() {
                ElfClass::Elf64
            } else {
                ElfClass::Elf32
            },
            big_endian: endian == Endianness::Big,
            machine,
            flags: raw_flags & abi_flag_mask(machine),
        },
        soname: dynamic.soname,
        needed: dynamic.needed,
        rpath: dynamic.rpath,
        runpath: dynamic.runpath,
        interpreter,
        build_id,
        has_debug,
        undefined,
        defined,
        is_static,
        e_flags: raw_flags,
    })
}

/// The kind from `e_type` and the dynamic section: an `ET_DYN` file is a
/// PIE executable when it says so (`DF_1_PIE`, what `file(1)` and so
/// dh_strip look at), or, for older linkers, when it has an interpreter and
/// no SONAME (a library like libc.so.6 has both and stays a library).
fn kind(e_type: u16, pie_flag: bool, has_soname: bool, has_interp: bool) -> ElfKind {
    match e_type {
        t if t == elf::ET_EXEC.0 => ElfKind::Executable { pie: false },
        t if t == elf::ET_DYN.0 && (pie_flag || (has_interp && !has_soname)) => {
            ElfKind::Executable { pie: true }
        }
        t if t == elf::ET_DYN.0 => ElfKind::SharedObject,
        t if t == elf::ET_REL.0 => ElfKind::Relocatable,
        t if t == elf::ET_CORE.0 => ElfKind::Core,
        other => ElfKind::Other(other),
    }
}

/// dpkg's `%elf_mach_map`: obsolete machine numbers folded into current ones.
fn fold_machine(machine: u16) -> u16 {
    match machine {
        0x9026 => 41,      // EM_ALPHA_OLD
        0x1057 => 83,      // EM_AVR_OLD
        0x9041 => 88,      // EM_M32R_CYGNUS
        0xbaab => 189,     // EM_MICROBLAZE_OLD
        0xdead => 74,      // EM_MN10200_CYGNUS
        0xbeef => 89,      // EM_MN10300_CYGNUS
        0x8472 => 92,      // EM_OR1K_OLD
        0xa390 => EM_S390, // EM_S390_OLD
        18 => 2,           // EM_SPARC32PLUS
        11 => 43,          // EM_SPARC64_OLD
        0xabc7 => 94,      // EM_XTENSA_OLD
        other => other,
    }
}

/// dpkg's `%elf_flags_mask`: the flag bits that make two ABIs incompatible.
fn abi_flag_mask(machine: u16) -> u32 {
    match machine {
        50 => 0x10,                    // EM_IA64: EF_IA64_ABI64
        EM_LOONGARCH => 0x7,           // EF_LOONGARCH_ABI_MASK
        EM_MIPS => 0x0000_f000 | 0x20, // EF_MIPS_ABI_MASK | EF_MIPS_ABI2
        EM_PPC64 => 0x3,               // EF_PPC64_ABI64
        _ => 0,
    }
}

/// What the dynamic section says.
#[derive(Default)]
struct Dynamic {
    soname: Option<String>,
    needed: Vec<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
    pie: bool,
}

impl Dynamic {
    fn read<H: FileHeader<Endian = Endianness>>(
        sections: &SectionTable<'_, H>,
        endian: Endianness,
        data: &[u8],
    ) -> Result<Dynamic, ElfError> {
        let bad = |what| move |source| ElfError::Malformed { what, source };
        let mut out = Dynamic::default();
        let Some((entries, link)) = sections
            .dynamic(endian, data)
            .map_err(bad("the dynamic section"))?
        else {
            return Ok(out);
        };
        let strings = sections
            .strings(endian, data, link)
            .map_err(bad("the dynamic string table"))?;
        for entry in entries {
            let tag = entry.tag(endian);
            if tag == elf::DT_NULL {
                break;
            }
            let string = || -> Result<String, ElfError> {
                let offset = u32::try_from(entry.val(endian)).map_err(|_| ElfError::Invalid {
                    what: "a dynamic string",
                    reason: "string offset out of range",
                })?;
                let bytes = strings.get(offset).map_err(|()| ElfError::Invalid {
                    what: "a dynamic string",
                    reason: "string offset out of the string table",
                })?;
                Ok(String::from_utf8_lossy(bytes).into_owned())
            };
            if tag == elf::DT_NEEDED {
                out.needed.push(string()?);
            } else if tag == elf::DT_SONAME {
                out.soname = Some(string()?);
            } else if tag == elf::DT_RPATH {
                out.rpath.extend(split_path(&string()?));
            } else if tag == elf::DT_RUNPATH {
                out.runpath.extend(split_path(&string()?));
            } else if tag == elf::DT_FLAGS_1 {
                out.pie |= entry.val(endian) & elf::DF_1_PIE.0 != 0;
            }
        }
        Ok(out)
    }
}

/// A search path split at `:`, empty parts dropped.
fn split_path(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split(':').filter(|p| !p.is_empty()).map(str::to_owned)
}

/// The text up to the first NUL.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The copy-relocation type of a machine (`R_*_COPY`), when it has one.
fn copy_relocation(machine: u16) -> Option<u32> {
    Some(match machine {
        EM_X86_64 | EM_386 => 5,
        EM_AARCH64 => 1024,
        EM_ARM => 20,
        EM_PPC64 | EM_PPC => 19,
        EM_S390 => 9,
        EM_RISCV => 4,
        EM_MIPS => 126,
        EM_LOONGARCH => 4,
        _ => return None,
    })
}

/// The undefined and the defined dynamic symbols, with their versions.
fn dynamic_symbols<H: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'_, H>,
    endian: Endianness,
    data: &[u8],
    header: &H,
) -> Result<(Vec<DynSymbol>, Vec<DynSymbol>), ElfError> {
    let bad = |what| move |source| ElfError::Malformed { what, source };
    let symbols = sections
        .symbols(endian, data, elf::SHT_DYNSYM)
        .map_err(bad("the dynamic symbol table"))?;
    if symbols.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let versions = sections
        .versions(endian, data)
        .map_err(bad("the symbol versions"))?;
    let copied = copied_symbols(sections, endian, data, header, symbols.section())?;
    let strings = symbols.strings();
    let (mut undefined, mut defined) = (Vec::new(), Vec::new());
    for (index, symbol) in symbols.enumerate().skip(1) {
        let name = symbol
            .name(endian, strings)
            .map_err(bad("a dynamic symbol name"))?;
        let version = match &versions {
            Some(table) => table
                .version(table.version_index(endian, index).index())
                .map_err(bad("a symbol version"))?
                .map(|v| String::from_utf8_lossy(v.name()).into_owned()),
            None => None,
        };
        let out = DynSymbol {
            name: String::from_utf8_lossy(name).into_owned(),
            version,
            weak: symbol.is_weak(),
        };
        if symbol.is_undefined(endian) || copied.contains(&index.0) {
            undefined.push(out);
        } else if !symbol.is_local() {
            defined.push(out);
        }
    }
    Ok((undefined, defined))
}

/// The indices of the dynamic symbols a copy relocation points at: the
/// program holds a copy, but the symbol still comes from a library.
fn copied_symbols<H: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'_, H>,
    endian: Endianness,
    data: &[u8],
    header: &H,
    dynsym: object::read::SectionIndex,
) -> Result<HashSet<usize>, ElfError> {
    let bad = |what| move |source| ElfError::Malformed { what, source };
    let machine = fold_machine(header.e_machine(endian).0);
    let Some(copy) = copy_relocation(machine) else {
        return Ok(HashSet::new());
    };
    let is_mips64el = header.is_mips64el(endian);
    // A set: a hostile file may hold millions of relocations and symbols.
    let mut out = HashSet::new();
    for section in sections.iter() {
        if let Some((relocs, link)) = section.rel(endian, data).map_err(bad("relocations"))? {
            if link == dynsym {
                out.extend(
                    relocs
                        .iter()
                        .filter(|r| r.r_type(endian).0 == copy)
                        .map(|r| r.r_sym(endian) as usize),
                );
            }
        }
        if let Some((relocs, link)) = section.rela(endian, data).map_err(bad("relocations"))? {
            if link == dynsym {
                out.extend(
                    relocs
                        .iter()
                        .filter(|r| r.r_type(endian, is_mips64el).0 == copy)
                        .map(|r| r.r_sym(endian, is_mips64el) as usize),
                );
            }
        }
    }
    Ok(out)
}

/// The GNU build id from the note sections, in hex.
fn build_id<H: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'_, H>,
    endian: Endianness,
    data: &[u8],
) -> Result<Option<String>, ElfError> {
    let bad = |what| move |source| ElfError::Malformed { what, source };
    for section in sections.iter() {
        let Some(mut notes) = section.notes(endian, data).map_err(bad("a note section"))? else {
            continue;
        };
        while let Some(note) = notes.next().map_err(bad("a note"))? {
            if note.name() == elf::ELF_NOTE_GNU && note.n_type(endian) == elf::NT_GNU_BUILD_ID {
                return Ok(Some(hex::encode(note.desc())));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_zlib() -> Vec<u8> {
        std::fs::read("/usr/lib/x86_64-linux-gnu/libz.so.1")
            .or_else(|_| std::fs::read("/lib/x86_64-linux-gnu/libz.so.1"))
            .expect("zlib1g is installed")
    }

    #[test]
    fn reads_a_shared_library() {
        let elf = Elf::parse(&host_zlib()).expect("parses").expect("is ELF");
        assert_eq!(elf.kind, ElfKind::SharedObject);
        assert_eq!(elf.soname.as_deref(), Some("libz.so.1"));
        assert_eq!(elf.needed, ["libc.so.6"]);
        assert_eq!(elf.debian_arch(), Some("amd64"));
        assert!(elf.is_public_library());
        assert!(!elf.is_static);
        assert!(elf.build_id.as_ref().is_some_and(|id| id.len() == 40));
        let versioned = |name: &str| {
            let symbol = elf
                .defined
                .iter()
                .find(|s| s.name == name)
                .expect("exported");
            symbol.versioned_name()
        };
        // As `objdump -T` shows them: the base version is `Base`.
        assert_eq!(versioned("inflate"), "inflate@Base");
        assert_eq!(versioned("crc32_z"), "crc32_z@ZLIB_1.2.9");
        assert!(elf.undefined.iter().any(|s| s
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("GLIBC_"))));
        assert_eq!(Abi::from_header(&host_zlib()[..64]), Some(elf.abi));
    }

    #[test]
    fn reads_a_pie_program() {
        let bytes = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let elf = Elf::parse(&bytes).expect("parses").expect("is ELF");
        assert_eq!(elf.kind, ElfKind::Executable { pie: true });
        assert!(elf
            .interpreter
            .as_deref()
            .is_some_and(|i| i.starts_with("/lib")));
        assert!(elf.needed.iter().any(|n| n == "libc.so.6"));
        assert!(!elf.is_public_library());
    }

    #[test]
    fn other_bytes_are_not_elf() {
        assert_eq!(Elf::parse(b"#!/bin/sh\n").expect("not an error"), None);
        assert_eq!(Elf::parse(b"").expect("not an error"), None);
    }

    #[test]
    fn hostile_headers_are_errors() {
        let good = host_zlib();
        assert!(Elf::parse(&good[..60]).is_err(), "cut inside the header");
        assert!(
            Elf::parse(&good[..4096]).is_err(),
            "cut before the sections"
        );
        let mut huge_count = good.clone();
        huge_count[60..62].copy_from_slice(&u16::MAX.to_le_bytes()); // e_shnum
        assert!(Elf::parse(&huge_count).is_err());
        let mut bogus_offset = good.clone();
        bogus_offset[40..48].copy_from_slice(&(u64::MAX - 8).to_le_bytes()); // e_shoff
        assert!(Elf::parse(&bogus_offset).is_err());
        let mut bad_class = good;
        bad_class[4] = 9;
        assert!(Elf::parse(&bad_class).is_err());
    }
}

//! A GNU-format tar writer with the bytes dpkg-deb produces through
//! `tar --format=gnu --owner=root:0 --group=root:0`: `./`-prefixed names,
//! directories with a trailing `/`, GNU `././@LongLink` records for names and
//! link targets over 100 bytes, root/root ownership and given mtimes.
//!
//! The `tar` crate supplies the header layout and checksum; we set the name
//! fields ourselves because its path helpers normalise away the trailing `/`
//! and the `./` that dpkg and lintian expect.

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

const BLOCK: usize = 512;
/// GNU tar's default record: 20 blocks.
const RECORD: usize = BLOCK * 20;

/// Writes tar entries to `out`; call [`TarWriter::finish`] to close the archive.
#[derive(Debug)]
pub struct TarWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> TarWriter<W> {
    /// Starts an archive.
    pub fn new(out: W) -> Self {
        Self { out, written: 0 }
    }

    /// A directory entry; `name` should end with `/`.
    pub fn dir(&mut self, name: &str, mode: u32, mtime: u64) -> io::Result<()> {
        let mut header = base_header(EntryType::Directory, mode, mtime, 0);
        self.set_name(&mut header, name)?;
        set_gnu_cksum(&mut header);
        self.emit(header.as_bytes())
    }

    /// A regular file whose `size` bytes come from `data`.
    pub fn file(
        &mut self,
        name: &str,
        mode: u32,
        mtime: u64,
        size: u64,
        data: impl Read,
    ) -> io::Result<()> {
        let mut header = base_header(EntryType::Regular, mode, mtime, size);
        self.set_name(&mut header, name)?;
        set_gnu_cksum(&mut header);
        self.emit(header.as_bytes())?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        self.written += copied;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name} changed size while being packaged ({size} bytes expected, {copied} read)"),
            ));
        }
        self.pad(size)
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, name: &str, target: &str, mtime: u64) -> io::Result<()> {
        let mut header = base_header(EntryType::Symlink, 0o777, mtime, 0);
        if target.len() > 100 {
            self.long_record(EntryType::GNULongLink, target)?;
        }
        let field = &mut header.as_old_mut().linkname;
        let len = target.len().min(field.len());
        field[..len].copy_from_slice(&target.as_bytes()[..len]);
        self.set_name(&mut header, name)?;
        set_gnu_cksum(&mut header);
        self.emit(header.as_bytes())
    }

    /// Writes the two zero blocks that end an archive, pads it to GNU tar's
    /// 10240-byte record size (as dpkg-deb's tar does) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.emit(&[0; BLOCK * 2])?;
        let rest = (self.written % RECORD as u64) as usize;
        if rest != 0 {
            self.emit(&vec![0; RECORD - rest])?;
        }
        Ok(self.out)
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn set_name(&mut self, header: &mut Header, name: &str) -> io::Result<()> {
        if name.len() > 100 {
            self.long_record(EntryType::GNULongName, name)?;
        }
        let field = &mut header.as_old_mut().name;
        let len = name.len().min(field.len());
        field[..len].copy_from_slice(&name.as_bytes()[..len]);
        Ok(())
    }

    /// GNU tar's extension record for a long name ('L') or link target ('K'):
    /// a pseudo-entry named `././@LongLink` whose data is the NUL-terminated text.
    fn long_record(&mut self, kind: EntryType, text: &str) -> io::Result<()> {
        let size = text.len() as u64 + 1;
        let mut header = base_header(kind, 0o644, 0, size);
        header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        set_gnu_cksum(&mut header);
        self.emit(header.as_bytes())?;
        self.emit(text.as_bytes())?;
        self.emit(&[0])?;
        self.pad(size)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rest = (size % BLOCK as u64) as usize;
        if rest != 0 {
            self.emit(&[0; BLOCK][..BLOCK - rest])?;
        }
        Ok(())
    }
}

/// The header checksum as GNU tar writes it: six octal digits, NUL, space
/// (the `tar` crate writes seven digits and a NUL; both are valid, but only
/// this one gives dpkg-deb's bytes).
fn set_gnu_cksum(header: &mut Header) {
    header.as_old_mut().cksum = [b' '; 8];
    let sum: u32 = header.as_bytes().iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    header.as_old_mut().cksum.copy_from_slice(text.as_bytes());
}

fn base_header(kind: EntryType, mode: u32, mtime: u64, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_size(size);
    // Both always fit the fixed-size fields.
    let _ = header.set_username("root");
    let _ = header.set_groupname("root");
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn long_names_and_targets_read_back_with_the_tar_crate() {
        let long = format!("./usr/share/{}/file", "d".repeat(120));
        let target = format!("/opt/{}", "t".repeat(150));
        let mut w = TarWriter::new(Vec::new());
        w.dir("./", 0o755, 1_700_000_000).expect("dir");
        w.file(&long, 0o644, 1_700_000_000, 3, &b"abc"[..])
            .expect("file");
        w.symlink("./usr/bin/x", &target, 1_700_000_000)
            .expect("link");
        let bytes = w.finish().expect("finish");
        assert_eq!(bytes.len() % BLOCK, 0);

        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = String::from_utf8(entry.path_bytes().into_owned()).expect("utf8");
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8(l.into_owned()).expect("utf8"));
            let header = entry.header();
            let meta = (
                header.uid().expect("uid"),
                header.username().expect("u").map(str::to_owned),
                header.mtime().expect("mtime"),
            );
            let mut data = String::new();
            entry.read_to_string(&mut data).expect("data");
            seen.push((path, link, meta, data));
        }
        let root = (0, Some("root".to_owned()), 1_700_000_000);
        assert_eq!(
            seen,
            [
                ("./".to_owned(), None, root.clone(), String::new()),
                (long, None, root.clone(), "abc".to_owned()),
                ("./usr/bin/x".to_owned(), Some(target), root, String::new()),
            ]
        );
    }

    #[test]
    fn a_file_that_shrinks_is_an_error() {
        let mut w = TarWriter::new(Vec::new());
        let err = w.file("./a", 0o644, 0, 10, &b"abc"[..]).expect_err("short");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}

//! The cpio "newc" writer
//! (<https://docs.kernel.org/driver-api/early-userspace/buffer-format.html>):
//! owner root, time zero and inodes numbered in order, so the same entries
//! give the same bytes.

use super::InitrdError;

/// File type bits of a cpio mode (from `<sys/stat.h>`).
pub(super) const DIR: u32 = 0o040_000;
pub(super) const CHAR_DEVICE: u32 = 0o020_000;
pub(super) const FILE: u32 = 0o100_000;

/// A cpio "newc" archive being written, owner root and time zero throughout.
#[derive(Default)]
pub(super) struct Cpio {
    bytes: Vec<u8>,
    /// The last inode number given out; entries are numbered from 1.
    inode: u32,
}

impl Cpio {
    /// Appends an entry; `rdev` is the (major, minor) of a device node.
    pub(super) fn entry(
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
    pub(super) fn finish(mut self) -> Vec<u8> {
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

/// A reader of newc archives for the tests, checking what the writer must
/// get right.
#[cfg(test)]
pub(super) mod newc {
    use pretty_assertions::assert_eq;

    /// One member of a newc archive, every header field kept.
    #[derive(Debug, PartialEq, Eq)]
    pub(in crate::vm::initrd) struct Member {
        name: String,
        fields: [u32; 13],
        data: Vec<u8>,
    }

    /// Reads a newc archive up to its trailer, checking magic and padding,
    /// and that nothing follows the trailer.
    pub(in crate::vm::initrd) fn read_newc(mut bytes: &[u8]) -> Vec<Member> {
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

    pub(in crate::vm::initrd) fn member(
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
}

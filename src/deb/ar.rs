//! The ar container of a `.deb` (`deb(5)`): the global header, then members
//! with mode 100644, uid/gid 0 and the package timestamp, each padded to an
//! even length. The `ar` crate writes the headers in dpkg's layout.

use std::io::{self, Read, Write};

/// Writes the members in the order given.
pub fn write<'a, W: Write>(
    out: W,
    mtime: u64,
    members: impl IntoIterator<Item = (String, u64, Box<dyn Read + 'a>)>,
) -> io::Result<W> {
    let mut builder = ::ar::Builder::new(out);
    for (name, size, data) in members {
        let mut header = ::ar::Header::new(name.into_bytes(), size);
        header.set_mode(0o100_644);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        builder.append(&header, data)?;
    }
    builder.into_inner()
}

/// The header of one ar member, as dpkg's `dpkg_ar_member_get_header` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHeader {
    /// The name, without the trailing spaces and `/` padding.
    pub name: String,
    /// The size of the member's data in bytes.
    pub size: u64,
}

/// Why an ar member header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The file ends inside a header.
    Truncated,
    /// The header's magic or size field is damaged.
    Damaged(&'static str),
}

/// Reads the next member header from `input`, which is positioned after the
/// previous member's data and padding; `None` at the end of the archive.
///
/// Written here rather than taken from the `ar` crate because a `.deb` only
/// needs the plain format, and the crate's GNU and BSD long-name support
/// allocates whatever size a header claims (`//` or `#1/` with ten digits):
/// a few bytes of a hostile `.deb` could ask for gigabytes.
pub fn read_header(input: &mut impl Read) -> Result<Option<MemberHeader>, HeaderError> {
    let mut header = [0u8; 60];
    let mut filled = 0;
    while filled < header.len() {
        match input.read(&mut header[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(HeaderError::Truncated),
        }
    }
    if filled == 0 {
        return Ok(None);
    }
    if filled < header.len() {
        return Err(HeaderError::Truncated);
    }
    if &header[58..60] != b"`\n" {
        return Err(HeaderError::Damaged("bad member header magic"));
    }
    let name = String::from_utf8_lossy(&header[..16])
        .trim_end_matches(' ')
        .trim_end_matches('/')
        .to_owned();
    let size_field = std::str::from_utf8(&header[48..58])
        .map_err(|_| HeaderError::Damaged("the size field is not a number"))?
        .trim_end_matches(' ');
    if size_field.is_empty() || !size_field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderError::Damaged("the size field is not a number"));
    }
    // Ten decimal digits always fit in a u64.
    let size = size_field
        .parse()
        .map_err(|_| HeaderError::Damaged("the size field is not a number"))?;
    Ok(Some(MemberHeader { name, size }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn reads_what_it_writes_and_refuses_long_name_tables() {
        let members: [(String, u64, Box<dyn Read>); 2] = [
            ("debian-binary".into(), 4, Box::new(&b"2.0\n"[..])),
            ("odd".into(), 3, Box::new(&b"abc"[..])),
        ];
        let bytes = write(Vec::new(), 0, members).expect("write");
        let mut input = &bytes[8..];
        let first = read_header(&mut input).expect("header").expect("some");
        assert_eq!(
            first,
            MemberHeader {
                name: "debian-binary".into(),
                size: 4
            }
        );
        input = &input[4..];
        let second = read_header(&mut input).expect("header").expect("some");
        assert_eq!(second.size, 3);
        input = &input[4..];
        assert_eq!(read_header(&mut input), Ok(None));
        // A GNU name table claiming 9,999,999,999 bytes is just a member
        // name here; reading its data is the caller's bounded business.
        let mut header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            "//", 0, 0, 0, 644, 9_999_999_999u64
        );
        let parsed = read_header(&mut header.as_bytes())
            .expect("header")
            .expect("some");
        assert_eq!(
            parsed,
            MemberHeader {
                name: String::new(),
                size: 9_999_999_999
            }
        );
        header.replace_range(48..49, "x");
        assert_eq!(
            read_header(&mut header.as_bytes()),
            Err(HeaderError::Damaged("the size field is not a number"))
        );
        assert_eq!(
            read_header(&mut &b"debian-binary   "[..]),
            Err(HeaderError::Truncated)
        );
    }
}

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

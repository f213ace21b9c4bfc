//! Serving one connection on standard input and output: the mode QEMU's
//! `guestfwd=tcp:10.0.2.100:80-cmd:'git-buildkit' 'repo' 'serve' '--stdio' 'DIR'`
//! uses, starting the program once per TCP connection from the guest.
//!
//! libslirp starts the command with the connection (one end of a socket
//! pair) as standard input, output *and error*. Since libslirp 4.1 it
//! splits the command line with GLib's `g_shell_parse_argv`, so words are
//! quoted as in sh and `DIR` may contain a space (`vm::qemu::guestfwd_command`
//! quotes every word, and doubles commas for qemu). Whatever
//! the program writes to stderr therefore reaches the guest's HTTP client:
//! [`stderr_is_connection`] lets the caller detect this and keep log lines
//! and error messages off it.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use super::access_log::AccessLogEntry;
use super::site::StaticSite;
use super::ServeError;

/// Serves one connection on stdin/stdout until the client closes it, and
/// returns the number of requests answered. Log entries only go to `log`:
/// stdout is the HTTP channel, and under QEMU stderr is too.
pub fn serve_stdio(site: &StaticSite, log: &dyn Fn(&AccessLogEntry)) -> Result<u64, ServeError> {
    let (input, output) = stdio_connection().map_err(|source| ServeError::Stdio { source })?;
    site.handle_connection(input, output, log)
}

/// Own handles on fds 0 and 1, the connection: unbuffered by std (stdout's
/// line buffering would split binary bodies at every newline byte) and
/// closed when dropped.
pub(crate) fn stdio_connection() -> io::Result<(File, File)> {
    let input = io::stdin().as_fd().try_clone_to_owned()?;
    let output = io::stdout().as_fd().try_clone_to_owned()?;
    Ok((File::from(input), File::from(output)))
}

/// Whether standard error is the same socket as standard output, as when
/// QEMU's guestfwd starts the program: then nothing may be written to stderr
/// (neither log lines nor error messages) without corrupting the HTTP stream.
pub fn stderr_is_connection() -> bool {
    is_same_socket(io::stdout().as_fd(), io::stderr().as_fd())
}

/// Whether two descriptors are the same socket (same device and inode).
fn is_same_socket(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    fn identity(fd: BorrowedFd<'_>) -> Option<(u64, u64, bool)> {
        let metadata = File::from(fd.try_clone_to_owned().ok()?).metadata().ok()?;
        Some((
            metadata.dev(),
            metadata.ino(),
            metadata.file_type().is_socket(),
        ))
    }
    match (identity(a), identity(b)) {
        (Some(a), Some(b)) => a.2 && a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn recognises_one_socket_behind_two_descriptors() {
        // What libslirp does: one end of a socket pair as fds 0, 1 and 2.
        let (ours, guest) = UnixStream::pair().expect("socketpair");
        let duplicate = ours.try_clone().expect("dup");
        assert!(is_same_socket(ours.as_fd(), duplicate.as_fd()));
        assert!(!is_same_socket(ours.as_fd(), guest.as_fd()));
        // The same file twice (a terminal for stdout and stderr) is no socket.
        let file = tempfile::tempfile().expect("tempfile");
        assert!(!is_same_socket(file.as_fd(), file.as_fd()));
    }
}

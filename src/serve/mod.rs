//! A static, read-only HTTP/1.1 server for the apt repository directory, so
//! that a stock `apt-get` — on this machine or inside a QEMU guest — installs
//! from it with no web server to set up.
//!
//! It is small on purpose (std only, a thread per connection) and safe by
//! construction: only GET and HEAD exist, so nothing is ever written; every
//! path is decoded, then confined to the served root (no `..`, no hidden
//! `.buildkit/` state, no symlink leading out, only regular files); request
//! heads are size-limited; connections are capped and timed so that no client
//! can hold the server ([`Limits`]); and the CLI binds the loopback address unless told
//! otherwise. Enough of HTTP/1.1 is implemented for apt to work at full speed:
//! persistent connections, pipelining, `Range` (resumed downloads) and
//! `If-Modified-Since` (index refreshes).
//!
//! Two transports share one connection handler: [`serve_tcp`] for a port,
//! and [`serve_stdio`] for QEMU's `guestfwd=…-cmd:` which runs the program
//! once per connection with the connection on stdin/stdout.

mod access_log;
pub(crate) mod conditional;
pub(crate) mod confine;
pub(crate) mod connection;
pub(crate) mod content_type;
mod error;
mod limits;
mod notice;
pub(crate) mod range;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod site;
mod slots;
pub(crate) mod stdio;
pub(crate) mod target;
pub(crate) mod tcp;
#[cfg(test)]
mod tests;

pub use access_log::AccessLogEntry;
pub use error::ServeError;
pub use limits::Limits;
pub use notice::LoadNotice;
pub use site::StaticSite;
pub use stdio::{serve_stdio, stderr_is_connection};
pub use tcp::serve_tcp;

//! Tests of the whole server: [`StaticSite::handle_connection`] over
//! in-memory streams (exactly what `--stdio` mode runs), and [`serve_tcp`]
//! over real sockets on 127.0.0.1, checked with std's `TcpStream` and `curl`.
//!
//! [`StaticSite::handle_connection`]: super::StaticSite::handle_connection
//! [`serve_tcp`]: super::serve_tcp

mod memory;
mod support;
mod tcp;

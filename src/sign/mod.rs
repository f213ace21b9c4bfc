//! OpenPGP signing of the apt repository: the key that signs it, the
//! signatures apt checks (`InRelease`, `Release.gpg`), their verification,
//! and the store that keeps the keys between runs.
//!
//! Everything happens in-process with Sequoia (no gpg agent, no keyring
//! state to set up on a build machine). The keys and signatures are made
//! to be accepted both by gpgv (apt in Debian 12) and by sqv under
//! Sequoia's standard policy (apt in Debian 13): v4 Ed25519 keys and SHA-512
//! everywhere, see [`SigningKey`].

mod error;
mod key;
mod public;
mod signature;
mod store;
mod verify;

pub use error::{CryptoError, SignError};
pub use key::SigningKey;
pub use public::PublicKey;
pub use store::{KeyInfo, KeyStore};
pub use verify::{verify_clearsigned, verify_detached};

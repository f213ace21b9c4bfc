//! The public half of a signing key: what users of the apt repository put
//! in `signed-by`, and what the key store lists without asking for a
//! passphrase.

use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto;
use openpgp::Cert;

use super::SignError;

/// A public OpenPGP key (certificate), without any secret parts.
#[derive(Clone)]
pub struct PublicKey {
    cert: Cert,
}

impl PublicKey {
    /// Reads one key, armored or binary; secret parts, if present, are
    /// dropped without being decrypted.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignError> {
        let cert = Cert::from_bytes(bytes).map_err(|e| SignError::NotAKey { source: e.into() })?;
        Ok(Self::from_cert(cert))
    }

    pub(super) fn from_cert(cert: Cert) -> Self {
        Self {
            cert: cert.strip_secret_key_material(),
        }
    }

    /// Uppercase hex fingerprint of the primary key.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.cert)
    }

    /// The primary user ID, e.g. `Example Archive <apt@example.org>`.
    pub fn user_id(&self) -> String {
        user_id(&self.cert)
    }

    /// When the primary key was made.
    pub fn created(&self) -> SystemTime {
        created(&self.cert)
    }

    /// When the primary key expires, if it does.
    pub fn expires(&self) -> Option<SystemTime> {
        expires(&self.cert)
    }

    /// A binary transferable public key: the format of
    /// `/usr/share/keyrings/*.gpg` and of apt's `signed-by` files.
    pub fn to_binary(&self) -> Result<Vec<u8>, SignError> {
        self.cert
            .export_to_vec()
            .map_err(|e| serialize_error("public key", &self.cert, e))
    }

    /// The ASCII-armored public key (`-----BEGIN PGP PUBLIC KEY BLOCK-----`).
    pub fn to_armored(&self) -> Result<Vec<u8>, SignError> {
        self.cert
            .armored()
            .export_to_vec()
            .map_err(|e| serialize_error("armored public key", &self.cert, e))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("fingerprint", &self.fingerprint())
            .field("user_id", &self.user_id())
            .finish()
    }
}

pub(super) fn serialize_error(
    what: &'static str,
    cert: &Cert,
    e: openpgp::anyhow::Error,
) -> SignError {
    SignError::Serialize {
        what,
        fingerprint: fingerprint(cert),
        source: e.into(),
    }
}

pub(super) fn fingerprint(cert: &Cert) -> String {
    cert.fingerprint().to_hex()
}

/// The primary user ID as the policy sees it now, else the first one.
pub(super) fn user_id(cert: &Cert) -> String {
    let policy = StandardPolicy::new();
    let primary = cert
        .with_policy(&policy, None)
        .ok()
        .and_then(|valid| valid.primary_userid().ok())
        .map(|uid| uid.userid().value().to_vec());
    let value = primary.or_else(|| {
        cert.userids()
            .next()
            .map(|uid| uid.userid().value().to_vec())
    });
    value
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default()
}

pub(super) fn created(cert: &Cert) -> SystemTime {
    cert.primary_key().key().creation_time()
}

/// The expiry of the primary key's newest valid self-signature; a key that
/// the policy rejects outright reports none.
pub(super) fn expires(cert: &Cert) -> Option<SystemTime> {
    let policy = StandardPolicy::new();
    cert.with_policy(&policy, None)
        .ok()
        .and_then(|valid| valid.primary_key().key_expiration_time())
}

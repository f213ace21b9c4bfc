//! The error type of the `sign` module, with the exit code and advice the
//! CLI shows for each kind.

use std::path::PathBuf;

/// An error from the OpenPGP library (which reports `anyhow` errors), kept
/// with its chain of causes.
pub type CryptoError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while making, storing, loading or using a
/// signing key, or while checking a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The name or email cannot form an OpenPGP user ID.
    #[error("{name:?} and {email:?} do not make a valid user ID")]
    InvalidUserId {
        name: String,
        email: String,
        #[source]
        source: CryptoError,
    },
    /// Key generation failed.
    #[error("could not generate a key for {user_id}")]
    Generate {
        user_id: String,
        #[source]
        source: CryptoError,
    },
    /// The bytes are not an OpenPGP key (armored or binary).
    #[error("the data is not an OpenPGP key")]
    NotAKey {
        #[source]
        source: CryptoError,
    },
    /// A public key was given where a secret key is needed.
    #[error("key {fingerprint} is a public key without its secret parts")]
    NoSecret { fingerprint: String },
    /// The secret key is protected and no passphrase was given.
    #[error("key {fingerprint} is protected by a passphrase, and none was given")]
    MissingPassphrase { fingerprint: String },
    /// The passphrase does not decrypt the secret key.
    #[error("wrong passphrase for key {fingerprint}")]
    WrongPassphrase {
        fingerprint: String,
        #[source]
        source: CryptoError,
    },
    /// Protecting the secret key with a passphrase failed.
    #[error("could not encrypt the secret key {fingerprint}")]
    Encrypt {
        fingerprint: String,
        #[source]
        source: CryptoError,
    },
    /// Turning a key into bytes failed.
    #[error("could not serialize the {what} of key {fingerprint}")]
    Serialize {
        what: &'static str,
        fingerprint: String,
        #[source]
        source: CryptoError,
    },
    /// The key is expired, revoked or rejected by the policy at this time.
    #[error("key {fingerprint} cannot sign now")]
    Unusable {
        fingerprint: String,
        #[source]
        source: CryptoError,
    },
    /// No valid signing-capable (sub)key with its secret.
    #[error("key {fingerprint} has no valid signing subkey with its secret")]
    NoSigningKey { fingerprint: String },
    /// Making a signature failed.
    #[error("could not make the {what} with key {fingerprint}")]
    Sign {
        what: &'static str,
        fingerprint: String,
        #[source]
        source: CryptoError,
    },
    /// The public key given to verify with is unusable.
    #[error("the public key is not a valid OpenPGP certificate")]
    BadPublicKey {
        #[source]
        source: CryptoError,
    },
    /// `verify_clearsigned` got something other than a clearsigned text.
    #[error("the data is not clearsigned (no \"-----BEGIN PGP SIGNED MESSAGE-----\" line)")]
    NotClearsigned,
    /// The signatures are by keys other than the ones given.
    #[error(
        "the signature is by {}, not by the given key {}",
        list(issuers),
        list(keys)
    )]
    NotSignedByKey {
        issuers: Vec<String>,
        keys: Vec<String>,
    },
    /// The data does not match its signature (it changed since it was signed).
    #[error("the signature does not match the signed data: one of them was altered")]
    BadSignature {
        #[source]
        source: CryptoError,
    },
    /// The signature could not be checked at all (malformed, no signature,
    /// a key not valid at this time...).
    #[error("could not verify the {what}")]
    Verify {
        what: &'static str,
        #[source]
        source: CryptoError,
    },
    /// Neither `XDG_DATA_HOME` nor `HOME` says where the key store is.
    #[error("cannot locate the key store")]
    NoHome {
        #[source]
        source: crate::paths::PathsError,
    },
    /// The key store directory cannot be created or listed.
    #[error("could not prepare the key store {path}")]
    StoreDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A key file of the store (or named by path) is unusable.
    #[error("could not load the key in {path}")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: Box<SignError>,
    },
    /// No key was named and the store has no default.
    #[error("no signing key: the key store {dir} has no default key")]
    NoDefaultKey { dir: PathBuf },
    /// No key of the store matches.
    #[error("no key {spec} in the key store {dir}")]
    UnknownKey { spec: String, dir: PathBuf },
    /// Several keys of the store end with the given digits.
    #[error("{spec} matches several keys: {}", list(candidates))]
    AmbiguousKey {
        spec: String,
        candidates: Vec<String>,
    },
    /// The key was named by something that is neither hex digits nor a path.
    #[error("{spec:?} is not a fingerprint (8 or more hex digits) nor a path to a key file")]
    BadKeySpec { spec: String },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "no known key".to_owned()
    } else {
        items.join(", ")
    }
}

impl SignError {
    /// The error this one wraps when it only adds a file name, or itself.
    pub fn root(&self) -> &SignError {
        match self {
            SignError::KeyFile { source, .. } => source.root(),
            other => other,
        }
    }

    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        let hint = match self.root() {
            SignError::NoDefaultKey { .. } => {
                "create one with `git buildkit key generate --name NAME --email EMAIL`"
            }
            SignError::UnknownKey { .. } | SignError::BadKeySpec { .. } => {
                "`git buildkit key list` shows the keys of the store"
            }
            SignError::AmbiguousKey { .. } => "give more digits of the fingerprint",
            SignError::MissingPassphrase { .. } => {
                "set BUILDKIT_KEY_PASSPHRASE, or BUILDKIT_KEY_PASSPHRASE_FILE to a file holding it"
            }
            SignError::WrongPassphrase { .. } => {
                "check BUILDKIT_KEY_PASSPHRASE (or the file BUILDKIT_KEY_PASSPHRASE_FILE names)"
            }
            SignError::NoSecret { .. } => {
                "export the secret key (`gpg --export-secret-keys --armor FPR`), not the public one"
            }
            SignError::NoHome { .. } => "set HOME, or pass the key store with --store DIR",
            SignError::Unusable { .. } | SignError::NoSigningKey { .. } => {
                "generate a new key with `git buildkit key generate`, and publish its public key"
            }
            SignError::NotSignedByKey { .. } => {
                "check that the public key is the repository's current signing key"
            }
            _ => return None,
        };
        Some(hint.to_owned())
    }
}

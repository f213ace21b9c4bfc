//! Checking `InRelease` and `Release.gpg` against a public key, for
//! `repo verify`: under Sequoia's standard policy at the current time,
//! which is what sqv (apt's verifier from Debian 13 on) applies.
//!
//! A file passes when at least one signature is good and none is bad (a
//! signature by a key not given is ignored, as apt ignores it): a good
//! signature next to a broken one means the data was altered after signing.

use std::io::Read;

use sequoia_openpgp as openpgp;

use openpgp::cert::CertParser;
use openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationError, VerificationHelper,
    VerifierBuilder, DEFAULT_BUFFER_SIZE,
};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::{Cert, KeyHandle};

use super::SignError;

const CLEARSIGNED: &str = "clearsigned text";
const DETACHED: &str = "detached signature";

/// Checks a clearsigned text (`InRelease`) against a public key or keyring
/// (binary or armored) and returns the signed text.
pub fn verify_clearsigned(public_key: &[u8], signed: &[u8]) -> Result<Vec<u8>, SignError> {
    if !is_clearsigned(signed) {
        return Err(SignError::NotClearsigned);
    }
    let helper = Helper::new(public_key)?;
    let policy = StandardPolicy::new();
    // The verifier checks the signatures once it has buffered the whole
    // text; a buffer as large as the input makes that happen before any
    // text is returned.
    let mut verifier = VerifierBuilder::from_bytes(signed)
        .map(|b| b.buffer_size(signed.len().max(DEFAULT_BUFFER_SIZE)))
        .and_then(|b| b.with_policy(&policy, None, helper))
        .map_err(|e| failure(CLEARSIGNED, e))?;
    let mut text = Vec::new();
    verifier
        .read_to_end(&mut text)
        .map_err(|e| SignError::Verify {
            what: CLEARSIGNED,
            source: e.into(),
        })?;
    if !verifier.message_processed() {
        return Err(SignError::Verify {
            what: CLEARSIGNED,
            source: "the message ends early".into(),
        });
    }
    Ok(text)
}

/// Checks a detached signature (`Release.gpg`, armored or binary) of `data`
/// against a public key or keyring (binary or armored).
pub fn verify_detached(public_key: &[u8], data: &[u8], signature: &[u8]) -> Result<(), SignError> {
    let helper = Helper::new(public_key)?;
    let policy = StandardPolicy::new();
    DetachedVerifierBuilder::from_bytes(signature)
        .and_then(|b| b.with_policy(&policy, None, helper))
        .and_then(|mut verifier| verifier.verify_bytes(data))
        .map_err(|e| failure(DETACHED, e))
}

/// The first non-blank line opens a cleartext signature framework.
fn is_clearsigned(bytes: &[u8]) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .map(|line| line.trim_ascii_end())
        .find(|line| !line.is_empty())
        .is_some_and(|line| line == b"-----BEGIN PGP SIGNED MESSAGE-----")
}

/// Our own verdict comes back through Sequoia as an `anyhow` error; every
/// other error is Sequoia's (malformed input, a key not valid now...).
fn failure(what: &'static str, e: openpgp::anyhow::Error) -> SignError {
    match e.downcast::<Verdict>() {
        Ok(Verdict::NotSignedBy { issuers, keys }) => SignError::NotSignedByKey { issuers, keys },
        Ok(verdict @ Verdict::Bad { .. }) => SignError::BadSignature {
            source: verdict.into(),
        },
        Ok(verdict) => SignError::Verify {
            what,
            source: verdict.into(),
        },
        Err(e) => SignError::Verify {
            what,
            source: e.into(),
        },
    }
}

/// Why a message failed, decided in [`Helper::check`].
#[derive(Debug, thiserror::Error)]
enum Verdict {
    #[error("{message}")]
    Bad { message: String },
    #[error("no signature by the given key")]
    NotSignedBy {
        issuers: Vec<String>,
        keys: Vec<String>,
    },
    #[error("{message}")]
    Unverifiable { message: String },
    #[error("the data carries no signature")]
    Unsigned,
}

struct Helper {
    certs: Vec<Cert>,
}

impl Helper {
    /// Reads every key of a keyring, as apt's `signed-by` file may hold several.
    fn new(public_key: &[u8]) -> Result<Self, SignError> {
        let certs = CertParser::from_bytes(public_key)
            .and_then(|parser| parser.collect::<openpgp::Result<Vec<Cert>>>())
            .map_err(|e| SignError::BadPublicKey { source: e.into() })?;
        if certs.is_empty() {
            return Err(SignError::BadPublicKey {
                source: "no key in the data".into(),
            });
        }
        Ok(Self { certs })
    }
}

impl VerificationHelper for Helper {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.certs.clone())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        let mut good = 0_usize;
        let mut bad = None;
        let mut unverifiable = None;
        let mut issuers = Vec::new();
        for layer in structure {
            let MessageLayer::SignatureGroup { results } = layer else {
                unverifiable = Some("the data is compressed or encrypted".to_owned());
                continue;
            };
            for result in results {
                match result {
                    Ok(_) => good += 1,
                    Err(VerificationError::BadSignature { error, .. }) => {
                        bad = Some(format!("{error:#}"));
                    }
                    Err(VerificationError::MissingKey { sig }) => {
                        issuers.push(issuer(&sig.get_issuers()));
                    }
                    Err(other) => unverifiable = Some(other.to_string()),
                }
            }
        }
        let verdict = match (good, bad, unverifiable) {
            (_, Some(message), _) => Verdict::Bad { message },
            (1.., None, _) => return Ok(()),
            (0, None, Some(message)) => Verdict::Unverifiable { message },
            (0, None, None) if !issuers.is_empty() => Verdict::NotSignedBy {
                issuers,
                keys: self
                    .certs
                    .iter()
                    .map(|c| c.fingerprint().to_hex())
                    .collect(),
            },
            (0, None, None) => Verdict::Unsigned,
        };
        Err(verdict.into())
    }
}

/// The best name of a signature's issuer: its fingerprint if given, else
/// its key ID.
fn issuer(handles: &[KeyHandle]) -> String {
    handles
        .iter()
        .find(|h| matches!(h, KeyHandle::Fingerprint(_)))
        .or(handles.first())
        .map_or_else(|| "an unnamed key".to_owned(), |h| h.to_hex())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::sign::SigningKey;

    const RELEASE: &[u8] = b"Origin: example\nSuite: stable\n- dashed\n";

    fn key(name: &str) -> SigningKey {
        SigningKey::generate(name, "apt@example.org", None).expect("generate")
    }

    #[test]
    fn clearsigned_text_verifies_and_comes_back() {
        let key = key("A");
        let signed = key.clearsign(RELEASE).expect("sign");
        for public in [
            key.public_binary().expect("binary"),
            key.public_armored().expect("armored"),
        ] {
            assert_eq!(verify_clearsigned(&public, &signed).expect("good"), RELEASE);
        }
    }

    #[test]
    fn detached_signature_verifies() {
        let key = key("A");
        let signature = key.sign_detached(RELEASE).expect("sign");
        for public in [
            key.public_binary().expect("binary"),
            key.public_armored().expect("armored"),
        ] {
            verify_detached(&public, RELEASE, &signature).expect("good");
        }
    }

    #[test]
    fn a_keyring_with_several_keys_verifies() {
        let (a, b) = (key("A"), key("B"));
        let mut keyring = a.public_binary().expect("binary");
        keyring.extend(b.public_binary().expect("binary"));
        let signed = b.clearsign(RELEASE).expect("sign");
        assert_eq!(
            verify_clearsigned(&keyring, &signed).expect("good"),
            RELEASE
        );
        let signature = b.sign_detached(RELEASE).expect("sign");
        verify_detached(&keyring, RELEASE, &signature).expect("good");
    }

    #[test]
    fn tampered_clearsigned_text_is_bad() {
        let key = key("A");
        let signed = String::from_utf8(key.clearsign(RELEASE).expect("sign")).expect("utf8");
        let tampered = signed.replace("Suite: stable", "Suite: stablE");
        assert_ne!(signed, tampered);
        let err = verify_clearsigned(&key.public_binary().expect("binary"), tampered.as_bytes())
            .expect_err("tampered");
        assert!(matches!(err, SignError::BadSignature { .. }), "{err:?}");
    }

    #[test]
    fn tampered_data_is_bad() {
        let key = key("A");
        let signature = key.sign_detached(RELEASE).expect("sign");
        let mut changed = RELEASE.to_vec();
        changed[0] ^= 1;
        let err = verify_detached(&key.public_binary().expect("binary"), &changed, &signature)
            .expect_err("tampered");
        assert!(matches!(err, SignError::BadSignature { .. }), "{err:?}");
    }

    #[test]
    fn another_key_is_refused() {
        let (signer, other) = (key("A"), key("B"));
        let subkey = signer
            .cert
            .keys()
            .subkeys()
            .map(|ka| ka.key().fingerprint().to_hex())
            .collect::<Vec<_>>();
        let public = other.public_binary().expect("binary");
        let want = |err: SignError| match err {
            SignError::NotSignedByKey { issuers, keys } => {
                assert_eq!(issuers, subkey);
                assert_eq!(keys, [other.fingerprint()]);
            }
            err => panic!("{err:?}"),
        };
        let signed = signer.clearsign(RELEASE).expect("sign");
        want(verify_clearsigned(&public, &signed).expect_err("other key"));
        let signature = signer.sign_detached(RELEASE).expect("sign");
        want(verify_detached(&public, RELEASE, &signature).expect_err("other key"));
    }

    #[test]
    fn unsigned_or_garbage_input_is_refused() {
        let key = key("A");
        let public = key.public_binary().expect("binary");
        let err = verify_clearsigned(&public, RELEASE).expect_err("not clearsigned");
        assert!(matches!(err, SignError::NotClearsigned), "{err:?}");
        let err = verify_detached(&public, RELEASE, b"garbage").expect_err("no signature");
        assert!(matches!(err, SignError::Verify { .. }), "{err:?}");
        let err = verify_detached(b"garbage", RELEASE, b"garbage").expect_err("no key");
        assert!(matches!(err, SignError::BadPublicKey { .. }), "{err:?}");
    }
}

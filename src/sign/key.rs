//! The secret key that signs an apt repository: generated, read from and
//! written to armored text, optionally protected by a passphrase.
//!
//! Generated keys are what both verifiers apt may run accept for years:
//! gpgv (Debian 12) and sqv (Debian 13, Sequoia's standard policy, which
//! rejects SHA-1 — also in self-signatures — from 2026-02-01). So: a v4 key
//! (RFC 4880; gpgv 2.2 does not read v6 keys), Ed25519 (EdDSA), a
//! certify-only primary key with a signing subkey, and SHA-512 in every
//! self-signature, binding signature and back-signature (Sequoia's
//! `CertBuilder` hashes all of them with SHA-512).

use std::time::{Duration, SystemTime};

use sequoia_openpgp as openpgp;

use openpgp::cert::amalgamation::key::PrimaryKey;
use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::crypto::{Password, S2K};
use openpgp::packet::key::SecretKeyMaterial;
use openpgp::packet::UserID;
use openpgp::parse::Parse;
use openpgp::serialize::SerializeInto;
use openpgp::{Cert, Packet, Profile};

use super::public::{self, serialize_error, PublicKey};
use super::SignError;

/// A secret OpenPGP key able to sign release files.
///
/// In memory its secret parts are decrypted; they are encrypted again only
/// when written out with a passphrase.
pub struct SigningKey {
    pub(super) cert: Cert,
}

impl SigningKey {
    /// Generates a key for `Name <email>` that expires after `validity`, or
    /// never.
    pub fn generate(
        name: &str,
        email: &str,
        validity: Option<Duration>,
    ) -> Result<Self, SignError> {
        let uid =
            UserID::from_address(name, None, email).map_err(|e| SignError::InvalidUserId {
                name: name.to_owned(),
                email: email.to_owned(),
                source: e.into(),
            })?;
        let user_id = String::from_utf8_lossy(uid.value()).into_owned();
        let (cert, _revocation) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_profile(Profile::RFC4880)
            .and_then(|builder| {
                builder
                    .add_userid(uid)
                    .add_signing_subkey()
                    .set_validity_period(validity)
                    .generate()
            })
            .map_err(|e| SignError::Generate {
                user_id,
                source: e.into(),
            })?;
        Ok(Self { cert })
    }

    /// Reads an armored (or binary) secret key, decrypting its secret parts
    /// with `passphrase` where they are protected.
    ///
    /// Secret parts that are stubs (a primary key kept offline, exported
    /// with `gpg --export-secret-subkeys`) are left as they are.
    pub fn from_armored(text: &[u8], passphrase: Option<&str>) -> Result<Self, SignError> {
        let cert = Cert::from_bytes(text).map_err(|e| SignError::NotAKey { source: e.into() })?;
        let fingerprint = public::fingerprint(&cert);
        if !cert.is_tsk() {
            return Err(SignError::NoSecret { fingerprint });
        }
        let password = passphrase.map(Password::from);
        let mut decrypted = Vec::new();
        for ka in cert.keys().secret() {
            let SecretKeyMaterial::Encrypted(encrypted) = ka.key().secret() else {
                continue;
            };
            if is_stub(encrypted.s2k()) {
                continue;
            }
            let Some(password) = &password else {
                return Err(SignError::MissingPassphrase { fingerprint });
            };
            let key = ka.key().clone().decrypt_secret(password).map_err(|e| {
                SignError::WrongPassphrase {
                    fingerprint: fingerprint.clone(),
                    source: e.into(),
                }
            })?;
            decrypted.push(if ka.primary() {
                Packet::from(key.role_into_primary())
            } else {
                Packet::from(key.role_into_subordinate())
            });
        }
        if decrypted.is_empty() {
            return Ok(Self { cert });
        }
        // `insert_packets` prefers the inserted version of a key, so the
        // decrypted secrets replace the encrypted ones.
        let (cert, _) = cert
            .insert_packets(decrypted)
            .map_err(|e| SignError::NotAKey { source: e.into() })?;
        Ok(Self { cert })
    }

    /// The secret key as armored text (`-----BEGIN PGP PRIVATE KEY
    /// BLOCK-----`), its secret parts encrypted with `passphrase` when given.
    pub fn to_armored_secret(&self, passphrase: Option<&str>) -> Result<Vec<u8>, SignError> {
        let cert = match passphrase {
            None => self.cert.clone(),
            Some(passphrase) => self.encrypted(&Password::from(passphrase))?,
        };
        let armored = cert
            .as_tsk()
            .armored()
            .to_vec()
            .map_err(|e| serialize_error("secret key", &self.cert, e));
        armored
    }

    /// A copy of the key with every usable secret part encrypted.
    fn encrypted(&self, password: &Password) -> Result<Cert, SignError> {
        let encrypt_error = |e: openpgp::anyhow::Error| SignError::Encrypt {
            fingerprint: self.fingerprint(),
            source: e.into(),
        };
        let mut packets = Vec::new();
        for ka in self.cert.keys().secret() {
            if !ka.key().has_unencrypted_secret() {
                continue;
            }
            let key = ka
                .key()
                .clone()
                .encrypt_secret(password)
                .map_err(encrypt_error)?;
            packets.push(if ka.primary() {
                Packet::from(key.role_into_primary())
            } else {
                Packet::from(key.role_into_subordinate())
            });
        }
        let (cert, _) = self
            .cert
            .clone()
            .insert_packets(packets)
            .map_err(encrypt_error)?;
        Ok(cert)
    }

    /// Uppercase hex fingerprint of the primary key.
    pub fn fingerprint(&self) -> String {
        public::fingerprint(&self.cert)
    }

    /// The primary user ID, e.g. `Example Archive <apt@example.org>`.
    pub fn user_id(&self) -> String {
        public::user_id(&self.cert)
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey::from_cert(self.cert.clone())
    }

    /// A binary transferable public key (for `signed-by` `*.gpg` files).
    pub fn public_binary(&self) -> Result<Vec<u8>, SignError> {
        self.public().to_binary()
    }

    /// The ASCII-armored public key (`-----BEGIN PGP PUBLIC KEY BLOCK-----`).
    pub fn public_armored(&self) -> Result<Vec<u8>, SignError> {
        self.public().to_armored()
    }

    /// When the primary key was made (a minute before generation: Sequoia
    /// backdates new keys so that clocks slightly behind still accept them).
    pub fn created(&self) -> SystemTime {
        public::created(&self.cert)
    }

    /// When the primary key expires, if it does.
    pub fn expires(&self) -> Option<SystemTime> {
        public::expires(&self.cert)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint())
            .field("user_id", &self.user_id())
            .finish_non_exhaustive()
    }
}

/// GnuPG's "no secret here" markers (S2K 101, `gnu-dummy` and
/// `gnu-divert-to-card`) and unknown S2K specifiers: no passphrase decrypts
/// them.
pub(super) fn is_stub(s2k: &S2K) -> bool {
    matches!(s2k, S2K::Private { .. } | S2K::Unknown { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn key() -> SigningKey {
        SigningKey::generate("Example Archive", "apt@example.org", None).expect("generate")
    }

    #[test]
    fn generated_key_describes_itself() {
        let key = key();
        assert_eq!(key.user_id(), "Example Archive <apt@example.org>");
        let fpr = key.fingerprint();
        assert_eq!(fpr.len(), 40);
        assert!(
            fpr.chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
            "{fpr}"
        );
        assert_eq!(key.expires(), None);
        let age = crate::time::unix_now() - crate::time::unix_secs(key.created());
        assert!(age < 600, "{age}");
        let uid = "Example Archive <apt@example.org>";
        assert_eq!(
            format!("{key:?}"),
            format!("SigningKey {{ fingerprint: {fpr:?}, user_id: {uid:?}, .. }}")
        );
    }

    #[test]
    fn validity_sets_the_expiry() {
        let day = Duration::from_secs(86_400);
        let key = SigningKey::generate("A", "a@example.org", Some(day)).expect("generate");
        assert_eq!(key.expires(), Some(key.created() + day));
    }

    #[test]
    fn invalid_user_id_is_refused() {
        let err = SigningKey::generate("Example", "not an address", None).expect_err("refused");
        assert!(
            matches!(&err, SignError::InvalidUserId { email, .. } if email == "not an address"),
            "{err:?}"
        );
    }

    #[test]
    fn public_exports_have_their_formats() {
        let key = key();
        let binary = key.public_binary().expect("binary");
        assert!([0x98, 0x99, 0xc6].contains(&binary[0]), "{:#x}", binary[0]);
        let armored = key.public_armored().expect("armored");
        assert!(
            armored.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n"),
            "{}",
            String::from_utf8_lossy(&armored)
        );
        for bytes in [&binary, &armored] {
            let public = PublicKey::from_bytes(bytes).expect("parse");
            assert_eq!(public.fingerprint(), key.fingerprint());
            assert_eq!(public.user_id(), key.user_id());
            let err = SigningKey::from_armored(bytes, None).expect_err("public only");
            let fpr = key.fingerprint();
            assert!(
                matches!(&err, SignError::NoSecret { fingerprint } if *fingerprint == fpr),
                "{err:?}"
            );
        }
    }

    #[test]
    fn secret_round_trips_without_passphrase() {
        let key = key();
        let text = key.to_armored_secret(None).expect("armor");
        assert!(text.starts_with(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n"));
        let back = SigningKey::from_armored(&text, None).expect("read back");
        assert_eq!(back.fingerprint(), key.fingerprint());
        assert_eq!(back.to_armored_secret(None).expect("armor"), text);
        // A passphrase given for an unprotected key is not needed, and harmless.
        SigningKey::from_armored(&text, Some("unused")).expect("read back");
    }

    #[test]
    fn secret_round_trips_with_passphrase() {
        let key = key();
        let text = key.to_armored_secret(Some("correct horse")).expect("armor");
        let back = SigningKey::from_armored(&text, Some("correct horse")).expect("read back");
        assert_eq!(back.fingerprint(), key.fingerprint());
        assert_eq!(
            back.to_armored_secret(None).expect("armor"),
            key.to_armored_secret(None).expect("armor"),
            "decrypting gives back the same secret key"
        );

        let fpr = key.fingerprint();
        let err = SigningKey::from_armored(&text, None).expect_err("no passphrase");
        assert!(
            matches!(&err, SignError::MissingPassphrase { fingerprint } if *fingerprint == fpr),
            "{err:?}"
        );
        let err = SigningKey::from_armored(&text, Some("battery staple")).expect_err("wrong");
        assert!(
            matches!(&err, SignError::WrongPassphrase { fingerprint, .. } if *fingerprint == fpr),
            "{err:?}"
        );
    }

    #[test]
    fn garbage_is_not_a_key() {
        for bytes in [
            &b""[..],
            b"hello",
            b"-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n",
        ] {
            let err = SigningKey::from_armored(bytes, None).expect_err("not a key");
            assert!(matches!(err, SignError::NotAKey { .. }), "{err:?}");
        }
    }
}

//! Signing release files: `InRelease` is the Release file clearsigned,
//! `Release.gpg` its detached, ASCII-armored signature (see
//! <https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files>).
//! Both are hashed with SHA-512 and made by the key's signing subkey.

use std::io::Write;

use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::crypto::KeyPair;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::types::{HashAlgorithm, RevocationStatus};

use super::{SignError, SigningKey};

impl SigningKey {
    /// The text clearsigned (`-----BEGIN PGP SIGNED MESSAGE-----`), as apt
    /// reads `InRelease`. Trailing whitespace of each line is not signed
    /// (RFC 9580, section 7.2), so it is dropped from the output.
    pub fn clearsign(&self, text: &[u8]) -> Result<Vec<u8>, SignError> {
        let what = "clearsigned text";
        let keypair = self.signing_keypair()?;
        let mut out = Vec::new();
        let message = Message::new(&mut out);
        let signer = Signer::new(message, keypair)
            .and_then(|s| s.cleartext().hash_algo(HashAlgorithm::SHA512))
            .and_then(|s| s.build())
            .map_err(|e| self.sign_error(what, e))?;
        write_and_finalize(signer, text).map_err(|e| self.sign_error(what, e))?;
        Ok(out)
    }

    /// An ASCII-armored detached signature of the data
    /// (`-----BEGIN PGP SIGNATURE-----`), as apt reads `Release.gpg`.
    pub fn sign_detached(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let what = "detached signature";
        let keypair = self.signing_keypair()?;
        let mut out = Vec::new();
        let message = Message::new(&mut out);
        let signer = Armorer::new(message)
            .kind(armor::Kind::Signature)
            .build()
            .and_then(|armored| Signer::new(armored, keypair))
            .and_then(|s| s.detached().hash_algo(HashAlgorithm::SHA512))
            .and_then(|s| s.build())
            .map_err(|e| self.sign_error(what, e))?;
        write_and_finalize(signer, data).map_err(|e| self.sign_error(what, e))?;
        Ok(out)
    }

    /// The newest signing-capable subkey that is valid now, with its secret.
    fn signing_keypair(&self) -> Result<KeyPair, SignError> {
        let unusable = |source: openpgp::anyhow::Error| SignError::Unusable {
            fingerprint: self.fingerprint(),
            source: source.into(),
        };
        let policy = StandardPolicy::new();
        let valid = self.cert.with_policy(&policy, None).map_err(unusable)?;
        valid.alive().map_err(unusable)?;
        if let RevocationStatus::Revoked(_) = valid.revocation_status() {
            return Err(SignError::Unusable {
                fingerprint: self.fingerprint(),
                source: "the key is revoked".into(),
            });
        }
        let newest = valid
            .keys()
            .secret()
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
            .unencrypted_secret()
            .max_by_key(|ka| ka.key().creation_time())
            .ok_or_else(|| SignError::NoSigningKey {
                fingerprint: self.fingerprint(),
            })?;
        newest.key().clone().into_keypair().map_err(unusable)
    }

    fn sign_error(&self, what: &'static str, e: openpgp::anyhow::Error) -> SignError {
        SignError::Sign {
            what,
            fingerprint: self.fingerprint(),
            source: e.into(),
        }
    }
}

fn write_and_finalize(mut message: Message<'_>, data: &[u8]) -> openpgp::Result<()> {
    message.write_all(data)?;
    message.finalize()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;

    use openpgp::packet::{Signature, Tag};
    use openpgp::parse::Parse;
    use openpgp::types::{Curve, PublicKeyAlgorithm, SignatureType};
    use openpgp::{Packet, PacketPile};
    use pretty_assertions::assert_eq;

    use super::*;

    const RELEASE: &str = "Origin: example\nLabel: example\nSuite: stable\nCodename: bookworm\n\
        Date: Mon, 01 Jan 2024 00:00:00 UTC\nArchitectures: amd64 all\nComponents: main\n\
        SHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
        123 main/binary-amd64/Packages\n\
        - a line that needs dash-escaping\n";

    fn key() -> SigningKey {
        SigningKey::generate("Example Archive", "apt@example.org", None).expect("generate")
    }

    /// Runs the real gpgv with an empty home, the binary public key as its
    /// only keyring, and the machine-readable status on stdout.
    fn gpgv(dir: &Path, key: &SigningKey, files: &[&str]) -> (bool, Vec<String>) {
        let keyring = dir.join("keyring.gpg");
        std::fs::write(&keyring, key.public_binary().expect("binary")).expect("write keyring");
        let home = dir.join("gnupg");
        std::fs::create_dir_all(&home).expect("home");
        let output = Command::new("/usr/bin/gpgv")
            .arg("--homedir")
            .arg(&home)
            .args(["--status-fd", "1", "--keyring"])
            .arg(&keyring)
            .args(files)
            .current_dir(dir)
            .env("LC_ALL", "C")
            .env("HOME", dir)
            .output()
            .expect("run gpgv");
        let status = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("[GNUPG:] "))
            .map(str::to_owned)
            .collect();
        (output.status.success(), status)
    }

    /// The `VALIDSIG` line gpgv prints for a good signature, without the
    /// creation date and time: the signing subkey, no expiry (0), signature
    /// version 4, a reserved 0, EdDSA (22), SHA-512 (10), the signature
    /// class (01 text, 00 binary), and the primary key.
    fn valid_sig(status: &[String]) -> String {
        let line = status
            .iter()
            .find(|l| l.starts_with("VALIDSIG "))
            .unwrap_or_else(|| panic!("no VALIDSIG in {status:#?}"));
        let fields: Vec<&str> = line.split(' ').collect();
        let mut kept = vec![fields[1]];
        kept.extend(&fields[4..]);
        kept.join(" ")
    }

    fn signing_subkey(key: &SigningKey) -> String {
        let subkeys: Vec<String> = key
            .cert
            .keys()
            .subkeys()
            .map(|ka| ka.key().fingerprint().to_hex())
            .collect();
        assert_eq!(subkeys.len(), 1, "{subkeys:?}");
        subkeys[0].clone()
    }

    #[test]
    fn gpgv_accepts_inrelease() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key();
        let signed = key.clearsign(RELEASE.as_bytes()).expect("clearsign");
        std::fs::write(dir.path().join("InRelease"), &signed).expect("write");
        let (ok, status) = gpgv(dir.path(), &key, &["InRelease"]);
        assert!(ok, "{status:#?}\n{}", String::from_utf8_lossy(&signed));
        assert_eq!(
            valid_sig(&status),
            format!(
                "{} 0 4 0 22 10 01 {}",
                signing_subkey(&key),
                key.fingerprint()
            )
        );

        let tampered = String::from_utf8_lossy(&signed).replace("Suite: stable", "Suite: stablE");
        std::fs::write(dir.path().join("InRelease"), tampered).expect("write");
        let (ok, status) = gpgv(dir.path(), &key, &["InRelease"]);
        assert!(!ok, "gpgv accepted a changed InRelease: {status:#?}");
    }

    #[test]
    fn gpgv_accepts_release_gpg() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key();
        let signature = key.sign_detached(RELEASE.as_bytes()).expect("sign");
        assert!(signature.starts_with(b"-----BEGIN PGP SIGNATURE-----\n"));
        std::fs::write(dir.path().join("Release"), RELEASE).expect("write");
        std::fs::write(dir.path().join("Release.gpg"), &signature).expect("write");
        let (ok, status) = gpgv(dir.path(), &key, &["Release.gpg", "Release"]);
        assert!(ok, "{status:#?}");
        assert_eq!(
            valid_sig(&status),
            format!(
                "{} 0 4 0 22 10 00 {}",
                signing_subkey(&key),
                key.fingerprint()
            )
        );

        let mut changed = RELEASE.as_bytes().to_vec();
        changed[3] ^= 1;
        std::fs::write(dir.path().join("Release"), changed).expect("write");
        let (ok, status) = gpgv(dir.path(), &key, &["Release.gpg", "Release"]);
        assert!(!ok, "gpgv accepted a changed Release: {status:#?}");
    }

    #[test]
    fn gpgv_refuses_another_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let signed = key().clearsign(RELEASE.as_bytes()).expect("clearsign");
        std::fs::write(dir.path().join("InRelease"), &signed).expect("write");
        let (ok, status) = gpgv(dir.path(), &key(), &["InRelease"]);
        assert!(!ok, "{status:#?}");
        assert!(
            status.iter().any(|l| l.starts_with("NO_PUBKEY ")),
            "{status:#?}"
        );
    }

    fn signatures(packets: &PacketPile) -> Vec<&Signature> {
        packets
            .descendants()
            .filter_map(|p| match p {
                Packet::Signature(sig) => Some(sig),
                _ => None,
            })
            .collect()
    }

    fn is_ed25519_v4(packet: &Packet) -> bool {
        let key = match packet {
            Packet::PublicKey(k) => k.clone().role_into_unspecified(),
            Packet::PublicSubkey(k) => k.clone().role_into_unspecified(),
            _ => return false,
        };
        key.version() == 4
            && key.pk_algo() == PublicKeyAlgorithm::EdDSA
            && matches!(
                key.mpis(),
                openpgp::crypto::mpi::PublicKey::EdDSA {
                    curve: Curve::Ed25519,
                    ..
                }
            )
    }

    #[test]
    fn every_signature_of_the_key_is_sha512_and_the_keys_are_ed25519_v4() {
        let key = key();
        let pile = PacketPile::from_bytes(&key.public_binary().expect("binary")).expect("parse");
        let tags: Vec<Tag> = pile.children().map(Packet::tag).collect();
        assert_eq!(
            tags,
            [
                Tag::PublicKey,
                Tag::Signature,
                Tag::UserID,
                Tag::Signature,
                Tag::PublicSubkey,
                Tag::Signature,
            ]
        );
        assert!(
            pile.children()
                .filter(|p| matches!(p, Packet::PublicKey(_) | Packet::PublicSubkey(_)))
                .all(is_ed25519_v4),
            "{pile:#?}"
        );
        let mut seen = Vec::new();
        for sig in signatures(&pile) {
            seen.push((sig.typ(), sig.hash_algo(), sig.version()));
            for embedded in sig.embedded_signatures() {
                seen.push((embedded.typ(), embedded.hash_algo(), embedded.version()));
            }
        }
        let sha512 = HashAlgorithm::SHA512;
        assert_eq!(
            seen,
            [
                (SignatureType::DirectKey, sha512, 4),
                (SignatureType::PositiveCertification, sha512, 4),
                (SignatureType::SubkeyBinding, sha512, 4),
                (SignatureType::PrimaryKeyBinding, sha512, 4),
            ]
        );
    }

    #[test]
    fn signatures_are_sha512_by_the_signing_subkey() {
        let key = key();
        let subkey = signing_subkey(&key);
        let clearsigned = key.clearsign(RELEASE.as_bytes()).expect("clearsign");
        let text = String::from_utf8(clearsigned.clone()).expect("utf8");
        assert!(
            text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"),
            "{text}"
        );
        let detached = key.sign_detached(RELEASE.as_bytes()).expect("sign");
        for (bytes, typ) in [
            (&clearsigned, SignatureType::Text),
            (&detached, SignatureType::Binary),
        ] {
            let pile = PacketPile::from_bytes(bytes).expect("parse");
            let found: Vec<_> = signatures(&pile)
                .iter()
                .map(|sig| {
                    (
                        sig.typ(),
                        sig.hash_algo(),
                        sig.pk_algo(),
                        sig.version(),
                        sig.issuer_fingerprints()
                            .map(|f| f.to_hex())
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            assert_eq!(
                found,
                [(
                    typ,
                    HashAlgorithm::SHA512,
                    PublicKeyAlgorithm::EdDSA,
                    4,
                    vec![subkey.clone()]
                )]
            );
        }
    }

    #[test]
    fn an_expired_key_does_not_sign() {
        // Sequoia backdates a new key by a minute, so a one-second validity
        // has already run out.
        let key = SigningKey::generate("Old", "old@example.org", Some(Duration::from_secs(1)))
            .expect("generate");
        let err = key.clearsign(b"text\n").expect_err("expired");
        assert!(matches!(err, SignError::Unusable { .. }), "{err:?}");
        assert!(err.hint().is_some());
    }
}

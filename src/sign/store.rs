//! The key store: one directory of signing keys, so that `repo publish`
//! finds the key without being told where it is.
//!
//! The directory (mode 0700) is `$XDG_DATA_HOME/git-buildkit/keys/`, or
//! `$HOME/.local/share/git-buildkit/keys/` (the XDG base directory spec's
//! fallback). It holds `<FPR>.key`, the armored secret key (0600),
//! `<FPR>.asc`, its public key (0644, for copying into a repository), and
//! `default`, the fingerprint used when no key is named. Every file is
//! written to a temporary file beside it and renamed into place, so a crash
//! never leaves half a key.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sequoia_openpgp as openpgp;

use openpgp::packet::key::SecretKeyMaterial;
use openpgp::parse::Parse;
use openpgp::Cert;

use super::key::is_stub;
use super::public::{self, PublicKey};
use super::{SignError, SigningKey};
use crate::time::unix_secs;

const DEFAULT_FILE: &str = "default";
const SECRET_EXT: &str = "key";
const PUBLIC_EXT: &str = "asc";

/// A directory of signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStore {
    dir: PathBuf,
}

/// A key of the store, as `key list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// Uppercase hex fingerprint of the primary key.
    pub fingerprint: String,
    /// The primary user ID.
    pub user_id: String,
    /// Creation time, in seconds since the Unix epoch.
    pub created: u64,
    /// Expiry time, in seconds since the Unix epoch, if the key expires.
    pub expires: Option<u64>,
    /// Whether the secret key is protected by a passphrase.
    pub protected: bool,
    /// Whether this is the key used when none is named.
    pub is_default: bool,
    /// The secret key file.
    pub path: PathBuf,
}

impl KeyStore {
    /// The store of this user, from `BUILDKIT_KEY_STORE`, `XDG_DATA_HOME` or `HOME`
    /// ([`crate::paths::Env::keys_dir`]).
    pub fn default_location() -> Result<Self, SignError> {
        crate::paths::Env::current()
            .keys_dir()
            .map(Self::at)
            .map_err(|source| SignError::NoHome { source })
    }

    /// A store in the given directory.
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the key (its secret encrypted with `passphrase` when given)
    /// and its public key, and makes it the default when the store has no
    /// usable default yet. Returns the secret key file.
    pub fn save(&self, key: &SigningKey, passphrase: Option<&str>) -> Result<PathBuf, SignError> {
        let path = self.write_key(key, passphrase)?;
        let usable_default = match self.default_fingerprint()? {
            Some(current) => self.file(&current, SECRET_EXT).is_file(),
            None => false,
        };
        if !usable_default {
            self.set_default(&key.fingerprint())?;
        }
        Ok(path)
    }

    /// Like [`KeyStore::save`], and makes the key the default whatever the
    /// default was.
    pub fn save_as_default(
        &self,
        key: &SigningKey,
        passphrase: Option<&str>,
    ) -> Result<PathBuf, SignError> {
        let path = self.write_key(key, passphrase)?;
        self.set_default(&key.fingerprint())?;
        Ok(path)
    }

    /// Writes the secret and the public key files; returns the secret's.
    fn write_key(&self, key: &SigningKey, passphrase: Option<&str>) -> Result<PathBuf, SignError> {
        self.prepare_dir()?;
        let fingerprint = key.fingerprint();
        let secret = key.to_armored_secret(passphrase)?;
        let path = self.file(&fingerprint, SECRET_EXT);
        write_atomic(&path, &secret, 0o600)?;
        let public = key.public_armored()?;
        write_atomic(&self.file(&fingerprint, PUBLIC_EXT), &public, 0o644)?;
        Ok(path)
    }

    /// Points the `default` file at `fingerprint`.
    fn set_default(&self, fingerprint: &str) -> Result<(), SignError> {
        let default = self.dir.join(DEFAULT_FILE);
        write_atomic(&default, format!("{fingerprint}\n").as_bytes(), 0o644)
    }

    /// Every key of the store, oldest first.
    pub fn list(&self) -> Result<Vec<KeyInfo>, SignError> {
        let default = self.default_fingerprint()?;
        let mut keys = Vec::new();
        for fingerprint in self.fingerprints()? {
            let path = self.file(&fingerprint, SECRET_EXT);
            let bytes = read(&path)?;
            let cert = Cert::from_bytes(&bytes).map_err(|e| SignError::KeyFile {
                path: path.clone(),
                source: Box::new(SignError::NotAKey { source: e.into() }),
            })?;
            keys.push(KeyInfo {
                fingerprint: public::fingerprint(&cert),
                user_id: public::user_id(&cert),
                created: unix_secs(public::created(&cert)),
                expires: public::expires(&cert).map(unix_secs),
                protected: is_protected(&cert),
                is_default: default.as_deref() == Some(fingerprint.as_str()),
                path,
            });
        }
        keys.sort_by(|a, b| (a.created, &a.fingerprint).cmp(&(b.created, &b.fingerprint)));
        Ok(keys)
    }

    /// The fingerprint in the `default` file, if there is one.
    pub fn default_fingerprint(&self) -> Result<Option<String>, SignError> {
        let path = self.dir.join(DEFAULT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let fingerprint = text.trim().to_ascii_uppercase();
                Ok((!fingerprint.is_empty()).then_some(fingerprint))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SignError::Read { path, source }),
        }
    }

    /// Loads by fingerprint (full, or a unique suffix of at least 8 hex
    /// digits, any case), or the default key when `spec` is `None`, or the
    /// key file at `spec` when it contains a `/`.
    pub fn load(
        &self,
        spec: Option<&str>,
        passphrase: Option<&str>,
    ) -> Result<SigningKey, SignError> {
        let path = self.resolve(spec)?;
        let bytes = read(&path)?;
        SigningKey::from_armored(&bytes, passphrase).map_err(|e| SignError::KeyFile {
            path,
            source: Box::new(e),
        })
    }

    /// The public half of a key named as for [`KeyStore::load`]; needs no
    /// passphrase.
    pub fn public_key(&self, spec: Option<&str>) -> Result<PublicKey, SignError> {
        let path = self.resolve(spec)?;
        let bytes = read(&path)?;
        PublicKey::from_bytes(&bytes).map_err(|e| SignError::KeyFile {
            path,
            source: Box::new(e),
        })
    }

    /// The key file a spec names (see [`KeyStore::load`]).
    pub fn resolve(&self, spec: Option<&str>) -> Result<PathBuf, SignError> {
        let Some(spec) = spec else {
            let fingerprint =
                self.default_fingerprint()?
                    .ok_or_else(|| SignError::NoDefaultKey {
                        dir: self.dir.clone(),
                    })?;
            let path = self.file(&fingerprint, SECRET_EXT);
            if !path.is_file() {
                return Err(SignError::UnknownKey {
                    spec: fingerprint,
                    dir: self.dir.clone(),
                });
            }
            return Ok(path);
        };
        if spec.contains('/') {
            return Ok(PathBuf::from(spec));
        }
        let wanted = normalize(spec)?;
        let mut candidates: Vec<String> = self
            .fingerprints()?
            .into_iter()
            .filter(|f| f.ends_with(&wanted))
            .collect();
        match candidates.len() {
            0 => Err(SignError::UnknownKey {
                spec: spec.to_owned(),
                dir: self.dir.clone(),
            }),
            1 => Ok(self.file(&candidates.remove(0), SECRET_EXT)),
            _ => Err(SignError::AmbiguousKey {
                spec: spec.to_owned(),
                candidates,
            }),
        }
    }

    fn file(&self, fingerprint: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{fingerprint}.{ext}"))
    }

    /// The fingerprints of the secret key files, sorted; none when the
    /// store does not exist yet.
    fn fingerprints(&self) -> Result<Vec<String>, SignError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(SignError::StoreDir {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SignError::StoreDir {
                path: self.dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            let Some(stem) = name
                .to_str()
                .and_then(|n| n.strip_suffix(&format!(".{SECRET_EXT}")))
            else {
                continue;
            };
            if is_fingerprint(stem) {
                found.push(stem.to_owned());
            }
        }
        found.sort();
        Ok(found)
    }

    fn prepare_dir(&self) -> Result<(), SignError> {
        let prepare = || {
            std::fs::create_dir_all(&self.dir)?;
            std::fs::set_permissions(&self.dir, Permissions::from_mode(0o700))
        };
        prepare().map_err(|source| SignError::StoreDir {
            path: self.dir.clone(),
            source,
        })
    }
}

/// A v4 (40 digits) or v6 (64 digits) fingerprint as the store names files.
fn is_fingerprint(s: &str) -> bool {
    matches!(s.len(), 40 | 64)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// Uppercase hex digits without spaces or a `0x`; at least 8 of them.
fn normalize(spec: &str) -> Result<String, SignError> {
    let digits: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .unwrap_or(&digits)
        .to_ascii_uppercase();
    if (8..=64).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(digits)
    } else {
        Err(SignError::BadKeySpec {
            spec: spec.to_owned(),
        })
    }
}

/// Whether some secret part needs a passphrase.
fn is_protected(cert: &Cert) -> bool {
    cert.keys().secret().any(|ka| match ka.key().secret() {
        SecretKeyMaterial::Encrypted(e) => !is_stub(e.s2k()),
        SecretKeyMaterial::Unencrypted(_) => false,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, SignError> {
    std::fs::read(path).map_err(|source| SignError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Writes through a temporary file in the same directory, with its final
/// mode set before the first byte, synced: a key is never seen half-written,
/// with wider permissions, or lost by a power cut after the command returned.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SignError> {
    crate::fsutil::write_atomic(path, bytes, mode, crate::fsutil::Durability::Synced).map_err(
        |source| SignError::Write {
            path: path.to_owned(),
            source,
        },
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use pretty_assertions::assert_eq;

    use super::*;

    fn key(name: &str) -> SigningKey {
        SigningKey::generate(name, "apt@example.org", None).expect("generate")
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("metadata").mode() & 0o7777
    }

    fn store() -> (tempfile::TempDir, KeyStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::at(dir.path().join("data/git-buildkit/keys"));
        (dir, store)
    }

    #[test]
    fn save_writes_private_files_and_the_first_default() {
        let (_tmp, store) = store();
        let key = key("A");
        let fpr = key.fingerprint();
        let path = store.save(&key, None).expect("save");
        assert_eq!(path, store.dir().join(format!("{fpr}.key")));
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(mode(&path), 0o600);
        let public = store.dir().join(format!("{fpr}.asc"));
        assert_eq!(mode(&public), 0o644);
        assert_eq!(
            std::fs::read(&public).expect("read"),
            key.public_armored().expect("armored")
        );
        let mut names: Vec<String> = std::fs::read_dir(store.dir())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("{fpr}.asc"),
                format!("{fpr}.key"),
                "default".to_owned()
            ]
        );
        assert_eq!(
            store.default_fingerprint().expect("default"),
            Some(fpr.clone())
        );
        assert_eq!(store.load(None, None).expect("load").fingerprint(), fpr);
    }

    #[test]
    fn default_moves_only_when_asked() {
        let (_tmp, store) = store();
        let (a, b, c) = (key("A"), key("B"), key("C"));
        store.save(&a, None).expect("save");
        store.save(&b, None).expect("save");
        assert_eq!(
            store.default_fingerprint().expect("default"),
            Some(a.fingerprint())
        );
        store.save_as_default(&c, None).expect("save");
        assert_eq!(
            store.default_fingerprint().expect("default"),
            Some(c.fingerprint())
        );

        // A default whose key file is gone is replaced by the next key saved.
        std::fs::remove_file(store.file(&c.fingerprint(), SECRET_EXT)).expect("rm");
        let err = store.load(None, None).expect_err("stale default");
        assert!(matches!(err, SignError::UnknownKey { .. }), "{err:?}");
        store.save(&b, None).expect("save");
        assert_eq!(
            store.default_fingerprint().expect("default"),
            Some(b.fingerprint())
        );
    }

    #[test]
    fn empty_store_has_no_default() {
        let (_tmp, store) = store();
        assert_eq!(store.list().expect("list"), []);
        assert_eq!(store.default_fingerprint().expect("default"), None);
        let err = store.load(None, None).expect_err("no default");
        assert!(matches!(err, SignError::NoDefaultKey { .. }), "{err:?}");
        assert_eq!(
            err.hint().as_deref(),
            Some("create one with `git buildkit key generate --name NAME --email EMAIL`")
        );
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn load_by_suffix_any_case_or_path() {
        let (_tmp, store) = store();
        let key = key("A");
        let fpr = key.fingerprint();
        let path = store.save(&key, None).expect("save");
        for spec in [
            fpr.clone(),
            fpr[32..].to_owned(),
            fpr[30..].to_ascii_lowercase(),
            format!("0x{}", &fpr[24..]),
            path.display().to_string(),
        ] {
            assert_eq!(
                store.load(Some(&spec), None).expect(&spec).fingerprint(),
                fpr
            );
            assert_eq!(
                store.public_key(Some(&spec)).expect(&spec).fingerprint(),
                fpr
            );
        }
    }

    #[test]
    fn unknown_short_and_ambiguous_specs_are_errors() {
        let (_tmp, store) = store();
        store.prepare_dir().expect("dir");
        let key = key("A");
        let fpr = key.fingerprint();
        let text = key.to_armored_secret(None).expect("armor");
        // Two fake names sharing the last 8 digits (and only those), both valid files.
        let other = if fpr.as_bytes()[31] == b'0' { '1' } else { '0' };
        let twin = format!("{}{other}{}", "0".repeat(31), &fpr[32..]);
        std::fs::write(store.file(&fpr, SECRET_EXT), &text).expect("write");
        std::fs::write(store.file(&twin, SECRET_EXT), &text).expect("write");

        let err = store.load(Some(&fpr[32..]), None).expect_err("ambiguous");
        match &err {
            SignError::AmbiguousKey { spec, candidates } => {
                assert_eq!(spec, &fpr[32..]);
                let mut want = vec![twin.clone(), fpr.clone()];
                want.sort();
                assert_eq!(candidates, &want);
            }
            err => panic!("{err:?}"),
        }
        assert_eq!(
            store
                .load(Some(&fpr[31..]), None)
                .expect("longer")
                .fingerprint(),
            fpr
        );

        let err = store.load(Some("DEADBEEF"), None).expect_err("unknown");
        assert!(
            matches!(&err, SignError::UnknownKey { spec, .. } if spec == "DEADBEEF"),
            "{err:?}"
        );
        for bad in ["ABCDEF1", "not-hex!", ""] {
            let err = store.load(Some(bad), None).expect_err("bad spec");
            assert!(
                matches!(err, SignError::BadKeySpec { .. }),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn protected_keys_load_with_their_passphrase_and_list_as_protected() {
        let (_tmp, store) = store();
        let (open, closed) = (key("Open"), key("Closed"));
        store.save(&open, None).expect("save");
        store.save(&closed, Some("secret")).expect("save");

        let err = store
            .load(Some(&closed.fingerprint()), None)
            .expect_err("no passphrase");
        assert!(
            matches!(err.root(), SignError::MissingPassphrase { .. }),
            "{err:?}"
        );
        assert!(err.hint().is_some());
        let err = store
            .load(Some(&closed.fingerprint()), Some("wrong"))
            .expect_err("wrong");
        assert!(
            matches!(err.root(), SignError::WrongPassphrase { .. }),
            "{err:?}"
        );
        let loaded = store
            .load(Some(&closed.fingerprint()), Some("secret"))
            .expect("right");
        assert_eq!(loaded.fingerprint(), closed.fingerprint());

        let list = store.list().expect("list");
        let summary: Vec<(String, String, bool, bool, u64, Option<u64>)> = list
            .iter()
            .map(|k| {
                (
                    k.fingerprint.clone(),
                    k.user_id.clone(),
                    k.protected,
                    k.is_default,
                    k.created,
                    k.expires,
                )
            })
            .collect();
        let mut want = vec![
            (
                open.fingerprint(),
                open.user_id(),
                false,
                true,
                unix_secs(open.created()),
                None,
            ),
            (
                closed.fingerprint(),
                closed.user_id(),
                true,
                false,
                unix_secs(closed.created()),
                None,
            ),
        ];
        want.sort_by(|a, b| (a.4, &a.0).cmp(&(b.4, &b.0)));
        assert_eq!(summary, want);
        assert_eq!(list[0].path, store.file(&list[0].fingerprint, SECRET_EXT));
    }
}

//! The bucket, through `object_store`'s S3 client (SigV4, conditional
//! writes, retries with exponential backoff on 5xx, throttling and
//! connection errors), driven from a current-thread tokio runtime that only
//! the mirror commands start. Every key is the mirror's prefix plus a path
//! relative to the repository root; every request is counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt,
    PutMode, PutOptions, PutPayload, RetryConfig, UpdateVersion,
};

use futures::StreamExt;
use sha2::Digest;

use super::creds::Credentials;
use super::url::MirrorUrl;
use super::MirrorError;

/// The user metadata every object carries: its SHA-256, so that an object
/// found in place (a resumed push) is compared without downloading it.
pub const SHA256_META: &str = "sha256";

/// How an object is cached by clients and CDNs in front of the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Content-addressed (pool files, by-hash indexes): never changes.
    Immutable,
    /// Replaced in place (Release files, named indexes, keys, the manifest).
    Revalidate,
}

/// A connected mirror.
#[derive(Debug)]
pub struct Remote {
    store: Arc<AmazonS3>,
    runtime: tokio::runtime::Runtime,
    url: MirrorUrl,
    requests: AtomicU64,
}

/// An object read back, with the version a conditional write names.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The entity tag.
    pub e_tag: Option<String>,
}

/// What a conditional write met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Written; the new entity tag.
    Done(Option<String>),
    /// `Create`: something is there already. `Update`: the version changed.
    Refused,
}

/// How the client retries: a transient failure (5xx, 429/503 throttling, a
/// dropped connection) is retried up to 6 times with backoff from 100 ms
/// to 5 s, for at most 2 minutes per request.
fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 6,
        retry_timeout: Duration::from_secs(120),
    }
}

impl Remote {
    /// Connects (no request yet). Without credentials the requests go
    /// unsigned, which only a public bucket answers (read-only `verify`).
    pub fn connect(
        url: &MirrorUrl,
        credentials: Option<&Credentials>,
        region: &str,
    ) -> Result<Self, MirrorError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&url.bucket)
            .with_region(url.region.as_deref().unwrap_or(region))
            .with_retry(retry())
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(300)),
            );
        if let Some(endpoint) = &url.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        builder = match credentials {
            Some(c) => {
                let b = builder
                    .with_access_key_id(&c.access_key_id)
                    .with_secret_access_key(&c.secret_access_key);
                match &c.session_token {
                    Some(token) => b.with_token(token),
                    None => b,
                }
            }
            None => builder.with_skip_signature(true),
        };
        let store = builder.build().map_err(|e| MirrorError::BadUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| MirrorError::Runtime { source })?;
        Ok(Remote {
            store: Arc::new(store),
            runtime,
            url: url.clone(),
            requests: AtomicU64::new(0),
        })
    }

    /// The mirror's URL.
    pub fn url(&self) -> &MirrorUrl {
        &self.url
    }

    /// Requests made so far (retries not counted).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Runs a future on the mirror's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn key(&self, rel: &str) -> Result<Key, MirrorError> {
        Key::parse(self.url.key(rel)).map_err(|e| MirrorError::BadKey {
            key: rel.to_owned(),
            reason: e.to_string(),
        })
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self, op: &'static str, rel: &str, source: object_store::Error) -> MirrorError {
        MirrorError::from_store(&self.url, op, rel, source)
    }

    /// Reads an object; `None` when there is none.
    pub async fn get(&self, rel: &str) -> Result<Option<Fetched>, MirrorError> {
        self.get_capped(rel, u64::MAX).await
    }

    /// Reads an object of at most `max` bytes (checked before its body is
    /// read: a hostile bucket cannot exhaust memory); `None` when there is none.
    pub async fn get_capped(&self, rel: &str, max: u64) -> Result<Option<Fetched>, MirrorError> {
        let key = self.key(rel)?;
        self.count();
        match self.store.get_opts(&key, GetOptions::default()).await {
            Ok(result) => {
                if result.meta.size > max {
                    return Err(MirrorError::TooLarge {
                        url: self.url.to_string(),
                        key: rel.to_owned(),
                        size: result.meta.size,
                        max,
                    });
                }
                let e_tag = result.meta.e_tag.clone();
                let bytes = result
                    .bytes()
                    .await
                    .map_err(|e| self.error("read", rel, e))?;
                Ok(Some(Fetched {
                    bytes: bytes.to_vec(),
                    e_tag,
                }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("read", rel, e)),
        }
    }

    /// The SHA-256 an object carries in its metadata (`None` inside: the
    /// object has none) and its entity tag; `None` when there is no object.
    pub async fn stored(&self, rel: &str) -> Result<Option<Stored>, MirrorError> {
        let key = self.key(rel)?;
        self.count();
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match self.store.get_opts(&key, options).await {
            Ok(result) => Ok(Some(Stored {
                sha256: result
                    .attributes
                    .get(&Attribute::Metadata(SHA256_META.into()))
                    .map(|v| v.as_ref().to_owned()),
                e_tag: result.meta.e_tag,
                modified: result.meta.last_modified.timestamp(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("read", rel, e)),
        }
    }

    /// Writes an object: `Overwrite`, `Create` (refused if present) or
    /// `Update` of the version with entity tag `if_match`.
    pub async fn put(
        &self,
        rel: &str,
        bytes: Vec<u8>,
        mode: Mode,
        sha256: &str,
        caching: Caching,
    ) -> Result<Written, MirrorError> {
        let key = self.key(rel)?;
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type(rel).into());
        attributes.insert(
            Attribute::CacheControl,
            match caching {
                Caching::Immutable => "public, max-age=31536000, immutable",
                Caching::Revalidate => "no-cache",
            }
            .into(),
        );
        attributes.insert(
            Attribute::Metadata(SHA256_META.into()),
            sha256.to_owned().into(),
        );
        let mode = match mode {
            Mode::Overwrite => PutMode::Overwrite,
            Mode::Create => PutMode::Create,
            Mode::Update(e_tag) => PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag),
                version: None,
            }),
        };
        let options = PutOptions {
            mode,
            attributes,
            ..PutOptions::default()
        };
        self.count();
        match self
            .store
            .put_opts(&key, PutPayload::from(bytes), options)
            .await
        {
            Ok(result) => Ok(Written::Done(result.e_tag)),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(Written::Refused),
            Err(e) => Err(self.error("write", rel, e)),
        }
    }

    /// A conditional write of bytes unique to this process and moment (the
    /// lease, the manifest). Its answer may be lost after the server wrote
    /// it; the client then retries and the server refuses the retry because
    /// of the first attempt. So a refusal is checked: if the object holds
    /// exactly these bytes, the write was this one's.
    pub async fn put_unique(
        &self,
        rel: &str,
        bytes: Vec<u8>,
        mode: Mode,
    ) -> Result<Written, MirrorError> {
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        match self
            .put(rel, bytes, mode, &sha256, Caching::Revalidate)
            .await?
        {
            Written::Refused => match self.stored(rel).await? {
                Some(Stored {
                    sha256: Some(stored),
                    e_tag,
                    ..
                }) if stored == sha256 => Ok(Written::Done(e_tag)),
                _ => Ok(Written::Refused),
            },
            done => Ok(done),
        }
    }

    /// Deletes an object (absent is fine).
    pub async fn delete(&self, rel: &str) -> Result<(), MirrorError> {
        let key = self.key(rel)?;
        self.count();
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", rel, e)),
        }
    }

    /// Every object under `dir` (relative to the prefix; empty: all) with
    /// its size, keys relative to the prefix.
    pub async fn list(&self, dir: &str) -> Result<BTreeMap<String, u64>, MirrorError> {
        let base = if self.url.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.url.prefix)
        };
        let prefix = if dir.is_empty() {
            Key::parse(&self.url.prefix)
        } else {
            Key::parse(self.url.key(dir))
        }
        .map_err(|e| MirrorError::BadKey {
            key: dir.to_owned(),
            reason: e.to_string(),
        })?;
        let mut found = BTreeMap::new();
        let mut pages = self.store.list(Some(&prefix));
        self.count();
        let mut seen = 0usize;
        while let Some(meta) = pages.next().await {
            let meta = meta.map_err(|e| self.error("list", dir, e))?;
            seen += 1;
            // S3 lists 1,000 keys a page.
            if seen.is_multiple_of(1000) {
                self.count();
            }
            if let Some(rel) = meta.location.as_ref().strip_prefix(&base) {
                found.insert(rel.to_owned(), meta.size);
            }
        }
        Ok(found)
    }

    /// The names directly under `dir` (relative to the prefix): its
    /// "subdirectories" (common prefixes).
    pub async fn subdirectories(&self, dir: &str) -> Result<Vec<String>, MirrorError> {
        let prefix = self.key(dir)?;
        self.count();
        let listing = self
            .store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|e| self.error("list", dir, e))?;
        Ok(listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect())
    }

    /// Whether the bucket exists (a listing of the prefix answers).
    pub async fn bucket_exists(&self) -> Result<bool, MirrorError> {
        let prefix = self.key(".buildkit")?;
        self.count();
        match self.store.list_with_delimiter(Some(&prefix)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => match self.error("list", ".buildkit", e) {
                MirrorError::NoBucket { .. } => Ok(false),
                other => Err(other),
            },
        }
    }
}

/// What [`Remote::stored`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The SHA-256 in the object's metadata, if it has one.
    pub sha256: Option<String>,
    /// Its entity tag.
    pub e_tag: Option<String>,
    /// Its `Last-Modified`, Unix time on the server's clock.
    pub modified: i64,
}

/// How [`Remote::put`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Unconditionally.
    Overwrite,
    /// Only if absent (`If-None-Match: *`).
    Create,
    /// Only if the current version has this entity tag (`If-Match`).
    Update(String),
}

/// What apt and browsers expect for each kind of file.
fn content_type(rel: &str) -> &'static str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if rel.contains("/by-hash/") {
        "application/octet-stream"
    } else if name.ends_with(".deb") || name.ends_with(".ddeb") || name.ends_with(".udeb") {
        "application/vnd.debian.binary-package"
    } else if name.ends_with(".gz") {
        "application/gzip"
    } else if name.ends_with(".xz") {
        "application/x-xz"
    } else if name.ends_with(".zst") {
        "application/zstd"
    } else if name == "Release.gpg" {
        "application/pgp-signature"
    } else if name.ends_with(".asc") || name.ends_with(".key") || name.ends_with(".gpg") {
        "application/pgp-keys"
    } else if name.ends_with(".json") {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_file() {
        for (rel, want) in [
            (
                "pool/main/h/hello/hello_1.0_all.deb",
                "application/vnd.debian.binary-package",
            ),
            (
                "dists/stable/main/binary-amd64/Packages.xz",
                "application/x-xz",
            ),
            (
                "dists/stable/main/binary-amd64/by-hash/SHA256/ab",
                "application/octet-stream",
            ),
            ("dists/stable/InRelease", "text/plain; charset=utf-8"),
            ("dists/stable/Release.gpg", "application/pgp-signature"),
            ("key.asc", "application/pgp-keys"),
        ] {
            assert_eq!(content_type(rel), want, "{rel}");
        }
    }
}

//! Mirrors of the repository in S3-compatible object storage (`repo push`,
//! `repo verify s3://…`). The local repository stays the source of truth;
//! a push makes the bucket hold what it publishes:
//!
//! - [`url`] — `s3://bucket/prefix?endpoint=…&region=…`;
//! - [`creds`] — credentials from the environment or `~/.aws`, never from a URL or config;
//! - [`remote`] — the S3 client (conditional writes, retries, counters);
//! - [`local`] — the snapshot of what the mirror must hold, and the upload order;
//! - [`manifest`] — the mirror's record of what it holds;
//! - [`lease`] — one push at a time;
//! - [`push`] — the push itself;
//! - [`verify`] — reading a mirror back as apt would.

pub mod creds;
mod lease;
mod local;
mod manifest;
mod push;
mod remote;
pub mod url;
mod verify;

pub use creds::{Credentials, Lookup};
pub use push::{push, PushOptions, PushReport};
pub use remote::Remote;
pub use url::MirrorUrl;
pub use verify::{verify, RemoteReport};

use crate::apt::AptError;

/// The build host's list of mirrors a `.buildkit.toml` may name (git
/// config, multi-valued, never from a tag). A `[repo] mirror` is pushed to
/// only if it is one of them or lies within one (see
/// [`MirrorUrl::is_within`]): the file comes with the commits, and a tag
/// pusher must not choose where the host's credentials sign requests to.
pub const ALLOW_KEY: &str = "buildkit.mirror.allow";

/// Refuses a mirror named by a `.buildkit.toml` unless `allowed` (the
/// values of [`ALLOW_KEY`]) lets it; an entry that is not a mirror URL is
/// an error of its own.
pub fn check_allowed(url: &MirrorUrl, allowed: &[String]) -> Result<(), MirrorError> {
    let allowed = allowed
        .iter()
        .map(|a| a.parse::<MirrorUrl>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MirrorError::BadAllow(Box::new(e)))?;
    if allowed.iter().any(|a| url.is_within(a)) {
        Ok(())
    } else {
        Err(MirrorError::NotAllowed {
            url: url.to_string(),
        })
    }
}

/// One line on what a mirror holds, from its manifest (one request).
pub fn describe(connection: &Connection) -> Result<String, MirrorError> {
    let remote = connection.connect()?;
    let Some(fetched) = remote.block_on(remote.get(manifest::MANIFEST))? else {
        return Ok("nothing pushed yet".to_owned());
    };
    let manifest =
        manifest::Manifest::parse(&fetched.bytes).map_err(|reason| MirrorError::BadManifest {
            url: connection.url.to_string(),
            reason,
        })?;
    Ok(format!(
        "holds generation {} ({} objects), pushed {} UTC{}",
        manifest.generation,
        manifest.objects.len(),
        crate::time::ymd_hm(manifest.pushed_at),
        if manifest.complete {
            ""
        } else {
            ", an unfinished push"
        }
    ))
}

/// A mirror with what is needed to reach it.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Where.
    pub url: MirrorUrl,
    /// As whom (`None`: unsigned requests, for reading a public bucket).
    pub credentials: Option<Credentials>,
    /// The signing region when the URL names none.
    pub region: String,
}

impl Connection {
    /// Finds the credentials and region for `url`; `writing` requires credentials.
    pub fn new(url: MirrorUrl, lookup: &Lookup, writing: bool) -> Result<Self, MirrorError> {
        let credentials = lookup.credentials();
        if writing && credentials.is_none() {
            return Err(MirrorError::NoCredentials {
                url: url.to_string(),
            });
        }
        Ok(Connection {
            url,
            credentials,
            region: lookup.region(),
        })
    }

    /// The client (no request is made yet).
    pub fn connect(&self) -> Result<Remote, MirrorError> {
        Remote::connect(&self.url, self.credentials.as_ref(), &self.region)
    }
}

/// What can go wrong with a mirror.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The URL is not usable.
    #[error("invalid mirror URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// A key the store refuses.
    #[error("invalid object key {key:?}: {reason}")]
    BadKey { key: String, reason: String },
    /// No credentials anywhere.
    #[error("no credentials for {url}")]
    NoCredentials { url: String },
    /// The bucket does not exist.
    #[error("the bucket of {url} does not exist")]
    NoBucket { url: String },
    /// The credentials were refused.
    #[error("{url} refused the credentials ({op} {key}): {reason}")]
    Denied {
        url: String,
        op: &'static str,
        key: String,
        reason: String,
    },
    /// A request failed (after its retries).
    #[error("could not {op} {key} on {url}: {reason}")]
    Remote {
        url: String,
        op: &'static str,
        key: String,
        reason: String,
    },
    /// Another push holds the lease.
    #[error("another push to {url} is running ({holder}); waited {waited} s")]
    Held {
        url: String,
        holder: String,
        waited: u64,
    },
    /// The lease was taken over while this push ran.
    #[error("this push lost the lease of {url} to another push, and stopped before changing what clients see")]
    LostLease { url: String },
    /// The manifest changed under this push.
    #[error("the manifest of {url} was changed by another push while this one ran")]
    Changed { url: String },
    /// The manifest cannot be read.
    #[error("the manifest of {url} is damaged: {reason}")]
    BadManifest { url: String, reason: String },
    /// The push would drop packages another repository pushed.
    #[error("{url} holds {} package file(s) that another repository pushed and this one does not have (first: {}); pushing would remove them from its indexes", dropped.len(), dropped.first().map_or("", String::as_str))]
    WouldDrop { url: String, dropped: Vec<String> },
    /// The mirror holds a newer state of this repository.
    #[error("{url} mirrors generation {mirrored} of this repository, newer than its generation {local} here")]
    Older {
        url: String,
        mirrored: u64,
        local: u64,
    },
    /// A pool object exists on the mirror with other content.
    #[error("{key} is on {url} with other content than the local pool's")]
    Conflict { url: String, key: String },
    /// A local pool file does not match its index.
    #[error("the local pool file {key} does not match its Packages entry")]
    LocalDamaged { key: String },
    /// The build host's `buildkit.mirror.allow` does not list the mirror.
    #[error("the build host does not allow pushing to {url}: a mirror named in .buildkit.toml must be listed in git config buildkit.mirror.allow")]
    NotAllowed { url: String },
    /// An object is larger than it can be.
    #[error("{key} on {url} is {size} bytes, more than the {max} it may have")]
    TooLarge {
        url: String,
        key: String,
        size: u64,
        max: u64,
    },
    /// The server ignores conditional writes: two pushes could not be kept apart.
    #[error("{url} ignores conditional writes (If-None-Match): two pushes could overwrite each other, so git-buildkit does not push there")]
    NoConditionalWrites { url: String },
    /// An entry of `buildkit.mirror.allow` is not a mirror URL.
    #[error("the build host's buildkit.mirror.allow has an entry that is not a mirror URL")]
    BadAllow(#[source] Box<MirrorError>),
    /// The async runtime could not start.
    #[error("could not start the I/O runtime")]
    Runtime {
        #[source]
        source: std::io::Error,
    },
    /// The local repository.
    #[error(transparent)]
    Apt(#[from] AptError),
}

impl MirrorError {
    /// Classifies a store error met while doing `op` on `key`.
    fn from_store(
        url: &MirrorUrl,
        op: &'static str,
        key: &str,
        source: object_store::Error,
    ) -> Self {
        let url_text = url.to_string();
        let reason = server_says(&source);
        if reason.starts_with("NoSuchBucket") {
            return MirrorError::NoBucket { url: url_text };
        }
        match source {
            object_store::Error::NotFound { .. } if op != "read" => {
                MirrorError::NoBucket { url: url_text }
            }
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => MirrorError::Denied {
                url: url_text,
                op,
                key: key.to_owned(),
                reason,
            },
            _ => MirrorError::Remote {
                url: url_text,
                op,
                key: key.to_owned(),
                reason,
            },
        }
    }

    /// Advice for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            MirrorError::NoCredentials { .. } | MirrorError::Denied { .. } => Some(
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or a profile in ~/.aws/credentials chosen by AWS_PROFILE".into(),
            ),
            MirrorError::NoBucket { .. } => Some("create the bucket first; git-buildkit never creates buckets".into()),
            MirrorError::Held { .. } => Some("wait longer with --wait SECONDS, or run again when it is done".into()),
            MirrorError::WouldDrop { .. } => Some("add those packages to this repository first, push to another prefix, or take the mirror over with --force".into()),
            MirrorError::Older { .. } => Some("push from the repository that is newer, or --force to put this state back".into()),
            MirrorError::BadManifest { .. } => Some("--force compares every object again and writes a new manifest".into()),
            MirrorError::LostLease { .. } | MirrorError::Changed { .. } => Some("run the push again".into()),
            MirrorError::NotAllowed { url } => Some(format!(
                "the host's owner allows it (or a prefix above it): git config --global --add buildkit.mirror.allow '{url}'"
            )),
            MirrorError::BadAllow(e) => Some(format!("fix or remove it ({e}): git config --global --get-all buildkit.mirror.allow")),
            MirrorError::LocalDamaged { .. } => Some("`git buildkit repo verify` finds damaged pool files".into()),
            MirrorError::Apt(e) => e.hint(),
            _ => None,
        }
    }
}

/// What the server said, in one line: S3's `<Code>` and `<Message>` when
/// the answer carries them (the client's error nests the same text several
/// times), else the innermost error, cut to 300 characters.
fn server_says(error: &object_store::Error) -> String {
    let text = error.to_string();
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_owned())
    };
    if let Some(code) = element("Code") {
        return match element("Message") {
            Some(message) => format!("{code}: {message}"),
            None => code,
        };
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    innermost.to_string().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_s_answer_in_one_line() {
        let nested = object_store::Error::Generic {
            store: "S3",
            source: "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>".into(),
        };
        assert_eq!(
            server_says(&nested),
            "InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records."
        );
        let plain = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        assert!(server_says(&plain).contains("connection refused"));
    }
}

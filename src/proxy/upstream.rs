//! Fetching from a mirror: reqwest's blocking client over rustls, with the
//! limits a proxy for unattended guests needs (10 s to connect, a fault
//! after 30 s without a byte, at most 5 redirects and only to allowed
//! mirrors, never from https to http), and the standard `http_proxy`,
//! `https_proxy` and `no_proxy` variables honoured (reqwest's default).
//!
//! Every answer becomes one of a few outcomes, mapped as apt needs them
//! (reference §4): upstream's 404 or 410 is a 404 (apt then falls back,
//! from InRelease to Release); anything else that fails is 502, or 504 for
//! a timeout, so that apt retries and never mistakes a broken mirror for a
//! missing file.

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::pipeline::error_chain as chain;

use super::cache::Meta;
use super::mirrors::Mirrors;
use super::ProxyError;

/// How long connecting to a mirror may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a mirror may send nothing (each read, and the answer's head).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;
/// The largest file fetched: apt's biggest are a few hundred MiB.
pub(crate) const MAX_FILE: u64 = 2 << 30;

/// Whether upstream traffic goes through the environment's proxy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnvProxy {
    /// `http_proxy` and friends apply (production).
    Honoured,
    /// Direct connections only (unit tests, whose fake mirrors are on
    /// 127.0.0.1 whatever the environment says).
    Ignored,
}

/// The client fetching from mirrors.
#[derive(Debug)]
pub(crate) struct Upstream {
    client: Client,
}

/// What upstream answered.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// 200: a body, being received.
    Body(Box<Incoming>),
    /// 304: the cached copy is current.
    NotModified,
    /// 404 or 410: the mirror has no such file.
    Missing,
    /// Anything else: a fault, with the status the client gets and why.
    Failed { status: u16, reason: String },
}

/// A 200 answer whose body is still to be read.
#[derive(Debug)]
pub(crate) struct Incoming {
    /// The response; reading it reads the body.
    pub response: Response,
    /// Its `Content-Length`, when given.
    pub len: Option<u64>,
    /// Its `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// Its `ETag`, as sent.
    pub etag: Option<String>,
}

impl Upstream {
    /// A client that follows redirects only within `mirrors`.
    pub fn new(mirrors: Mirrors, env_proxy: EnvProxy) -> Result<Self, ProxyError> {
        Self::with_read_timeout(mirrors, env_proxy, READ_TIMEOUT)
    }

    /// [`Upstream::new`] with another read timeout (tests of a slow mirror).
    pub fn with_read_timeout(
        mirrors: Mirrors,
        env_proxy: EnvProxy,
        read_timeout: Duration,
    ) -> Result<Self, ProxyError> {
        let policy = Policy::custom(move |attempt| {
            let https_to_http = attempt
                .previous()
                .last()
                .is_some_and(|from| from.scheme() == "https")
                && attempt.url().scheme() != "https";
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("more than 5 redirects")
            } else if https_to_http {
                attempt.error("a redirect from https to http")
            } else if !mirrors.allows(attempt.url().as_str()) {
                attempt.error("a redirect to a URL off the allow-list")
            } else {
                attempt.follow()
            }
        });
        let mut builder = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // The blocking client applies this to the answer's head and to
            // each read of the body: a mirror silent for this long fails.
            .timeout(read_timeout)
            .redirect(policy)
            .user_agent(concat!("git-buildkit/", env!("CARGO_PKG_VERSION")));
        if env_proxy == EnvProxy::Ignored {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|source| ProxyError::Client { source })?;
        Ok(Upstream { client })
    }

    /// GETs `url`, conditionally on `cached` (the stored copy's validators).
    pub fn get(&self, url: &str, cached: Option<&Meta>) -> Fetched {
        let mut request = self.client.get(url);
        if let Some(meta) = cached {
            if let Some(date) = &meta.last_modified {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
            if let Some(tag) = &meta.etag {
                request = request.header(IF_NONE_MATCH, tag);
            }
        }
        let response = match request.send() {
            Ok(response) => response,
            Err(error) => return failed(&error),
        };
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && cached.is_some() {
            return Fetched::NotModified;
        }
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Fetched::Missing;
        }
        if status != StatusCode::OK {
            return Fetched::Failed {
                status: 502,
                reason: format!("upstream answered {status}"),
            };
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (last_modified, etag) = (header(LAST_MODIFIED), header(ETAG));
        let len = response.content_length();
        if len.is_some_and(|len| len > MAX_FILE) {
            return Fetched::Failed {
                status: 502,
                reason: "upstream file larger than 2 GiB".to_owned(),
            };
        }
        Fetched::Body(Box::new(Incoming {
            response,
            len,
            last_modified,
            etag,
        }))
    }
}

/// The fault a transport error is: 504 for a timeout, else 502, with the
/// error and its causes as the reason.
fn failed(error: &reqwest::Error) -> Fetched {
    let status = if error.is_timeout() { 504 } else { 502 };
    Fetched::Failed {
        status,
        reason: chain(error),
    }
}

/// The status a failed read of an upstream body gives: 504 when the mirror
/// fell silent (reqwest's blocking reader wraps its timeout in an
/// `ErrorKind::Other`), else 502.
pub(crate) fn read_fault_status(error: &std::io::Error) -> u16 {
    let timed_out = error.kind() == std::io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout);
    if timed_out {
        504
    } else {
        502
    }
}

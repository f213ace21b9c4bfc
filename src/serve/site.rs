//! The site: a canonical root directory, and the answer to one request for a
//! file under it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::access_log::AccessLogEntry;
use super::conditional::{is_not_modified, mtime_secs, range_applies};
use super::confine::{open_confined, OpenedFile, Refusal};
use super::connection::{serve_connection, Answer, Unpaced};
use super::content_type::content_type;
use super::range::{evaluate, RangeAnswer};
use super::request::RequestHead;
use super::response::{http_date, Body, Response, Status};
use super::target::decode_target;
use super::ServeError;

/// Serves the static files under `root`.
#[derive(Debug, Clone)]
pub struct StaticSite {
    root: PathBuf,
}

impl StaticSite {
    /// A site serving `root`, which is canonicalized (symlinks resolved) so
    /// that confinement is judged against the real directory.
    pub fn new(root: &Path) -> Result<Self, ServeError> {
        let canonical = std::fs::canonicalize(root).map_err(|source| ServeError::Root {
            path: root.to_owned(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(ServeError::NotADirectory {
                path: root.to_owned(),
            });
        }
        Ok(Self { root: canonical })
    }

    /// The canonical directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers HTTP/1.1 requests read from `reader` on `writer` until the
    /// client closes, sends `Connection: close`, or an error; keep-alive and
    /// pipelining are supported (apt pipelines). Returns the number of
    /// requests answered. `log` is called once per response.
    pub fn handle_connection(
        &self,
        reader: impl Read,
        writer: impl Write,
        log: &dyn Fn(&AccessLogEntry),
    ) -> Result<u64, ServeError> {
        serve_connection(self, reader, writer, &Unpaced, log)
    }
}

impl Answer for StaticSite {
    /// The response to a well-framed request.
    fn answer(&self, head: &RequestHead) -> Response {
        let is_get = match head.method.as_str() {
            "GET" => true,
            "HEAD" => false,
            _ => return Response::error(Status::MethodNotAllowed).with("Allow", "GET, HEAD"),
        };
        let Ok(decoded) = decode_target(&head.target) else {
            return Response::error(Status::BadRequest);
        };
        let opened = match open_confined(&self.root, &decoded) {
            Ok(opened) => opened,
            Err(Refusal::NotFound) => return Response::error(Status::NotFound),
            Err(Refusal::Forbidden) => return Response::error(Status::Forbidden),
            Err(Refusal::Io) => return Response::error(Status::InternalError),
        };
        let validated = if is_mutable(opened.path.strip_prefix(&self.root).unwrap_or(&opened.path))
        {
            Validators::Never
        } else {
            Validators::Date
        };
        file_response(head, opened, is_get, validated)
    }
}

/// Whether a served file (its resolved path under the root) is one a
/// publish replaces under the same name: under a `dists` directory and not
/// a `by-hash` object (InRelease, Release, the named indexes). Two
/// publishes within one second give them the same `Last-Modified`, so a
/// date cannot tell their versions apart. Judged on the file opened, not
/// the request's text (`//dists/…`, `/./dists/…` resolve to the same).
fn is_mutable(resolved: &std::path::Path) -> bool {
    let has = |name: &str| resolved.components().any(|c| c.as_os_str() == name);
    has("dists") && !has("by-hash")
}

/// Which preconditions a file's answer honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validators {
    /// `If-Modified-Since`, `If-Range` and `Range` by the file's date.
    Date,
    /// None: the whole file every time (a name whose bytes change within
    /// the date's one-second resolution).
    Never,
}

/// The answer to a GET (`is_get`) or HEAD of an opened file: 304 when the
/// client's copy is current, 206 for a satisfiable single `Range` whose
/// `If-Range` matches, else the whole file, with `Last-Modified` the file's
/// modification time. The proxy's cache answers with it too, having set
/// each cached file's modification time to upstream's `Last-Modified`.
pub(crate) fn file_response(
    head: &RequestHead,
    opened: OpenedFile,
    is_get: bool,
    validators: Validators,
) -> Response {
    // Length and date come from the open handle, so they describe the
    // bytes that will be sent even if the path is replaced meanwhile.
    let len = opened.metadata.len();
    let mtime = mtime_secs(opened.metadata.modified());
    let last_modified = mtime.map(http_date);
    let dated = validators == Validators::Date;
    if dated && is_not_modified(head, mtime) {
        let mut response = Response {
            status: Status::NotModified,
            headers: Vec::new(),
            body: Body::None,
        };
        if let Some(date) = last_modified {
            response = response.with("Last-Modified", date);
        }
        return response;
    }
    let mut headers = vec![("Content-Type", content_type(&opened.path).to_owned())];
    if let Some(date) = last_modified {
        headers.push(("Last-Modified", date));
    }
    headers.push(("Accept-Ranges", "bytes".to_owned()));
    // RFC 9110 §14.2: Range is defined for GET only; HEAD ignores it.
    let range = match head.single("range") {
        Some(value) if dated && is_get && range_applies(head, mtime) => evaluate(value, len),
        _ => RangeAnswer::Full,
    };
    let (status, start, end) = match range {
        RangeAnswer::Full => (Status::Ok, 0, len),
        RangeAnswer::Partial { start, end } => {
            headers.push(("Content-Range", format!("bytes {start}-{end}/{len}")));
            (Status::PartialContent, start, end + 1)
        }
        RangeAnswer::Unsatisfiable => {
            let mut response = Response::error(Status::RangeNotSatisfiable);
            response
                .headers
                .push(("Content-Range", format!("bytes */{len}")));
            return response;
        }
    };
    Response {
        status,
        headers,
        body: Body::File {
            opened,
            start,
            len: end - start,
        },
    }
}

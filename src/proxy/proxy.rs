//! The proxy: the answer to one request, from the cache or from upstream,
//! and the two ways to run it — one guest connection on stdin/stdout
//! (QEMU's `guestfwd=…-cmd:`), or a 127.0.0.1 port in a thread (for
//! mmdebstrap's `http_proxy`). Both use the static server's connection
//! loop, so the proxy speaks the same HTTP (keep-alive, pipelining).

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::fsutil::open_lock_file;
use crate::serve::confine::OpenedFile;
use crate::serve::connection::{serve_connection, Answer, Unpaced};
use crate::serve::content_type::content_type;
use crate::serve::range::{evaluate, RangeAnswer};
use crate::serve::request::RequestHead;
use crate::serve::response::{Body, Response, Status, StreamBody};
use crate::serve::site::{file_response, Validators};
use crate::serve::stdio::stdio_connection;
use crate::serve::tcp::serve_tcp_with;
use crate::serve::Limits;

use super::cache::{Cache, Entry, Meta};
use super::class::{classify, Class, Digest};
use super::fault::{append, Fault};
use super::fill::{Fill, Store};
use super::mirrors::{Mirrors, Refused, Route};
use super::stats::Counters;
use super::upstream::{read_fault_status, EnvProxy, Fetched, Incoming, Upstream, MAX_FILE};
use super::ProxyError;

/// How the proxy behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyOptions {
    /// Serve only what is cached; anything else is 504.
    pub offline: bool,
    /// Where each fault appends one JSON line ([`super::read_faults`]).
    pub fault_log: Option<PathBuf>,
    /// How long a volatile file (InRelease, Packages…) is served without
    /// asking upstream; after that it is revalidated.
    pub fresh_for: Duration,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            offline: false,
            fault_log: None,
            // A test's second run, minutes after the first, makes no
            // upstream request at all.
            fresh_for: Duration::from_secs(10 * 60),
        }
    }
}

/// A caching proxy for the allowed mirrors.
#[derive(Debug, Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

/// What every request and every body being filled share.
#[derive(Debug)]
struct Inner {
    cache: Cache,
    mirrors: Mirrors,
    options: ProxyOptions,
    upstream: Upstream,
}

/// A proxy serving 127.0.0.1 on a port of its own, in a thread; it stops
/// when this is dropped.
#[derive(Debug)]
pub struct Loopback {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Loopback {
    /// The address it listens on (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Proxy {
    /// A proxy storing in `cache`, fetching only from `mirrors`; upstream
    /// connections honour `http_proxy`, `https_proxy` and `no_proxy`.
    pub fn new(cache: Cache, mirrors: Mirrors, options: ProxyOptions) -> Result<Self, ProxyError> {
        Self::with_env_proxy(cache, mirrors, options, EnvProxy::Honoured)
    }

    /// [`Proxy::new`], choosing whether the environment's proxy applies.
    pub(crate) fn with_env_proxy(
        cache: Cache,
        mirrors: Mirrors,
        options: ProxyOptions,
        env_proxy: EnvProxy,
    ) -> Result<Self, ProxyError> {
        let upstream = Upstream::new(mirrors.clone(), env_proxy)?;
        Ok(Self::with_upstream(cache, mirrors, options, upstream))
    }

    /// A proxy fetching through `upstream`.
    pub(crate) fn with_upstream(
        cache: Cache,
        mirrors: Mirrors,
        options: ProxyOptions,
        upstream: Upstream,
    ) -> Self {
        Proxy {
            inner: Arc::new(Inner {
                cache,
                mirrors,
                options,
                upstream,
            }),
        }
    }

    /// The cache it stores in.
    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    /// Serves one connection on stdin/stdout until the client closes it;
    /// returns the number of requests answered. Nothing is written to
    /// stderr, which under QEMU is the connection too.
    pub fn serve_stdio(&self) -> Result<u64, ProxyError> {
        let (input, output) = stdio_connection().map_err(|source| ProxyError::Stdio { source })?;
        self.serve_connection(input, output)
    }

    /// Serves one connection read from `reader` and answered on `writer`.
    pub(crate) fn serve_connection(
        &self,
        reader: impl std::io::Read,
        writer: impl std::io::Write,
    ) -> Result<u64, ProxyError> {
        serve_connection(self, reader, writer, &Unpaced, &|_| {})
            .map_err(|source| ProxyError::Serve { source })
    }

    /// Serves on `127.0.0.1:<a free port>` in a thread until the returned
    /// [`Loopback`] is dropped.
    pub fn spawn_loopback(self) -> Result<Loopback, ProxyError> {
        self.spawn_loopback_on(0)
    }

    /// Serves on `127.0.0.1:port` (0: a free one) in a thread until the
    /// returned [`Loopback`] is dropped. Never another address: an open
    /// proxy would fetch for anyone and fill the disk.
    pub fn spawn_loopback_on(self, port: u16) -> Result<Loopback, ProxyError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (bound, on_bound) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("apt-proxy".to_owned())
            .spawn({
                let stop = Arc::clone(&stop);
                move || {
                    let result = serve_tcp_with(
                        &self,
                        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                        &Limits::default(),
                        &stop,
                        &|addr| {
                            let _ = bound.send(Ok(addr));
                        },
                        &|_| {},
                        &|_| {},
                    );
                    if let Err(source) = result {
                        let _ = bound.send(Err(source));
                    }
                }
            })
            .map_err(|source| ProxyError::Thread { source })?;
        match on_bound.recv() {
            Ok(Ok(addr)) => Ok(Loopback {
                addr,
                stop,
                thread: Some(thread),
            }),
            Ok(Err(source)) => {
                let _ = thread.join();
                Err(ProxyError::Serve { source })
            }
            Err(_) => {
                let _ = thread.join();
                Err(ProxyError::Thread {
                    source: std::io::Error::other("the proxy thread ended before binding"),
                })
            }
        }
    }
}

impl Answer for Proxy {
    fn answer(&self, head: &RequestHead) -> Response {
        let is_get = match head.method.as_str() {
            "GET" => true,
            "HEAD" => false,
            _ => return Response::error(Status::MethodNotAllowed).with("Allow", "GET, HEAD"),
        };
        let route = match self.inner.mirrors.route(&head.target) {
            Ok(route) => route,
            Err(Refused::BadRequest) => return Response::error(Status::BadRequest),
            Err(Refused::TooLong) => return Response::error(Status::UriTooLong),
            Err(Refused::NotAllowed) => {
                return Response::error_because(Status::Forbidden, "not an allowed mirror")
            }
        };
        match classify(route.relative()) {
            Class::PassThrough => self.pass_through(head, &route, is_get),
            class => self.cached(head, &route, &class, is_get),
        }
    }

    fn connection_closed(&self) {
        self.inner.cache.stats.save();
    }
}

/// How old a cached copy may be to be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    /// Within the freshness window (always, for an immutable file).
    Fresh,
    /// Any age: offline, revalidated, or upstream failing.
    Any,
}

/// How long a request waits for another process's download of the same
/// file before it is answered uncached.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// `lock` once it is ours, waiting at most `wait`; `None` when another
/// process still holds it then.
fn wait_for(lock: File, wait: Duration) -> std::io::Result<Option<File>> {
    let until = std::time::Instant::now() + wait;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(Some(lock)),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

/// After an answer with no body to keep: the entry's lock file and the
/// directories made for it go, when nothing else is in them, so that
/// requests for files a mirror does not have leave nothing on disk.
fn forget_entry(cache: &Cache, entry: &Entry, lock: File) {
    if !entry.data.exists() {
        let _ = fs::remove_file(&entry.lock);
    }
    drop(lock);
    let mut dir = entry.dir.as_path();
    while dir.starts_with(cache.dir()) && dir != cache.dir() {
        // Fails, as it should, unless the directory is empty.
        if fs::remove_dir(dir).is_err() {
            break;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => break,
        }
    }
}

impl Proxy {
    /// Answers for an immutable or volatile file: from the cache when it
    /// may, else fetched once (under the entry's lock) and stored.
    fn cached(&self, head: &RequestHead, route: &Route, class: &Class, is_get: bool) -> Response {
        let host = route.mirror.host().to_owned();
        let entry = self.inner.cache.entry(route);
        let volatile = *class == Class::Volatile;
        let age = if self.inner.options.offline {
            Age::Any
        } else {
            Age::Fresh
        };
        if let Some(response) = self.cached_copy(head, &entry, volatile, age, is_get) {
            self.count(&host, |c| c.hits += 1);
            return response;
        }
        if self.inner.options.offline {
            return self.fault(route, 504, "not in the cache (offline)");
        }
        // One download per key: whoever holds the lock is fetching; the
        // others wait, then find the file in place. Not for ever: a client
        // that stops reading holds the lock of what it asked for, so after
        // LOCK_WAIT the request is answered uncached instead.
        let lock = fs::create_dir_all(&entry.dir)
            .and_then(|()| open_lock_file(&entry.lock))
            .and_then(|lock| wait_for(lock, LOCK_WAIT));
        let Ok(Some(lock)) = lock else {
            return self.pass_through(head, route, is_get);
        };
        if let Some(response) = self.cached_copy(head, &entry, volatile, Age::Fresh, is_get) {
            self.count(&host, |c| c.hits += 1);
            return response;
        }
        let stored = if volatile && entry.data.is_file() {
            entry.read_meta()
        } else {
            None
        };
        self.count(&host, |c| c.upstream_requests += 1);
        match self.inner.upstream.get(&route.url(), stored.as_ref()) {
            Fetched::NotModified => {
                if let Some(mut meta) = stored {
                    meta.fetched = crate::time::unix_now();
                    let _ = entry.write_meta(&meta);
                }
                self.count(&host, |c| c.revalidations += 1);
                drop(lock);
                self.cached_copy(head, &entry, volatile, Age::Any, is_get)
                    .unwrap_or_else(|| self.fault(route, 502, "the cached copy vanished"))
            }
            Fetched::Body(incoming) => {
                self.count(&host, |c| c.misses += 1);
                let digest = match class {
                    Class::Immutable(digest) => digest.clone(),
                    _ => None,
                };
                self.receive(head, route, entry, lock, *incoming, digest, is_get)
            }
            Fetched::Missing => {
                forget_entry(&self.inner.cache, &entry, lock);
                self.fault(route, 404, "not on the mirror")
            }
            Fetched::Failed { status, reason } => {
                forget_entry(&self.inner.cache, &entry, lock);
                // Stale is better than nothing: apt checks signatures and
                // Valid-Until, so an old index cannot be passed off as new.
                match self.cached_copy(head, &entry, volatile, Age::Any, is_get) {
                    Some(response) => {
                        self.count(&host, |c| c.hits += 1);
                        response
                    }
                    None => self.fault(route, status, &reason),
                }
            }
        }
    }

    /// Receives a 200 into the cache: streamed to the client while it
    /// arrives when its length is known, else (and for a by-hash file,
    /// whose digest is only known at the end) downloaded and checked
    /// first, then served from the cache.
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &self,
        head: &RequestHead,
        route: &Route,
        entry: Entry,
        lock: File,
        incoming: Incoming,
        digest: Option<Digest>,
        is_get: bool,
    ) -> Response {
        let temp = match tempfile::Builder::new()
            .prefix(&entry.temp_prefix)
            .tempfile_in(&entry.dir)
        {
            Ok(temp) => temp,
            Err(_) => return self.stream(head, route, incoming, None, is_get),
        };
        let meta = Meta {
            url: route.url(),
            last_modified: incoming.last_modified.clone(),
            etag: incoming.etag.clone(),
            fetched: crate::time::unix_now(),
        };
        let store = Store {
            temp,
            entry: entry.clone(),
            meta,
            lock,
        };
        if digest.is_none() && incoming.len.is_some() {
            return self.stream(head, route, incoming, Some(store), is_get);
        }
        if let Err((status, reason)) = self.download(route, incoming, store, digest.as_ref()) {
            return self.fault(route, status, &reason);
        }
        self.cached_copy(head, &entry, false, Age::Any, is_get)
            .unwrap_or_else(|| self.fault(route, 502, "the downloaded file vanished"))
    }

    /// Downloads a whole body into `store` (within [`MAX_FILE`]), checks
    /// its length and digest, and commits it.
    fn download(
        &self,
        route: &Route,
        mut incoming: Incoming,
        mut store: Store,
        digest: Option<&Digest>,
    ) -> Result<(), (u16, String)> {
        use std::io::{Read, Write};
        let host = route.mirror.host();
        let mut hasher = digest.map(Digest::hasher);
        let mut buffer = vec![0; 64 * 1024];
        let mut received: u64 = 0;
        loop {
            let read = match incoming.response.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    let reason = crate::pipeline::error_chain(&error);
                    let status = read_fault_status(&error);
                    return Err((status, format!("reading from upstream: {reason}")));
                }
            };
            received += read as u64;
            self.count(host, |c| c.upstream_bytes += read as u64);
            if received > MAX_FILE {
                return Err((502, "upstream file larger than 2 GiB".to_owned()));
            }
            if let Some(hasher) = &mut hasher {
                hasher.update(&buffer[..read]);
            }
            store
                .temp
                .write_all(&buffer[..read])
                .map_err(|e| (502, format!("writing the cache: {e}")))?;
        }
        if let Some(len) = incoming.len.filter(|&len| len != received) {
            return Err((
                502,
                format!("upstream closed the connection after {received} of {len} bytes"),
            ));
        }
        if let (Some(digest), Some(hasher)) = (digest, hasher) {
            let actual = hasher.finish();
            if actual != digest.expected() {
                return Err((502, format!("the body's digest is {actual}, not its name")));
            }
        }
        store
            .commit(&self.inner.cache)
            .map_err(|e| (502, format!("storing in the cache: {e}")))
    }

    /// Streams `incoming` to the client (filling `store` on the way, if
    /// any), honouring a client's `Range: bytes=N-` by skipping N bytes.
    fn stream(
        &self,
        head: &RequestHead,
        route: &Route,
        incoming: Incoming,
        store: Option<Store>,
        is_get: bool,
    ) -> Response {
        let Some(len) = incoming.len else {
            // Only a pass-through comes here without a length (a cacheable
            // file is downloaded whole first): it is buffered in an
            // anonymous file, so that the client still gets a length.
            return self.buffered(head, route, incoming, is_get);
        };
        // An empty body is never read, so it is complete already.
        let store = match store {
            Some(store) if len == 0 => {
                let _ = store.commit(&self.inner.cache);
                None
            }
            store => store,
        };
        let name = route.relative_text();
        let mut headers = vec![("Content-Type", content_type(Path::new(&name)).to_owned())];
        if let Some(date) = &incoming.last_modified {
            headers.push(("Last-Modified", date.clone()));
        }
        // A resumed download (apt after a cut) asks for the rest only.
        let if_range_ok = match head.single("if-range") {
            None => head.values("if-range").next().is_none(),
            Some(date) => incoming.last_modified.as_deref() == Some(date.trim()),
        };
        let (status, skip) = match head.single("range").map(|r| evaluate(r, len)) {
            Some(RangeAnswer::Partial { start, end }) if if_range_ok && end + 1 == len => {
                headers.push(("Content-Range", format!("bytes {start}-{end}/{len}")));
                (Status::PartialContent, start)
            }
            _ => (Status::Ok, 0),
        };
        let fill = Fill {
            proxy: self.clone(),
            url: route.url(),
            path: route.relative_text(),
            host: route.mirror.host().to_owned(),
            incoming,
            len,
            received: 0,
            skip,
            store,
        };
        Response {
            status,
            headers,
            body: Body::Stream(StreamBody {
                reader: Box::new(fill),
                len: len - skip,
            }),
        }
    }

    /// Downloads a body of unknown length into an anonymous temporary file
    /// (within [`MAX_FILE`]) and answers with it.
    fn buffered(
        &self,
        head: &RequestHead,
        route: &Route,
        mut incoming: Incoming,
        is_get: bool,
    ) -> Response {
        use std::io::{Read, Seek, SeekFrom};
        let host = route.mirror.host();
        let copied = tempfile::tempfile().and_then(|mut file| {
            let copied =
                std::io::copy(&mut (&mut incoming.response).take(MAX_FILE + 1), &mut file)?;
            file.seek(SeekFrom::Start(0))?;
            Ok((file, copied))
        });
        let (file, copied) = match copied {
            Ok(done) => done,
            Err(error) => {
                let reason = format!(
                    "reading from upstream: {}",
                    crate::pipeline::error_chain(&error)
                );
                return self.fault(route, 502, &reason);
            }
        };
        self.count(host, |c| c.upstream_bytes += copied);
        let metadata = match file.metadata() {
            Ok(metadata) if copied <= MAX_FILE => metadata,
            Ok(_) => return self.fault(route, 502, "upstream file larger than 2 GiB"),
            Err(error) => return self.fault(route, 502, &format!("buffering: {error}")),
        };
        let opened = OpenedFile {
            path: PathBuf::from(route.relative_text()),
            file,
            metadata,
        };
        file_response(head, opened, is_get, Validators::Date)
    }

    /// Answers a path that is not cached: fetched and streamed.
    fn pass_through(&self, head: &RequestHead, route: &Route, is_get: bool) -> Response {
        if self.inner.options.offline {
            return self.fault(route, 504, "not in the cache (offline)");
        }
        let host = route.mirror.host();
        self.count(host, |c| c.upstream_requests += 1);
        match self.inner.upstream.get(&route.url(), None) {
            Fetched::Body(incoming) => {
                self.count(host, |c| c.misses += 1);
                self.stream(head, route, *incoming, None, is_get)
            }
            Fetched::Missing => self.fault(route, 404, "not on the mirror"),
            Fetched::NotModified => self.fault(route, 502, "upstream answered 304 unasked"),
            Fetched::Failed { status, reason } => self.fault(route, status, &reason),
        }
    }

    /// The cached copy as a response, if there is one young enough.
    fn cached_copy(
        &self,
        head: &RequestHead,
        entry: &Entry,
        volatile: bool,
        age: Age,
        is_get: bool,
    ) -> Option<Response> {
        let file = File::open(&entry.data).ok()?;
        let metadata = file.metadata().ok()?;
        if !metadata.is_file() {
            return None;
        }
        if volatile && age == Age::Fresh {
            let meta = entry.read_meta()?;
            let fetched = SystemTime::UNIX_EPOCH + Duration::from_secs(meta.fetched);
            let elapsed = SystemTime::now().duration_since(fetched).ok()?;
            if elapsed >= self.inner.options.fresh_for {
                return None;
            }
        }
        Cache::touch(&file);
        let opened = OpenedFile {
            path: entry.data.clone(),
            file,
            metadata,
        };
        Some(file_response(head, opened, is_get, Validators::Date))
    }

    /// Counts something for `host`.
    fn count(&self, host: &str, change: impl Fn(&mut Counters)) {
        self.inner.cache.stats.count(host, change);
    }

    /// Logs a fault and answers it.
    pub(crate) fn fault(&self, route: &Route, status: u16, reason: &str) -> Response {
        self.fault_at(
            route.mirror.host(),
            &route.url(),
            &route.relative_text(),
            status,
            reason,
        )
    }

    /// Counts and logs a fault; the error response for it.
    pub(crate) fn fault_at(
        &self,
        host: &str,
        url: &str,
        path: &str,
        status: u16,
        reason: &str,
    ) -> Response {
        self.count(host, |c| c.errors += 1);
        if let Some(log) = &self.inner.options.fault_log {
            append(
                log,
                &Fault {
                    url: url.to_owned(),
                    path: path.to_owned(),
                    status,
                    reason: reason.to_owned(),
                },
            );
        }
        let status = match status {
            404 => Status::NotFound,
            504 => Status::GatewayTimeout,
            _ => Status::BadGateway,
        };
        Response::error_because(status, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_only_so_long() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(".x.lock");
        let held = open_lock_file(&path).expect("open");
        held.lock().expect("lock");
        let started = std::time::Instant::now();
        let waiting = open_lock_file(&path).expect("open");
        let waiting = wait_for(waiting, Duration::from_millis(200)).expect("wait");
        assert!(waiting.is_none(), "a held lock was taken");
        assert!(started.elapsed() >= Duration::from_millis(200));
        drop(held);
        let free = open_lock_file(&path).expect("open");
        assert!(wait_for(free, Duration::from_millis(200))
            .expect("wait")
            .is_some());
    }
}

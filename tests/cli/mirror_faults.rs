//! `repo push` through a fault-injecting HTTP proxy in front of moto (issue
//! 17, requirement 3: retries with backoff on 5xx and throttling). The
//! proxy answers some requests itself — `503 SlowDown`, `500
//! InternalError`, `429` — or closes the connection without an answer, on
//! a fixed schedule; the push must retry through all of them and leave a
//! mirror that `repo verify` and apt-get accept. A server that only
//! answers 503 must make the push fail within a bounded time, naming the
//! server's answer, with nothing switched for clients. A conditional write
//! the server carried out but whose answer was lost must not be taken for
//! another push's.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use crate::mirror::{add, aws, bk_aws, bucket_server, num, Moto};
use crate::repo::many_debs;
use crate::repo::{clean_update, Fixture};

/// What the proxy does instead of forwarding a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Fault {
    /// `503 Slow Down` with S3's `SlowDown` error body.
    SlowDown,
    /// `500 Internal Server Error` with S3's `InternalError` body.
    Internal,
    /// `429 Too Many Requests`, as some S3-compatible servers throttle.
    TooMany,
    /// The request is read, then the connection closed without an answer.
    Drop,
    /// The request is forwarded and carried out, then the connection
    /// closed without the answer (a response lost on the way back).
    LoseAnswer,
}

impl Fault {
    const ALL: [Fault; 4] = [
        Fault::SlowDown,
        Fault::Internal,
        Fault::TooMany,
        Fault::Drop,
    ];

    /// The whole answer on the wire (`None`: no answer at all).
    fn answer(self) -> Option<Vec<u8>> {
        let (status, code, message) = match self {
            Fault::SlowDown => (
                "503 Slow Down",
                "SlowDown",
                "Please reduce your request rate.",
            ),
            Fault::Internal => (
                "500 Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            Fault::TooMany => (
                "429 Too Many Requests",
                "TooManyRequests",
                "Too many requests, slow down.",
            ),
            Fault::Drop | Fault::LoseAnswer => return None,
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>injected</RequestId></Error>"
        );
        Some(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }
}

/// When the proxy injects a fault.
#[derive(Debug, Clone, Copy)]
enum Schedule {
    /// The n-th request (from 1): every 11th dropped, every 7th a 500,
    /// every 4th a 503, the 5th a 429 — but never more than
    /// `MAX_IN_A_ROW` times in a row for the same method and target, so
    /// that the client's retry budget (6) always suffices and the test is
    /// deterministic whatever order parallel requests arrive in.
    Mixed,
    /// Forwards the first `after` requests, then answers every one `503 SlowDown`.
    SlowDownAfter(usize),
    /// Loses the answer to the first PUT whose target holds each of these.
    LoseFirstAnswerTo(&'static [&'static str]),
}

const MAX_IN_A_ROW: usize = 3;

impl Schedule {
    fn fault(self, n: usize) -> Option<Fault> {
        match self {
            Schedule::Mixed if n.is_multiple_of(11) => Some(Fault::Drop),
            Schedule::Mixed if n.is_multiple_of(7) => Some(Fault::Internal),
            Schedule::Mixed if n.is_multiple_of(4) => Some(Fault::SlowDown),
            Schedule::Mixed if n == 5 => Some(Fault::TooMany),
            Schedule::Mixed => None,
            Schedule::SlowDownAfter(after) => (n > after).then_some(Fault::SlowDown),
            Schedule::LoseFirstAnswerTo(_) => None,
        }
    }

    /// The fault for the `n`-th request, `target` its request line.
    fn decide(self, n: usize, target: &str, seen: &mut Seen) -> Option<Fault> {
        match self {
            Schedule::Mixed => {
                let in_a_row = seen.in_a_row.entry(target.to_owned()).or_insert(0);
                let fault = self.fault(n).filter(|_| *in_a_row < MAX_IN_A_ROW);
                *in_a_row = if fault.is_some() { *in_a_row + 1 } else { 0 };
                fault
            }
            Schedule::SlowDownAfter(_) => self.fault(n),
            Schedule::LoseFirstAnswerTo(needles) => {
                let needle = needles
                    .iter()
                    .find(|k| target.starts_with("PUT ") && target.contains(**k))?;
                (!seen.lost.contains(needle)).then(|| {
                    seen.lost.push(needle);
                    Fault::LoseAnswer
                })
            }
        }
    }
}

/// What the proxy saw.
#[derive(Debug, Default)]
struct Seen {
    /// Requests received.
    requests: usize,
    /// Requests forwarded to moto.
    forwarded: usize,
    /// Faults injected, by kind.
    faults: HashMap<Fault, usize>,
    /// Consecutive faults per `METHOD target`.
    in_a_row: HashMap<String, usize>,
    /// What [`Schedule::LoseFirstAnswerTo`] has lost an answer to.
    lost: Vec<&'static str>,
}

/// A proxy on a free loopback port that forwards to `upstream`, one
/// request per connection, injecting faults on `schedule`. Stopped on drop.
struct FaultProxy {
    port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl FaultProxy {
    fn start(upstream: &str, schedule: Schedule) -> FaultProxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http endpoint")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("address").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (seen, counter, upstream) =
                        (seen.clone(), counter.clone(), upstream.clone());
                    std::thread::spawn(move || {
                        // A broken client connection is the client's business.
                        let _ = serve(stream, &upstream, schedule, &counter, &seen);
                    });
                }
            });
        }
        FaultProxy { port, seen, stop }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The mirror URL of `bucket/prefix` through the proxy.
    fn url(&self, bucket: &str, prefix: &str) -> String {
        format!(
            "s3://{bucket}/{prefix}?endpoint={}&region=us-east-1",
            self.endpoint()
        )
    }

    fn faults(&self, fault: Fault) -> usize {
        let seen = self.seen.lock().expect("lock");
        seen.faults.get(&fault).copied().unwrap_or(0)
    }

    fn requests(&self) -> (usize, usize) {
        let seen = self.seen.lock().expect("lock");
        (seen.requests, seen.forwarded)
    }
}

/// One HTTP/1.1 message head (request or response) and its body, read as
/// `Content-Length` says (moto and object_store both send one; chunked
/// bodies are not expected and fail the test).
fn read_message(
    reader: &mut impl BufRead,
    head_only: bool,
) -> std::io::Result<(Vec<String>, Vec<u8>)> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let header = |name: &str| {
        lines.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    assert!(
        header("transfer-encoding").is_none(),
        "a chunked message: {lines:?}"
    );
    let length: usize = header("content-length").map_or(0, |v| v.parse().expect("Content-Length"));
    let mut body = vec![0; if head_only { 0 } else { length }];
    reader.read_exact(&mut body)?;
    Ok((lines, body))
}

/// Writes a message with `Connection: close` instead of whatever it said.
fn write_message(out: &mut impl Write, lines: &[String], body: &[u8]) -> std::io::Result<()> {
    let mut head = String::new();
    for line in lines.iter().filter(|l| {
        !l.split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"))
    }) {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

fn serve(
    client: TcpStream,
    upstream: &str,
    schedule: Schedule,
    counter: &AtomicUsize,
    seen: &Mutex<Seen>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let (request, body) = read_message(&mut reader, false)?;
    let target = request.first().cloned().unwrap_or_default();
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    let fault = {
        let mut seen = seen.lock().expect("lock");
        seen.requests += 1;
        let fault = schedule.decide(n, &target, &mut seen);
        if let Some(f) = fault {
            *seen.faults.entry(f).or_insert(0) += 1;
        }
        if fault.is_none_or(|f| f == Fault::LoseAnswer) {
            seen.forwarded += 1;
        }
        fault
    };
    let mut client = client;
    match fault {
        Some(fault) if fault != Fault::LoseAnswer => {
            if let Some(answer) = fault.answer() {
                client.write_all(&answer)?;
            }
            // Drop: closed with nothing said (the whole request was read, so
            // the client meets an end of stream, not a reset).
            client.shutdown(std::net::Shutdown::Both)
        }
        _ => {
            let mut moto = TcpStream::connect(upstream)?;
            moto.set_read_timeout(Some(Duration::from_secs(60)))?;
            write_message(&mut moto, &request, &body)?;
            let head_request = target.starts_with("HEAD ");
            let (response, answer) = read_message(&mut BufReader::new(moto), head_request)?;
            if fault.is_none() {
                write_message(&mut client, &response, &answer)?;
            }
            client.shutdown(std::net::Shutdown::Both)
        }
    }
}

/// `repo verify` of `url` with the fixture's key; its run.
fn verify(fx: &Fixture, url: &str) -> crate::common::Run {
    crate::mirror::verify_mirror(fx, url, &["--json"])
}

#[test]
fn a_push_retries_through_throttling_server_errors_and_dropped_connections() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("flaky");
    let proxy = FaultProxy::start(&moto.endpoint(), Schedule::Mixed);
    add(&fx, &many_debs(&fx, "flaky", 50));

    let started = Instant::now();
    let run = bk_aws(
        &fx,
        &[
            "-q",
            "repo",
            "push",
            fx.repo_arg(),
            "--to",
            &proxy.url("flaky", "apt"),
            "--json",
        ],
    );
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let report = &report[0];
    let (received, forwarded) = proxy.requests();
    let faults: Vec<(Fault, usize)> = Fault::ALL.iter().map(|f| (*f, proxy.faults(*f))).collect();
    for (fault, count) in &faults {
        assert!(
            *count > 0,
            "no {fault:?} injected: {faults:?}, {received} requests"
        );
    }
    assert!(num(report, "uploaded") >= 50, "{report}");
    // The push counts each request once, however often it was retried.
    assert_eq!(
        num(report, "requests") as usize,
        forwarded,
        "{report}; faults {faults:?}"
    );
    assert_eq!(
        received,
        forwarded + faults.iter().map(|(_, c)| c).sum::<usize>()
    );
    assert!(
        took < Duration::from_secs(60),
        "{took:?} for {received} requests"
    );

    // What the faults let through is whole: read back directly from moto,
    // and through the proxy (verify retries too).
    let checked = verify(&fx, &moto.url("flaky", "apt"));
    assert_eq!(checked.code, 0, "{}\n{}", checked.stdout, checked.stderr);
    let checked: serde_json::Value = serde_json::from_str(&checked.stdout).expect("json");
    assert_eq!(checked["pool_files"], 50, "{checked}");
    let faults_before = proxy.requests().0 - proxy.requests().1;
    let checked = verify(&fx, &proxy.url("flaky", "apt"));
    assert_eq!(checked.code, 0, "{}\n{}", checked.stdout, checked.stderr);
    assert!(
        proxy.requests().0 - proxy.requests().1 > faults_before,
        "verify met faults too"
    );

    // Stock apt, with gpgv, from the bucket's HTTP endpoint.
    let server = bucket_server(&moto, "flaky", "apt");
    clean_update(&fx, &server);
    let run = fx.apt(&server, &["download", "flaky-00049"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let downloaded = fx.sb.path("apt/download/flaky-00049_1.0-1_amd64.deb");
    assert_eq!(
        std::fs::read(&downloaded).expect("downloaded .deb"),
        std::fs::read(fx.sb.path("many-flaky/flaky-00049_1.0-1_amd64.deb")).expect("local .deb"),
    );
}

#[test]
fn a_server_that_only_says_slow_down_fails_the_push_in_bounded_time() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("down");
    add(&fx, &many_debs(&fx, "down", 50));
    let expect_failure = |proxy: &FaultProxy| {
        let started = Instant::now();
        let run = bk_aws(
            &fx,
            &[
                "-q",
                "repo",
                "push",
                fx.repo_arg(),
                "--to",
                &proxy.url("down", "apt"),
                "--jobs",
                "4",
            ],
        );
        let took = started.elapsed();
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.starts_with("error: could not ")
                && run.stderr.contains("on s3://down/apt")
                && run
                    .stderr
                    .contains("SlowDown: Please reduce your request rate."),
            "the server's answer is named:\n{}",
            run.stderr
        );
        assert!(took < Duration::from_secs(150), "{took:?}: {}", run.stderr);
        assert!(
            moto.get("down", "apt/dists/stable/InRelease").is_none(),
            "nothing switched for clients"
        );
        (took, run.stderr)
    };

    // From the first request: the lease cannot even be taken.
    let proxy = FaultProxy::start(&moto.endpoint(), Schedule::SlowDownAfter(0));
    let (took, stderr) = expect_failure(&proxy);
    assert!(stderr.contains(".buildkit/lease.json"), "{stderr}");
    assert_eq!(proxy.requests().1, 0);
    assert_eq!(proxy.faults(Fault::SlowDown), 7, "one try and 6 retries");
    assert!(
        took >= Duration::from_millis(300),
        "it backed off: {took:?}"
    );
    drop(proxy);

    // Midway through the pool: the push stops with its lease still in the
    // bucket (it cannot delete it through a server that refuses everything)
    // and no index or Release file written.
    let proxy = FaultProxy::start(&moto.endpoint(), Schedule::SlowDownAfter(20));
    expect_failure(&proxy);
    assert_eq!(proxy.requests().1, 20);
    for key in [
        "dists/stable/Release",
        "dists/stable/main/binary-amd64/Packages",
    ] {
        assert!(moto.get("down", &format!("apt/{key}")).is_none(), "{key}");
    }
    drop(proxy);

    // The server back: the next push takes over the dead push's lease and
    // completes what it started.
    let env = aws(&fx);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = fx.sb.bk_env(
        &fx.sb.path(""),
        &[
            "repo",
            "push",
            fx.repo_arg(),
            "--to",
            &moto.url("down", "apt"),
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let checked = verify(&fx, &moto.url("down", "apt"));
    assert_eq!(checked.code, 0, "{}\n{}", checked.stdout, checked.stderr);
}

#[test]
fn a_push_whose_conditional_writes_lost_their_answers_still_completes() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("lost");
    add(&fx, &[fx.deb("hello", "1.0-1", "amd64")]);
    // The server carries out the lease's `If-None-Match: *` and the
    // manifest's first write, but their answers never arrive: the client
    // retries, and the server answers 412 to the retry.
    let proxy = FaultProxy::start(
        &moto.endpoint(),
        Schedule::LoseFirstAnswerTo(&[".buildkit/lease.json", ".buildkit/manifest.json"]),
    );
    let started = Instant::now();
    let run = bk_aws(
        &fx,
        &[
            "-q",
            "repo",
            "push",
            fx.repo_arg(),
            "--to",
            &proxy.url("lost", "apt"),
            "--json",
        ],
    );
    let took = started.elapsed();
    assert_eq!(proxy.faults(Fault::LoseAnswer), 2);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "", "no lease taken over from itself");
    assert!(
        took < Duration::from_secs(20),
        "{took:?}: did it wait for its own lease?"
    );
    let checked = verify(&fx, &moto.url("lost", "apt"));
    assert_eq!(checked.code, 0, "{}\n{}", checked.stdout, checked.stderr);
}

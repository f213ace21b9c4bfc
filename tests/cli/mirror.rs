//! `repo push` and `repo verify s3://…` against a real S3 server (moto in
//! server mode, on 127.0.0.1): apt-get installs from the bucket's HTTP
//! endpoint, a reader polling during pushes never meets a hash mismatch,
//! a push killed midway resumes, two pushers never lose each other's
//! packages, and bad credentials, a missing bucket and a damaged manifest
//! get clear errors.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use crate::common::Run;
use crate::repo::{clean_update, many_debs, Fixture, Server};

/// moto's S3 server: `$BUILDKIT_MOTO`, the venv `make test` installs
/// (scripts/ensure-moto), else `moto_server` on PATH.
fn moto_program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BUILDKIT_MOTO") {
        return Some(PathBuf::from(path));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let venv = cache.join("git-buildkit/moto/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join("moto_server"))
        .find(|p| p.is_file())
}

/// A moto server on a free loopback port, killed on drop.
pub(crate) struct Moto {
    child: Child,
    port: u16,
    pub(crate) log: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

impl Moto {
    /// Starts moto (`None` after saying why the test does not run); `auth` makes it check every request's credentials
    /// (none are known to it, so every signed request is refused).
    #[allow(clippy::print_stderr)]
    pub(crate) fn start(dir: &Path, auth: bool) -> Option<Moto> {
        let Some(program) = moto_program() else {
            // Green without having tested anything only when asked for.
            assert!(
                std::env::var_os("BUILDKIT_SKIP_S3").is_some(),
                "moto_server is missing: `make test` installs it (scripts/ensure-moto); BUILDKIT_SKIP_S3=1 skips the S3 tests"
            );
            eprintln!(
                "SKIPPED (BUILDKIT_SKIP_S3): moto_server is not installed; this test did not run"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        std::fs::create_dir_all(dir).expect("mkdir");
        let log = dir.join(format!("moto-{port}.log"));
        let mut command = Command::new(program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"));
        if auth {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
        }
        let child = command.spawn().expect("moto_server");
        let moto = Moto { child, port, log };
        let started = Instant::now();
        while http().get(moto.endpoint()).send().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates `bucket`, readable by anyone (a bucket policy, as for a
    /// public apt repository; git-buildkit sets no ACLs).
    pub(crate) fn create_bucket(&self, bucket: &str) {
        let status = http()
            .put(format!("{}/{bucket}", self.endpoint()))
            .send()
            .expect("create bucket")
            .status();
        assert!(status.is_success(), "create bucket: {status}");
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        );
        let status = http()
            .put(format!("{}/{bucket}?policy", self.endpoint()))
            .header("Content-Type", "application/json")
            .body(policy)
            .send()
            .expect("bucket policy")
            .status();
        assert!(status.is_success(), "bucket policy: {status}");
    }

    /// The mirror URL of `bucket/prefix`.
    pub(crate) fn url(&self, bucket: &str, prefix: &str) -> String {
        format!(
            "s3://{bucket}/{prefix}?endpoint={}&region=us-east-1",
            self.endpoint()
        )
    }

    /// Where apt reads `bucket/prefix` (path style, unsigned GETs).
    pub(crate) fn base(&self, bucket: &str, prefix: &str) -> String {
        format!("{}/{bucket}/{prefix}/", self.endpoint())
    }

    /// An object's bytes over plain HTTP, as a client reads them.
    pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let response = http()
            .get(format!("{}/{bucket}/{key}", self.endpoint()))
            .send()
            .ok()?;
        response
            .status()
            .is_success()
            .then(|| response.bytes().expect("body").to_vec())
    }

    /// Writes an object with a signed request (moto refuses unsigned
    /// writes over an existing object), as another tool would.
    pub(crate) fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        use object_store::ObjectStoreExt;
        let (store, runtime) = self.signed(bucket);
        let path = object_store::path::Path::parse(key).expect("key");
        runtime
            .block_on(store.put(&path, bytes.to_vec().into()))
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }

    /// Deletes an object with a signed request.
    pub(crate) fn delete(&self, bucket: &str, key: &str) {
        use object_store::ObjectStoreExt;
        let (store, runtime) = self.signed(bucket);
        let path = object_store::path::Path::parse(key).expect("key");
        runtime
            .block_on(store.delete(&path))
            .unwrap_or_else(|e| panic!("delete {key}: {e}"));
    }

    /// A client that signs its requests (with moto's unchecked credentials).
    fn signed(&self, bucket: &str) -> (object_store::aws::AmazonS3, tokio::runtime::Runtime) {
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .expect("client");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        (store, runtime)
    }

    /// Requests moto has logged so far.
    pub(crate) fn requests(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\" ") && l.contains("HTTP/1.1"))
            .count()
    }
}

/// The environment a push runs with: the fixture's key store and moto's
/// (unchecked) credentials.
pub(crate) fn aws(fx: &Fixture) -> Vec<(&'static str, String)> {
    vec![
        ("BUILDKIT_KEY_STORE", fx.store.display().to_string()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]
}

pub(crate) fn bk_aws(fx: &Fixture, args: &[&str]) -> Run {
    let env = aws(fx);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fx.sb.bk_env(&fx.sb.path(""), args, &env)
}

/// `repo verify URL --key <the fixture's key>` (and `extra`), quietly.
pub(crate) fn verify_mirror(fx: &Fixture, url: &str, extra: &[&str]) -> Run {
    let key = fx.repo.join("key.gpg").display().to_string();
    let mut args = vec!["-q", "repo", "verify", url, "--key", &key];
    args.extend_from_slice(extra);
    bk_aws(fx, &args)
}

/// `repo push --json` of the fixture's repository; the one report.
pub(crate) fn push(fx: &Fixture, url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["-q", "repo", "push", fx.repo_arg(), "--to", url, "--json"];
    args.extend_from_slice(extra);
    let run = bk_aws(fx, &args).ok();
    let reports: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    reports[0].clone()
}

pub(crate) fn add(fx: &Fixture, debs: &[PathBuf]) {
    let mut args = vec!["repo", "add", fx.repo_arg()];
    args.extend(debs.iter().map(|d| d.to_str().expect("utf8")));
    fx.bk(&args).ok();
}

pub(crate) fn num(report: &serde_json::Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {report}"))
}

/// A `Server` whose URL is the bucket's HTTP endpoint, for the apt fixture.
pub(crate) fn bucket_server(moto: &Moto, bucket: &str, prefix: &str) -> Server {
    Server {
        // A placeholder child: the fixture only reads `url`; moto is owned by the test.
        child: Command::new("sleep").arg("600").spawn().expect("sleep"),
        url: moto.base(bucket, prefix),
    }
}

#[test]
fn apt_installs_from_the_pushed_bucket_and_a_push_uploads_only_what_changed() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("apt-bucket");
    let url = moto.url("apt-bucket", "apt/hello");
    add(
        &fx,
        &[
            fx.deb("hello", "1.0-1", "amd64"),
            fx.deb("hello", "1.1~rc1-1", "all"),
        ],
    );

    let first = push(&fx, &url, &[]);
    assert_eq!(num(&first, "skipped"), 0, "{first}");
    let uploaded = num(&first, "uploaded");
    assert!(
        uploaded >= 15,
        "pool, indexes, by-hash, Release files, keys: {first}"
    );

    // Stock apt, with gpgv, from the bucket's HTTP endpoint.
    let server = bucket_server(&moto, "apt-bucket", "apt/hello");
    clean_update(&fx, &server);
    let run = fx.apt(&server, &["download", "hello=1.1~rc1-1"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // apt-get install resolves and fetches it from the bucket too (into
    // the private cache: the test never installs on the host).
    let run = fx.apt(&server, &["install", "--download-only", "-y", "hello"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let fetched = fx.sb.path("apt/cache/archives/hello_1.1~rc1-1_all.deb");
    let pool = fx.repo.join("pool/main/h/hello/hello_1.1~rc1-1_all.deb");
    assert_eq!(
        std::fs::read(&fetched).ok(),
        std::fs::read(&pool).ok(),
        "{}",
        run.stdout
    );
    let verify = verify_mirror(&fx, &url, &[]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);

    // Nothing changed: the manifest says so in a handful of requests.
    let again = push(&fx, &url, &[]);
    assert_eq!(
        (num(&again, "uploaded"), num(&again, "skipped")),
        (0, uploaded),
        "{again}"
    );
    assert!(
        num(&again, "requests") <= 5,
        "lease, manifest, release: {again}"
    );

    // One package more: O(changed) requests, the old indexes kept for the grace period.
    let old_release = moto
        .get("apt-bucket", "apt/hello/dists/stable/Release")
        .expect("Release");
    add(&fx, &[fx.deb("extra", "2.0-1", "amd64")]);
    let before = moto.requests();
    let third = push(&fx, &url, &[]);
    let logged = moto.requests() - before;
    assert!(num(&third, "uploaded") <= 20, "{third}");
    assert!(num(&third, "requests") <= 30, "{third}");
    assert_eq!(
        logged as u64,
        num(&third, "requests"),
        "the count is the server's"
    );
    assert!(
        num(&third, "waiting") > 0,
        "superseded indexes wait: {third}"
    );
    // Every by-hash file the old Release names is still served.
    for line in String::from_utf8_lossy(&old_release).lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [digest, _, path] = parts[..] {
            if digest.len() == 64 {
                let dir = Path::new(path).parent().expect("dir").display();
                let key = format!("apt/hello/dists/stable/{dir}/by-hash/SHA256/{digest}");
                assert!(moto.get("apt-bucket", &key).is_some(), "{key} gone");
            }
        }
    }
    clean_update(&fx, &server);
    let run = fx.apt(&server, &["download", "extra"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn the_plus_workaround_stores_a_twin_named_with_a_space() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("plus");
    add(&fx, &[fx.deb("hello", "1.0+b1-1", "amd64")]);
    let pool = "pool/main/h/hello/hello_1.0+b1-1_amd64.deb";
    let bytes = std::fs::read(fx.repo.join(pool)).expect("pool file");
    // Another service: no twin.
    push(&fx, &moto.url("plus", "off"), &[]);
    assert_eq!(
        moto.get("plus", &format!("off/{pool}")),
        Some(bytes.clone())
    );
    assert_eq!(
        moto.get("plus", &format!("off/{}", pool.replace('+', "%20"))),
        None
    );
    // Asked for (the default for Amazon S3, which reads `+` in a path as a space).
    let url = format!("{}&plus-workaround=true", moto.url("plus", "on"));
    let report = push(&fx, &url, &[]);
    assert_eq!(
        moto.get("plus", &format!("on/{}", pool.replace('+', "%20"))),
        Some(bytes)
    );
    assert!(num(&report, "uploaded") >= 2, "{report}");
}

#[test]
fn a_client_reading_during_pushes_never_meets_a_hash_mismatch() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("live");
    let url = moto.url("live", "apt");
    add(&fx, &[fx.deb("base", "1.0-1", "amd64")]);
    push(&fx, &url, &[]);
    let server = bucket_server(&moto, "live", "apt");
    clean_update(&fx, &server);

    // A reader as a slow apt client is one: InRelease first, then — after
    // a pause in which a push may run — every by-hash index it names and
    // every pool file those name, each checked against what named it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let endpoint = moto.endpoint();
        std::thread::spawn(move || read_in_a_loop(&endpoint, "live/apt", &stop))
    };
    for n in 1..=5 {
        add(&fx, &[fx.deb(&format!("pkg{n}"), "1.0-1", "amd64")]);
        push(&fx, &url, &[]);
        // apt itself between pushes: gpgv, by-hash, no warning.
        clean_update(&fx, &server);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (rounds, pool_files, problems) = reader.join().expect("reader");
    assert!(
        rounds >= 5,
        "the reader read during the pushes ({rounds} rounds)"
    );
    assert!(pool_files >= rounds, "pool files read too ({pool_files})");
    assert_eq!(problems, Vec::<String>::new(), "after {rounds} rounds");
    let run = fx.apt(&server, &["download", "pkg5"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// Reads the mirror at `endpoint/base` as a slow client until `stop`:
/// (rounds, pool files read, problems met).
fn read_in_a_loop(
    endpoint: &str,
    base: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> (u32, u32, Vec<String>) {
    use sha2::Digest;
    let get = |key: &str| -> Option<Vec<u8>> {
        let r = http().get(format!("{endpoint}/{base}/{key}")).send().ok()?;
        r.status()
            .is_success()
            .then(|| r.bytes().expect("body").to_vec())
    };
    let sha = |bytes: &[u8]| hex::encode(sha2::Sha256::digest(bytes));
    let (mut rounds, mut pool_files, mut problems) = (0u32, 0u32, Vec::new());
    while !stop.load(std::sync::atomic::Ordering::Relaxed) || rounds == 0 {
        let Some(inrelease) = get("dists/stable/InRelease") else {
            problems.push("InRelease missing".to_owned());
            break;
        };
        std::thread::sleep(Duration::from_millis(150));
        for line in String::from_utf8_lossy(&inrelease).lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [digest, size, path] = parts[..] else {
                continue;
            };
            if digest.len() != 64 {
                continue;
            }
            let dir = Path::new(path).parent().expect("dir").display().to_string();
            let key = format!("dists/stable/{dir}/by-hash/SHA256/{digest}");
            let Some(bytes) = get(&key) else {
                problems.push(format!("{key}: missing"));
                continue;
            };
            if sha(&bytes) != digest || bytes.len().to_string() != size {
                problems.push(format!("{key}: hash mismatch"));
            }
            if !path.ends_with("/Packages") {
                continue;
            }
            for stanza in String::from_utf8_lossy(&bytes).split("\n\n") {
                let field = |name: &str| {
                    stanza
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::trim)
                };
                let (Some(file), Some(want)) = (field("Filename:"), field("SHA256:")) else {
                    continue;
                };
                match get(file) {
                    Some(deb) if sha(&deb) == want => pool_files += 1,
                    Some(_) => problems.push(format!("{file}: hash mismatch")),
                    None => problems.push(format!("{file}: missing")),
                }
            }
        }
        rounds += 1;
    }
    (rounds, pool_files, problems)
}

#[test]
fn a_push_killed_midway_resumes_where_it_stopped() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("resume");
    let url = moto.url("resume", "apt");
    add(&fx, &many_debs(&fx, "many", 700));

    // One request at a time, killed as soon as its first checkpoint is in.
    let env = aws(&fx);
    let mut command = fx.sb.bk_command(
        &fx.sb.path(""),
        &[
            "-q",
            "repo",
            "push",
            fx.repo_arg(),
            "--to",
            &url,
            "--jobs",
            "1",
        ],
    );
    for (k, v) in &env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("push");
    let started = Instant::now();
    while moto.get("resume", "apt/.buildkit/manifest.json").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the push ended before its checkpoint"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    assert!(
        moto.get("resume", "apt/dists/stable/InRelease").is_none(),
        "killed before the switch: clients see no half-pushed repository"
    );

    // The lease the dead push left is taken over at once (its process is
    // gone), and what the checkpoint recorded is not uploaded again.
    let run = bk_aws(
        &fx,
        &["repo", "push", fx.repo_arg(), "--to", &url, "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("taking over the mirror's lease"),
        "{}",
        run.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let report = &report[0];
    assert!(
        num(report, "skipped") >= 256,
        "the checkpoint's objects: {report}"
    );
    assert!(
        num(report, "uploaded") + num(report, "present") + num(report, "skipped") >= 700,
        "{report}"
    );
    assert!(num(report, "uploaded") < 700 - 256 + 20, "{report}");
    let verify = verify_mirror(&fx, &url, &["--json"]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    let checked: serde_json::Value = serde_json::from_str(&verify.stdout).expect("json");
    assert_eq!(checked["pool_files"], 700);
}

#[test]
fn two_publishers_never_lose_each_other_s_packages() {
    let a = Fixture::new(&[]);
    let b = Fixture::new(&[]);
    let Some(moto) = Moto::start(&a.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("shared");
    let url = moto.url("shared", "apt");
    add(&a, &many_debs(&a, "alpha", 150));
    add(&b, &[b.deb("beta", "1.0-1", "amd64")]);

    // Both at once: one holds the lease, the other waits for it, then sees
    // that pushing would drop the first one's packages, and refuses.
    let spawn = |fx: &Fixture| {
        let mut command = fx.sb.bk_command(
            &fx.sb.path(""),
            &["repo", "push", fx.repo_arg(), "--to", &url],
        );
        for (k, v) in aws(fx) {
            command.env(k, v);
        }
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("push")
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    let (oa, ob) = (
        pa.wait_with_output().expect("a"),
        pb.wait_with_output().expect("b"),
    );
    let codes = (oa.status.code(), ob.status.code());
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let (winner, loser_err) = match codes {
        (Some(0), Some(1)) => (&a, stderr(&ob)),
        (Some(1), Some(0)) => (&b, stderr(&oa)),
        other => panic!(
            "one push must win, one refuse: {other:?}\n{}\n{}",
            stderr(&oa),
            stderr(&ob)
        ),
    };
    assert!(
        loser_err.contains("another repository pushed"),
        "{loser_err}"
    );
    assert!(loser_err.contains("--force"), "{loser_err}");
    let verify = verify_mirror(winner, &url, &[]);
    assert_eq!(
        verify.code, 0,
        "the winner's mirror is whole: {}\n{}",
        verify.stdout, verify.stderr
    );

    // A live lease (another machine's push) and no patience: a clear refusal.
    let holder = r#"{"host":"elsewhere","boot_id":"another-boot","pid":1,"start_time":1,"since":1700000000,"ttl":600}"#;
    moto.put("shared", "apt/.buildkit/lease.json", holder.as_bytes());
    let run = bk_aws(
        winner,
        &[
            "repo",
            "push",
            winner.repo_arg(),
            "--to",
            &url,
            "--wait",
            "1",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("another push to") && run.stderr.contains("elsewhere"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_credentials_a_missing_bucket_and_a_damaged_manifest_are_clear_errors() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    let Some(strict) = Moto::start(&fx.sb.path("moto-auth"), true) else {
        return;
    };
    moto.create_bucket("ok-bucket");
    add(&fx, &[fx.deb("hello", "1.0-1", "amd64")]);
    let repo = fx.repo_arg();
    let expect = |run: Run, code: i32, needles: &[&str]| {
        assert_eq!(run.code, code, "{}", run.stderr);
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "{needle:?} in:\n{}",
                run.stderr
            );
        }
        assert!(
            !run.stderr.contains("test-secret"),
            "the secret is never printed"
        );
    };

    // Credentials the server does not know.
    let strict_url = strict.url("any-bucket", "apt");
    let run = fx.sb.bk_env(
        &fx.sb.path(""),
        &["repo", "push", repo, "--to", &strict_url],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDUNKNOWN"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ],
    );
    expect(
        run,
        2,
        &[
            "refused the credentials",
            "InvalidAccessKeyId",
            "hint: set AWS_ACCESS_KEY_ID",
        ],
    );

    // No credentials anywhere: nothing is sent.
    let before = moto.requests();
    let run = fx.sb.bk(
        &fx.sb.path(""),
        &["repo", "push", repo, "--to", &moto.url("ok-bucket", "apt")],
    );
    expect(run, 2, &["no credentials for s3://ok-bucket/apt"]);
    assert_eq!(moto.requests(), before);

    // Credentials in the URL are refused before anything is sent.
    let run = bk_aws(
        &fx,
        &[
            "repo",
            "push",
            repo,
            "--to",
            "s3://AKID:test-secret@ok-bucket/apt",
        ],
    );
    expect(run, 2, &["credentials do not belong in the URL"]);

    // A bucket that does not exist.
    let run = bk_aws(
        &fx,
        &[
            "repo",
            "push",
            repo,
            "--to",
            &moto.url("no-such-bucket", "apt"),
        ],
    );
    expect(
        run,
        2,
        &[
            "the bucket of s3://no-such-bucket/apt",
            "does not exist",
            "never creates buckets",
        ],
    );
    let run = bk_aws(&fx, &["repo", "verify", &moto.url("no-such-bucket", "apt")]);
    expect(run, 2, &["does not exist"]);

    // A damaged manifest: refused, nothing changed; --force compares
    // every object again and writes a new one.
    let url = moto.url("ok-bucket", "apt");
    moto.put(
        "ok-bucket",
        "apt/.buildkit/manifest.json",
        b"{\"format\": 1, \"objects\": 42",
    );
    let run = bk_aws(&fx, &["repo", "push", repo, "--to", &url]);
    expect(
        run,
        1,
        &["manifest of s3://ok-bucket/apt", "is damaged", "--force"],
    );
    assert!(moto
        .get("ok-bucket", "apt/dists/stable/InRelease")
        .is_none());
    let report = push(&fx, &url, &["--force"]);
    assert!(num(&report, "uploaded") > 0, "{report}");
    let verify = verify_mirror(&fx, &url, &[]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);

    // A mirror whose files were tampered with: verify names them.
    moto.put(
        "ok-bucket",
        "apt/pool/main/h/hello/hello_1.0-1_amd64.deb",
        b"not a deb",
    );
    let run = verify_mirror(&fx, &url, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("pool/main/h/hello/hello_1.0-1_amd64.deb: size or SHA256 differs"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_tag_s_pipeline_pushes_to_its_mirror_within_what_the_host_allows() {
    let sb = crate::common::Sandbox::new();
    let Some(moto) = Moto::start(&sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("releases");
    let repo = sb.hello();
    sb.generate_key(&repo, "T", "t@example.com");
    let url = moto.url("releases", "apt/hello");
    let config = repo.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let apt = sb.path("apt");
    let with_mirror = |mirror: &str| {
        format!(
            "{text}\n[repo]\npath = \"{}\"\nmirror = [\"{mirror}\"]\n",
            apt.display()
        )
    };
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];

    // A mirror URL that cannot be right is a configuration error, with its place.
    std::fs::write(&config, with_mirror("s3://Not_A_Bucket/apt")).expect("write");
    sb.commit(&repo, "2026-03-01T10:00:00Z", "Mirror (wrong)");
    sb.tag(&repo, "2026-03-01T10:00:00Z", "v1.2.0");
    let run = sb.bk_env(&repo, &["pipeline", "v1.2.0"], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needle in [".buildkit.toml:", "[repo] mirror", "bucket name"] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }

    std::fs::write(&config, with_mirror(&url)).expect("write");
    sb.commit(&repo, "2026-03-02T10:00:00Z", "Mirror");
    sb.tag(&repo, "2026-03-02T10:00:00Z", "v1.3.0");
    // The file comes with the commits: the build host decides where its
    // credentials may sign requests to. Not listed: refused, nothing sent.
    let before = moto.requests();
    let run = sb.bk_env(&repo, &["pipeline", "v1.3.0"], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needle in [
        "does not allow pushing to s3://releases/apt/hello",
        "git config --global --add buildkit.mirror.allow",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert_eq!(moto.requests(), before);
    // Another bucket, or the same one on another endpoint, is not it; an
    // entry that is no mirror URL is said to be wrong.
    let allow = |value: &str| sb.git(&repo, &["config", "--add", "buildkit.mirror.allow", value]);
    allow(&moto.url("other", "apt"));
    allow("s3://releases/apt?endpoint=http://127.0.0.2:9");
    let run = sb.bk_env(&repo, &["pipeline", "v1.3.0", "--force"], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("does not allow"), "{}", run.stderr);
    // The doctor says so first.
    let mirror_check = |env: &[(&str, &str)]| {
        let run = sb.bk_env(&repo, &["doctor", "--json"], env);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == "mirror")
            .expect("mirror check")
            .clone()
    };
    let refused = mirror_check(&env);
    assert_eq!(refused["status"], "missing-required", "{refused}");
    // A prefix above it is allowed: the tag's packages reach the bucket.
    allow(&moto.url("releases", "apt"));
    let run = sb.bk_env(&repo, &["pipeline", "v1.3.0", "--force"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("Pushed"), "{}", run.stderr);
    let packages = moto
        .get(
            "releases",
            "apt/hello/dists/stable/main/binary-amd64/Packages",
        )
        .expect("the tag's packages are in the bucket");
    let packages = String::from_utf8_lossy(&packages);
    assert!(
        packages.contains("Package: hello\n") && packages.contains("Version: 1.3.0"),
        "{packages}"
    );

    // The doctor: allowed, credentials found, and (on 127.0.0.1) what the
    // mirror holds; without credentials the publish stage would fail.
    let found = mirror_check(&env);
    assert_eq!(found["status"], "ok", "{found}");
    let detail = found["detail"].as_str().expect("detail");
    assert!(detail.contains("holds generation"), "{found}");
    let missing = mirror_check(&[]);
    assert_eq!(missing["status"], "missing-required", "{missing}");
    let detail = missing["detail"].as_str().expect("detail");
    assert!(detail.contains("no credentials"), "{missing}");
    let bad = "https://not-a-mirror";
    allow(bad);
    let broken = mirror_check(&env);
    assert_eq!(broken["status"], "missing-required", "{broken}");
}

#[test]
fn a_manifest_that_lies_or_names_foreign_keys_is_mended_by_force() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("lies");
    let url = moto.url("lies", "apt");
    add(&fx, &[fx.deb("hello", "1.0-1", "amd64")]);
    push(&fx, &url, &[]);
    let verify = |fx: &Fixture| verify_mirror(fx, &url, &[]);

    // An object the manifest claims is gone: a plain push trusts the
    // manifest (that is what makes it cheap), verify finds it, --force
    // checks the manifest against a listing and puts it back.
    let pool = "pool/main/h/hello/hello_1.0-1_amd64.deb";
    moto.delete("lies", &format!("apt/{pool}"));
    assert_eq!(num(&push(&fx, &url, &[]), "uploaded"), 0);
    let run = verify(&fx);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("{pool}: named by a Packages entry but missing")),
        "{}",
        run.stdout
    );
    let forced = push(&fx, &url, &["--force"]);
    assert_eq!(num(&forced, "uploaded"), 1, "{forced}");
    let run = verify(&fx);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // A manifest naming a key no push writes (another mirror nested under
    // the prefix) is damaged: refused, and --force never deletes that key.
    let foreign = "apt/other/dists/stable/InRelease";
    moto.put("lies", foreign, b"another mirror's file");
    let hostile = serde_json::json!({
        "format": 1, "serial": 9, "pushed_by": "", "generation": 1, "pushed_at": 0,
        "complete": true, "objects": {"other/dists/stable/InRelease": "listed"},
        "superseded": {"other/dists/stable/InRelease": 0}, "packages": []
    });
    moto.put(
        "lies",
        "apt/.buildkit/manifest.json",
        hostile.to_string().as_bytes(),
    );
    let run = bk_aws(&fx, &["repo", "push", fx.repo_arg(), "--to", &url]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("which no push writes"),
        "{}",
        run.stderr
    );
    push(&fx, &url, &["--force"]);
    assert_eq!(
        moto.get("lies", foreign),
        Some(b"another mirror's file".to_vec())
    );
    assert_eq!(verify(&fx).code, 0);
}

#[test]
fn superseded_objects_go_after_the_grace_period_and_clients_never_miss_them() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("grace");
    let url = moto.url("grace", "apt");
    // A grace period of 2 s (the repository's by-hash grace).
    let settings = fx.repo.join(".buildkit/repo.toml");
    let text = std::fs::read_to_string(&settings).expect("settings");
    assert!(text.contains("by-hash-grace = 86400\n"), "{text}");
    std::fs::write(
        &settings,
        text.replace("by-hash-grace = 86400\n", "by-hash-grace = 2\n"),
    )
    .expect("write");
    add(&fx, &[fx.deb("one", "1.0-1", "amd64")]);
    push(&fx, &url, &[]);
    let first = moto
        .get("grace", "apt/dists/stable/InRelease")
        .expect("InRelease");
    let by_hash = |inrelease: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(inrelease)
            .lines()
            .filter_map(|l| {
                let parts: Vec<&str> = l.split_whitespace().collect();
                match parts[..] {
                    [digest, _, path] if digest.len() == 64 => {
                        let dir = Path::new(path).parent().expect("dir").display().to_string();
                        Some(format!("apt/dists/stable/{dir}/by-hash/SHA256/{digest}"))
                    }
                    _ => None,
                }
            })
            .collect()
    };
    let old = by_hash(&first);
    add(&fx, &[fx.deb("two", "1.0-1", "amd64")]);
    let second = push(&fx, &url, &[]);
    assert!(num(&second, "waiting") > 0, "{second}");
    assert_eq!(num(&second, "deleted"), 0, "{second}");
    // Within the grace period, a client of the first InRelease finds everything.
    for key in &old {
        assert!(
            moto.get("grace", key).is_some(),
            "{key} gone within the grace period"
        );
    }
    std::thread::sleep(Duration::from_millis(3100));
    add(&fx, &[fx.deb("three", "1.0-1", "amd64")]);
    let third = push(&fx, &url, &[]);
    assert!(num(&third, "deleted") > 0, "{third}");
    let current = by_hash(
        &moto
            .get("grace", "apt/dists/stable/InRelease")
            .expect("InRelease"),
    );
    let gone: Vec<&String> = old.iter().filter(|k| !current.contains(k)).collect();
    assert!(!gone.is_empty());
    for key in gone {
        assert!(
            moto.get("grace", key).is_none(),
            "{key} outlived its grace period"
        );
    }
    let run = verify_mirror(&fx, &url, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn two_pushes_of_one_repository_at_once_both_succeed_one_after_the_other() {
    let fx = Fixture::new(&[]);
    let Some(moto) = Moto::start(&fx.sb.path("moto"), false) else {
        return;
    };
    moto.create_bucket("same");
    let url = moto.url("same", "apt");
    add(&fx, &many_debs(&fx, "same", 120));
    let spawn = || {
        let mut command = fx.sb.bk_command(
            &fx.sb.path(""),
            &["repo", "push", fx.repo_arg(), "--to", &url, "--json"],
        );
        for (k, v) in aws(&fx) {
            command.env(k, v);
        }
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("push")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    for out in [&a, &b] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let uploaded = |out: &std::process::Output| {
        let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        num(&reports[0], "uploaded")
    };
    // One uploaded everything, the other (after waiting) nothing.
    let (ua, ub) = (uploaded(&a), uploaded(&b));
    assert!(ua.min(ub) == 0 && ua.max(ub) > 120, "{ua} and {ub}");
}

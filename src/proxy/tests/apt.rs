//! The acceptance test: a real `apt-get update` through the proxy against a
//! signed repository of our own served on 127.0.0.1, then again with that
//! upstream stopped, from the cache alone.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use pretty_assertions::assert_eq;

use crate::apt::{AptRepo, InitOptions};
use crate::deb::{write_deb, Compression, Control, DataTree, PackageSpec};
use crate::proxy::upstream::EnvProxy;
use crate::proxy::{Cache, Counters, Mirrors, Proxy, ProxyOptions};
use crate::serve::{serve_tcp, Limits, StaticSite};
use crate::sign::SigningKey;

/// A tiny `hello_1.0_all.deb` in `dir`.
fn hello_deb(dir: &Path) -> std::path::PathBuf {
    let control = Control::of(&[
        ("Package", "hello"),
        ("Version", "1.0"),
        ("Architecture", "all"),
        ("Maintainer", "Test <test@example.org>"),
        ("Description", "says hello"),
    ]);
    let mut data = DataTree::new();
    data.add_bytes("/usr/share/hello/greeting", b"hello\n".to_vec(), 0o644)
        .expect("file");
    let spec = PackageSpec {
        control,
        control_files: Vec::new(),
        data,
        compression: Compression::Gzip,
        mtime: 0,
        generate: false,
        on_disk: None,
    };
    write_deb(&spec, dir).expect("deb").path
}

/// Runs `apt-get ARGS` with everything apt reads or writes under `base`
/// (downloads go to `base/download`); returns its exit code, the lines
/// that report a problem, and all it said.
fn apt_get(base: &Path, args: &[&str]) -> (i32, Vec<String>, String) {
    let b = |p: &str| base.join(p).display().to_string();
    let options = [
        format!("Dir::Etc={}", b("etc")),
        "Dir::Etc::SourceList=/dev/null".to_owned(),
        format!("Dir::Etc::SourceParts={}", b("etc/sources.list.d")),
        "Dir::Etc::Trusted=/dev/null".to_owned(),
        format!("Dir::Etc::TrustedParts={}", b("etc/trusted.gpg.d")),
        format!("Dir::State={}", b("state")),
        format!("Dir::State::status={}", b("state/status")),
        format!("Dir::Cache={}", b("cache")),
        "APT::Architecture=amd64".to_owned(),
        "APT::Architectures=amd64".to_owned(),
        "Acquire::Languages=none".to_owned(),
        "APT::Sandbox::User=root".to_owned(),
        "Acquire::http::Proxy=DIRECT".to_owned(),
        "Acquire::Retries=0".to_owned(),
    ];
    let mut command = Command::new("apt-get");
    for option in &options {
        command.arg("-o").arg(option);
    }
    let output = command
        .args(args)
        .current_dir(base.join("download"))
        .env("APT_CONFIG", base.join("apt.conf"))
        .env("LC_ALL", "C")
        .output()
        .expect("apt-get runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let problems = text
        .lines()
        .filter(|l| l.starts_with("W:") || l.starts_with("E:") || l.starts_with("Err:"))
        .map(str::to_owned)
        .collect();
    (output.status.code().unwrap_or(-1), problems, text)
}

#[test]
fn apt_get_updates_through_the_proxy_then_from_the_cache_with_upstream_stopped() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = SigningKey::generate("Proxy Test", "proxy@example.org", None).expect("key");
    let options = InitOptions {
        origin: "proxytest".to_owned(),
        label: "proxytest".to_owned(),
        description: "a repository behind the proxy".to_owned(),
        suites: vec!["stable".to_owned()],
        codename: None,
        components: vec!["main".to_owned()],
        architectures: vec!["amd64".to_owned()],
        keep: 0,
    };
    let repo = AptRepo::init(&dir.path().join("repo"), &options, &key).expect("repo");
    let deb = hello_deb(dir.path());
    repo.add(&[deb], None, None, &key).expect("add");
    let site = StaticSite::new(repo.root()).expect("site");
    let stop = Arc::new(AtomicBool::new(false));
    let (bound, on_bound) = mpsc::channel();
    let upstream = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            serve_tcp(
                &site,
                "127.0.0.1:0".parse().expect("addr"),
                &Limits::default(),
                &stop,
                &|addr| bound.send(addr).expect("send"),
                &|_| {},
                &|_| {},
            )
            .expect("serve");
        }
    });
    let upstream_addr = on_bound
        .recv_timeout(Duration::from_secs(10))
        .expect("bound");
    let proxy = Proxy::with_env_proxy(
        Cache::open(&dir.path().join("cache"), 1 << 30).expect("cache"),
        Mirrors::new([format!("http://{upstream_addr}")]),
        ProxyOptions {
            // Every update revalidates InRelease: the second one finds
            // upstream gone and must be served the cached copy.
            fresh_for: Duration::ZERO,
            ..ProxyOptions::default()
        },
        EnvProxy::Ignored,
    )
    .expect("proxy");
    let loopback = proxy.clone().spawn_loopback().expect("loopback");

    let base = dir.path().join("apt");
    for sub in [
        "etc/sources.list.d",
        "etc/trusted.gpg.d",
        "etc/preferences.d",
        "state/lists/partial",
        "cache/archives/partial",
        "download",
    ] {
        std::fs::create_dir_all(base.join(sub)).expect("mkdir");
    }
    std::fs::write(base.join("state/status"), "").expect("status");
    std::fs::write(base.join("apt.conf"), "").expect("apt.conf");
    let key_file = base.join("key.gpg");
    std::fs::write(&key_file, key.public_binary().expect("public key")).expect("key");
    let sources = format!(
        "deb [signed-by={}] http://{}/{upstream_addr} stable main\n",
        key_file.display(),
        loopback.addr()
    );
    std::fs::write(base.join("etc/sources.list.d/test.list"), sources).expect("sources");

    let (code, problems, text) = apt_get(&base, &["update"]);
    assert_eq!((code, problems), (0, Vec::<String>::new()), "{text}");
    let (code, problems, text) = apt_get(&base, &["download", "hello"]);
    assert_eq!((code, problems), (0, Vec::<String>::new()), "{text}");
    std::fs::remove_file(base.join("download/hello_1.0_all.deb")).expect("downloaded");
    stop.store(true, Ordering::Relaxed);
    upstream.join().expect("upstream stopped");

    // Forget what apt downloaded, so that it asks for everything again.
    std::fs::remove_dir_all(base.join("state/lists")).expect("rm lists");
    std::fs::create_dir_all(base.join("state/lists/partial")).expect("mkdir");
    let (code, problems, text) = apt_get(&base, &["update"]);
    assert_eq!((code, problems), (0, Vec::<String>::new()), "{text}");
    let (code, problems, text) = apt_get(&base, &["download", "hello"]);
    assert_eq!((code, problems), (0, Vec::<String>::new()), "{text}");
    assert!(base.join("download/hello_1.0_all.deb").is_file(), "{text}");
    assert!(
        base.join("state/lists").read_dir().expect("lists").count() > 2,
        "apt stored the indexes again: {text}"
    );
    drop(loopback);
    let counters = proxy.cache().status().expect("status").counters;
    // First run: InRelease, the by-hash Packages and the .deb fetched;
    // second: InRelease's revalidation fails, so all three are hits.
    let want = Counters {
        hits: 3,
        misses: 3,
        revalidations: 0,
        upstream_requests: 4,
        upstream_bytes: counters.upstream_bytes,
        errors: 0,
    };
    assert_eq!(counters, want);
}

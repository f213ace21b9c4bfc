//! `git buildkit cache serve|status|clean` end to end, with no Debian
//! mirror: our own signed repository on 127.0.0.1 is the "mirror", named in
//! an apt configuration of its own (`APT_CONFIG`), which is where the
//! proxy's allow-list comes from; the real `apt-get` fetches through it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::Sandbox;
use crate::repo::{Fixture, Server};

fn status(fx: &Fixture, env: &[(&str, &str)]) -> Value {
    let run = fx
        .sb
        .bk_env(&fx.sb.path(""), &["cache", "status", "--json"], env)
        .ok();
    serde_json::from_str(&run.stdout).expect("cache status JSON")
}

/// `cache status --json` once the proxy has recorded what it served: the
/// counters of a request are written after its answer reached apt, so
/// under load they can lag apt's exit by a moment. Two equal reads 300 ms
/// apart (at most 10 s).
fn settled_status(fx: &Fixture, env: &[(&str, &str)]) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = status(fx, env);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let now = status(fx, env);
        if now == last || std::time::Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// The answer's status line to a raw request sent to `addr`.
fn status_line(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn cache_serve_fetches_only_the_hosts_mirrors_and_status_and_clean_see_it() {
    let fx = Fixture::new(&[]);
    let deb = fx.deb("hello", "1.0", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), deb.to_str().expect("utf8")])
        .ok();
    let mirror = fx.serve();

    // The host's apt, as far as the proxy knows: one source, the mirror.
    let etc = fx.sb.path("host-apt");
    std::fs::create_dir_all(etc.join("sources.list.d")).expect("mkdir");
    std::fs::write(
        etc.join("sources.list"),
        format!("deb {} stable main\n", mirror.url),
    )
    .expect("sources");
    let apt_config = etc.join("apt.conf");
    std::fs::write(
        &apt_config,
        format!(
            "Dir::Etc \"{}/\";\nDir::Etc::sourcelist \"sources.list\";\nDir::Etc::sourceparts \"sources.list.d\";\n",
            etc.display()
        ),
    )
    .expect("apt.conf");
    let cache = fx.sb.path("apt-cache");
    let env = [
        ("APT_CONFIG", apt_config.to_str().expect("utf8")),
        ("BUILDKIT_APT_CACHE", cache.to_str().expect("utf8")),
    ];
    let mut command = Command::new(Sandbox::bk_path());
    command
        .args(["-q", "cache", "serve"])
        .envs(env)
        .env("HOME", fx.sb.path(""))
        .stderr(Stdio::null());
    let proxy: Server = fx.start_server(command);
    let proxy_addr = proxy.url.trim_start_matches("http://").to_owned();
    let through = format!("Acquire::http::Proxy={}", proxy.url);

    // apt through the proxy: update and download, all signatures checked.
    let run = fx.apt(&mirror, &["-o", &through, "update"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let run = fx.apt(&mirror, &["-o", &through, "download", "hello"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let first = settled_status(&fx, &env);
    assert!(first["entries"].as_u64() > Some(0), "{first:#}");
    assert!(
        first["counters"]["upstream_requests"].as_u64() > Some(0),
        "{first:#}"
    );
    assert!(
        first["hosts"]["127.0.0.1"]["entries"].as_u64() > Some(0),
        "{first:#}"
    );

    // Anything but the host's mirrors is refused, and never fetched.
    let port = mirror
        .url
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    for (target, want) in [
        ("http://127.0.0.1:1/debian/InRelease", "403"),
        ("http://example.org/debian/dists/stable/InRelease", "403"),
        (&format!("http://127.0.0.1:{port}/../../etc/passwd"), "40"),
    ] {
        let line = status_line(
            &proxy_addr,
            &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(line.contains(&format!(" {want}")), "{target}: {line}");
    }
    let refused = status(&fx, &env);
    assert_eq!(
        refused["counters"]["upstream_requests"], first["counters"]["upstream_requests"],
        "a refused request reached upstream: {refused:#}"
    );

    // The mirror gone: the same update and download come from the cache.
    let url = mirror.url.clone();
    drop(mirror);
    let gone = Server {
        child: Command::new("true").spawn().expect("true"),
        url,
    };
    let _ = std::fs::remove_dir_all(fx.sb.path("apt/download"));
    std::fs::create_dir_all(fx.sb.path("apt/download")).expect("mkdir");
    for args in [&["update"][..], &["download", "hello"]] {
        let mut all = vec!["-o", through.as_str()];
        all.extend_from_slice(args);
        let run = fx.apt(&gone, &all);
        assert_eq!(run.code, 0, "{args:?}: {}\n{}", run.stdout, run.stderr);
    }
    assert!(fx.sb.path("apt/download/hello_1.0_amd64.deb").is_file());

    // Clean: everything goes; the human status says so.
    fx.sb
        .bk_env(&fx.sb.path(""), &["-q", "cache", "clean"], &env)
        .ok();
    let cleaned = status(&fx, &env);
    assert_eq!(cleaned["entries"], 0, "{cleaned:#}");
    let human = fx
        .sb
        .bk_env(&fx.sb.path(""), &["cache", "status"], &env)
        .ok()
        .stdout;
    assert!(human.contains("0 B of 4.0 GiB in 0 files"), "{human}");
}

//! `git buildkit repo serve-config`: the nginx and Apache snippets of
//! `templates/`, rendered for a repository and run by the real servers on
//! 127.0.0.1, judged by apt-get (through gpgv) and by the status, the
//! `Cache-Control` and the `Content-Type` of each answer.
//!
//! A test whose server is not installed says so and passes: install
//! Debian's `nginx` and `apache2-bin` (`make test` does).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use crate::common::Sandbox;
use crate::repo::{clean_update, Fixture, Server};

/// The server under test.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Nginx,
    Apache,
}

impl Kind {
    fn program(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Apache => "apache2",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Kind::Nginx => "--nginx",
            Kind::Apache => "--apache",
        }
    }

    fn debian_package(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Apache => "apache2-bin",
        }
    }
}

/// The program where `make test` unpacks it (`target/test-debs`, see the
/// Makefile), in PATH, or in the sbin directories (a user's PATH may lack them).
fn find_program(name: &str) -> Option<PathBuf> {
    let unpacked = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-debs/usr/sbin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(unpacked)
        .chain(std::env::split_paths(&path))
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The server's program, or `None` after saying why the test does not run.
#[allow(clippy::print_stderr)]
fn server_program(kind: Kind) -> Option<PathBuf> {
    let found = find_program(kind.program());
    // Under CI, `make test` has installed (or unpacked) it: missing is a failure.
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "{} is missing though `make test` installs it (Debian package {})",
        kind.program(),
        kind.debian_package()
    );
    if found.is_none() {
        eprintln!(
            "SKIPPED: {} is not installed (Debian package {}); this test did not run",
            kind.program(),
            kind.debian_package()
        );
    }
    found
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The main configuration around the printed snippet: everything the
/// server writes goes to `dir`, and it runs as one process (nginx without a
/// master, Apache's `-X`), so killing it leaves nothing behind.
fn main_config(kind: Kind, dir: &Path, site: &Path, port: u16) -> String {
    let d = dir.display();
    let site = site.display();
    match kind {
        Kind::Nginx => format!(
            "master_process off;\n\
             daemon off;\n\
             error_log {d}/error.log;\n\
             pid {d}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
             \x20   access_log {d}/access.log;\n\
             \x20   client_body_temp_path {d}/body;\n\
             \x20   proxy_temp_path {d}/proxy;\n\
             \x20   fastcgi_temp_path {d}/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/uwsgi;\n\
             \x20   scgi_temp_path {d}/scgi;\n\
             \x20   include {site};\n\
             }}\n"
        ),
        Kind::Apache => {
            let m = "/usr/lib/apache2/modules";
            // TypesConfig /dev/null: the snippet's own types, nothing of
            // /etc/mime.types. `nobody` is who Apache runs as under root.
            format!(
                "ServerRoot {d}\n\
                 ServerName localhost\n\
                 Listen 127.0.0.1:{port}\n\
                 PidFile {d}/httpd.pid\n\
                 ErrorLog {d}/error.log\n\
                 DefaultRuntimeDir {d}\n\
                 Mutex file:{d} default\n\
                 LoadModule mpm_event_module {m}/mod_mpm_event.so\n\
                 LoadModule authz_core_module {m}/mod_authz_core.so\n\
                 LoadModule alias_module {m}/mod_alias.so\n\
                 LoadModule mime_module {m}/mod_mime.so\n\
                 LoadModule headers_module {m}/mod_headers.so\n\
                 TypesConfig /dev/null\n\
                 User nobody\n\
                 Group nogroup\n\
                 <Directory />\n\
                 \x20   AllowOverride None\n\
                 \x20   Require all denied\n\
                 </Directory>\n\
                 Include {site}\n"
            )
        }
    }
}

/// Starts `kind` with the snippet `repo serve-config` prints for the
/// fixture's repository, on a free loopback port; returns once it accepts.
fn start(fx: &Fixture, kind: Kind, program: &Path) -> Server {
    let port = free_port();
    let site_text = fx
        .bk(&[
            "repo",
            "serve-config",
            kind.flag(),
            fx.repo_arg(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .ok()
        .stdout;
    let dir = fx.sb.path(kind.program());
    std::fs::create_dir_all(&dir).expect("mkdir");
    let site = dir.join("site.conf");
    std::fs::write(&site, site_text).expect("site");
    let conf = dir.join("main.conf");
    std::fs::write(&conf, main_config(kind, &dir, &site, port)).expect("conf");
    let mut command = Command::new(program);
    match kind {
        Kind::Nginx => command.args([
            "-c",
            conf.to_str().expect("utf8"),
            "-p",
            dir.to_str().expect("utf8"),
        ]),
        Kind::Apache => command.args(["-f", conf.to_str().expect("utf8"), "-X"]),
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("{} exited with {status}:\n{}", kind.program(), log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} did not listen on 127.0.0.1:{port}:\n{}",
            kind.program(),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        url: format!("http://127.0.0.1:{port}/"),
    }
}

/// One answer: status, Cache-Control and (for a 200) Content-Type.
type Answer = (u16, Option<String>, Option<String>);

/// GETs `target` as sent (no client-side normalising of `..` or `%2e`).
fn get(server: &Server, target: &str) -> Answer {
    get_with(server, target, "")
}

/// GETs `target` with `extra` header lines (each ending in CRLF).
fn get_with(server: &Server, target: &str, extra: &str) -> Answer {
    let authority = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).expect("connect");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n{extra}\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {target}: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let content_type = if status == 200 {
        header("content-type")
    } else {
        None
    };
    (status, header("cache-control"), content_type)
}

fn ok(cache: &str, content_type: &str) -> Answer {
    (200, Some(cache.to_owned()), Some(content_type.to_owned()))
}

const NOT_FOUND: Answer = (404, None, None);

/// A file of the by-hash store as apt asks for it (through `dists/`).
fn a_by_hash_path(repo: &Path) -> String {
    let dir = "dists/stable/main/binary-amd64/by-hash/SHA256";
    let mut names: Vec<String> = std::fs::read_dir(repo.join(dir))
        .expect("by-hash")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
        .collect();
    names.sort();
    format!("/{dir}/{}", names[0])
}

/// Gives each file under `new` the modification time of the same file
/// under `old`.
fn same_mtimes(old: &Path, new: &Path) {
    for rel in [
        "InRelease",
        "Release",
        "Release.gpg",
        "main/binary-amd64/Packages",
        "main/binary-amd64/Packages.gz",
        "main/binary-amd64/Packages.xz",
    ] {
        let mtime = std::fs::metadata(old.join(rel))
            .and_then(|m| m.modified())
            .expect("old mtime");
        std::fs::File::options()
            .write(true)
            .open(new.join(rel))
            .and_then(|f| f.set_modified(mtime))
            .expect("set mtime");
    }
}

/// The whole scenario for one server: apt-get update and download through
/// it, again after a publish (the `dists` symlink switched), then the
/// answer to each kind of file and to each thing that must stay hidden.
fn serves_the_repository(kind: Kind) {
    let Some(program) = server_program(kind) else {
        return;
    };
    let fx = Fixture::new(&[]);
    let v1 = fx.deb("hello", "1.0-1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), v1.to_str().expect("utf8")])
        .ok();
    // A stray dot file next to the .deb, as a publish in progress might leave.
    let stray = fx
        .repo
        .join("pool/main/h/hello/.hello_1.1-1_amd64.deb.part");
    std::fs::write(&stray, "partial").expect("stray");
    // Apache serves as nobody: the sandbox (0700) must let it reach the repository.
    std::fs::set_permissions(
        fx.sb.path(""),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");

    let server = start(&fx, kind, &program);
    clean_update(&fx, &server);
    fx.apt(&server, &["-q", "download", "hello=1.0-1"]).ok();
    let got = std::fs::read(fx.sb.path("apt/download/hello_1.0-1_amd64.deb")).expect("downloaded");
    assert!(
        got == std::fs::read(&v1).expect("v1"),
        "apt downloaded other bytes"
    );
    // A publish switches `dists` to a new generation: the server follows.
    let v2 = fx.deb("hello", "1.1-1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), v2.to_str().expect("utf8")])
        .ok();
    // As if both publishes were within one second: the new generation's
    // files have the old ones' mtimes, and so the same Last-Modified that
    // apt's If-Modified-Since carries. The server must not answer 304.
    same_mtimes(
        &fx.repo.join("generations/00000002/dists/stable"),
        &fx.repo.join("generations/00000003/dists/stable"),
    );
    clean_update(&fx, &server);
    fx.apt(&server, &["-q", "download", "hello=1.1-1"]).ok();

    let by_hash = a_by_hash_path(&fx.repo);
    let text = "text/plain; charset=utf-8";
    let pool = "public, max-age=86400, immutable";
    let expected: Vec<(&str, Answer)> = vec![
        ("/dists/stable/InRelease", ok("no-cache", text)),
        ("/dists/stable/Release", ok("no-cache", text)),
        (
            "/dists/stable/Release.gpg",
            ok("no-cache", "application/pgp-signature"),
        ),
        (
            "/dists/stable/main/binary-amd64/Packages",
            ok("no-cache", text),
        ),
        (
            "/dists/stable/main/binary-amd64/Packages.gz",
            ok("no-cache", "application/gzip"),
        ),
        (
            "/dists/stable/main/binary-amd64/Packages.xz",
            ok("no-cache", "application/x-xz"),
        ),
        (
            &by_hash,
            ok(
                "public, max-age=31536000, immutable",
                "application/octet-stream",
            ),
        ),
        (
            "/pool/main/h/hello/hello_1.0-1_amd64.deb",
            ok(pool, "application/vnd.debian.binary-package"),
        ),
        ("/key.gpg", ok("no-cache", "application/octet-stream")),
        ("/key.asc", ok("no-cache", "application/pgp-keys")),
        (
            "/packages_public.key",
            ok("no-cache", "application/pgp-keys"),
        ),
        // Absent: no Cache-Control, a 404 is never cached as immutable.
        ("/pool/main/h/hello/hello_9-1_amd64.deb", NOT_FOUND),
        // Private state, by every road.
        ("/.buildkit/repo.toml", NOT_FOUND),
        ("/.buildkit/lock", NOT_FOUND),
        ("/.buildkit/", NOT_FOUND),
        ("/dists/../.buildkit/repo.toml", NOT_FOUND),
        ("/dists/%2e%2e/.buildkit/repo.toml", NOT_FOUND),
        ("/pool/%2E%2E/%2Ebuildkit/repo.toml", NOT_FOUND),
        ("/%2ebuildkit/repo.toml", NOT_FOUND),
        ("/pool/main/h/hello/.hello_1.1-1_amd64.deb.part", NOT_FOUND),
        // Internals and listings.
        ("/generations/", NOT_FOUND),
        ("/generations/00000002/dists/stable/InRelease", NOT_FOUND),
        ("/generations/00000002/superseded.json", NOT_FOUND),
        ("/by-hash/", NOT_FOUND),
        ("/", NOT_FOUND),
        ("/dists/", NOT_FOUND),
        ("/dists/stable/", NOT_FOUND),
        ("/pool/main/h/hello/", NOT_FOUND),
    ];
    assert!(
        fx.repo
            .join("generations/00000002/dists/stable/InRelease")
            .is_file(),
        "the generation asked for exists, so its 404 is the server's refusal"
    );
    let got: Vec<(&str, Answer)> = expected
        .iter()
        .map(|(target, _)| (*target, get(&server, target)))
        .collect();
    assert_eq!(got, expected, "{}", kind.program());

    // dists/ answers in full, whatever the validators say (the files above
    // have the same mtimes as the previous generation's); the pool, whose
    // names never change bytes, answers conditionals and ranges.
    let since = |target: &str| {
        let mtime = std::fs::metadata(fx.repo.join(&target[1..]))
            .and_then(|m| m.modified())
            .expect("mtime");
        format!("If-Modified-Since: {}\r\n", httpdate::fmt_http_date(mtime))
    };
    let in_release = "/dists/stable/InRelease";
    let deb = "/pool/main/h/hello/hello_1.0-1_amd64.deb";
    let range = "Range: bytes=0-9\r\n";
    let status: Vec<(&str, u16)> = [
        (in_release, since(in_release)),
        (in_release, range.to_owned()),
        (deb, since(deb)),
        (deb, range.to_owned()),
    ]
    .iter()
    .map(|(target, extra)| {
        let asked = if extra.starts_with("Range") {
            "range"
        } else {
            "since"
        };
        (asked, get_with(&server, target, extra).0)
    })
    .collect();
    assert_eq!(
        status,
        [
            ("since", 200),
            ("range", 200),
            ("since", 304),
            ("range", 206)
        ],
        "{}",
        kind.program()
    );
}

#[test]
fn nginx_with_the_printed_server_block_serves_apt_and_hides_the_internals() {
    serves_the_repository(Kind::Nginx);
}

#[test]
fn apache_with_the_printed_virtual_host_serves_apt_and_hides_the_internals() {
    serves_the_repository(Kind::Apache);
}

/// The snippets live at the top of `templates/`, where the template
/// listing does not look: `new --list` shows the project templates only.
#[test]
fn the_snippets_are_not_project_templates() {
    let sb = Sandbox::new();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for snippet in ["serving-nginx.conf", "serving-apache.conf"] {
        assert!(templates.join(snippet).is_file(), "{snippet}");
    }
    let mut projects: Vec<String> = std::fs::read_dir(&templates)
        .expect("templates")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("buildkit-template.toml").is_file())
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    projects.sort();
    for args in [["new", "--list"], ["template", "list"]] {
        let list = sb.bk(&sb.path(""), &args).ok().stdout;
        let names: Vec<String> = list
            .lines()
            .filter(|l| !l.starts_with(' '))
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(names, projects, "{args:?}");
    }
    let run = sb.bk(&sb.path(""), &["new", "serving-nginx.conf", "x"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            format!(
                "error: no template named \"serving-nginx.conf\" (there are: {})\n\
                 hint: `git buildkit new --list` shows the templates\n",
                projects.join(", ")
            )
            .as_str()
        )
    );
}

/// Values that would be configuration syntax are refused before anything
/// is printed; so is a missing choice of server.
#[test]
fn serve_config_refuses_what_it_cannot_write_safely() {
    let fx = Fixture::new(&[]);
    let run = |args: &[&str]| {
        let mut full = vec!["repo", "serve-config"];
        full.extend_from_slice(args);
        fx.bk(&full)
    };
    for args in [
        vec![fx.repo_arg()],
        vec!["--nginx", "--apache", fx.repo_arg()],
        vec!["--nginx", fx.repo_arg(), "--listen", "0"],
        vec!["--nginx", fx.repo_arg(), "--listen", "example.org:80"],
        vec!["--nginx", fx.repo_arg(), "--server-name", "a.org; root /"],
        vec![
            "--apache",
            fx.repo_arg(),
            "--server-name",
            "a.org\n</VirtualHost>",
        ],
    ] {
        let r = run(&args);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (2, ""),
            "{args:?}: {}",
            r.stderr
        );
    }
    let r = run(&["--nginx", fx.repo_arg(), "--listen", "0"]);
    assert_eq!(
        r.stderr.lines().next().unwrap_or_default(),
        "error: invalid value '0' for '--listen <[ADDRESS:]PORT>': \"0\" is not a port (1-65535) or an address with a port (127.0.0.1:8080, [::1]:8080)"
    );

    // A repository whose path an nginx `root` would read as a variable.
    let odd = fx.sb.path("repo$HOME");
    std::fs::rename(&fx.repo, &odd).expect("rename");
    let r = run(&["--nginx", odd.to_str().expect("utf8")]);
    let canonical = std::fs::canonicalize(&odd).expect("canonical");
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            1,
            "",
            format!(
                "error: {} cannot be written into a web server's configuration: it contains '$'\n\
                 hint: move the repository to a path without it (`git buildkit repo clone` makes a copy)\n",
                canonical.display()
            )
            .as_str()
        )
    );
    // Not a repository: the usual error.
    let empty = fx.sb.path("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let r = run(&["--apache", empty.to_str().expect("utf8")]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            2,
            "",
            format!(
                "error: {} is not a git-buildkit repository (no .buildkit/repo.toml)\n\
                 hint: create one with `git buildkit repo init PATH`\n",
                empty.display()
            )
            .as_str()
        )
    );
}

//! Issue 14, requirement 4: the source release of a tag,
//! `releases/NAME/VERSION/` beside the apt repository: its tar stream is
//! `git archive` of the tag byte for byte, its gzip carries no name or
//! time, `sha256sum -c` accepts its SHA256SUMS, `gpgv` and `sqv` its
//! signature, the built-in server serves it, and it never changes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{clean_command, dir_names, Run, Sandbox};

/// The sample project publishing into `<sandbox>/apt`, with a default key
/// and a `.gitattributes` that keeps one file out of the archive.
pub(crate) struct Published {
    pub(crate) sb: Sandbox,
    pub(crate) repo: PathBuf,
    pub(crate) apt: PathBuf,
}

impl Published {
    /// The project, tagged v1.2.0 at 2026-03-01 and not yet run.
    pub(crate) fn new() -> Self {
        let sb = Sandbox::new();
        let repo = sb.hello();
        let apt = sb.path("apt");
        let config = repo.join(".buildkit.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        std::fs::write(
            &config,
            format!("{text}\n[repo]\npath = \"{}\"\n", apt.display()),
        )
        .expect("write config");
        std::fs::write(repo.join(".gitattributes"), "NOTES export-ignore\n").expect("attrs");
        std::fs::write(repo.join("NOTES"), "not for release\n").expect("notes");
        sb.commit(
            &repo,
            "2026-03-01T10:00:00Z",
            "Publish to the test repository",
        );
        sb.tag(&repo, "2026-03-01T10:00:00Z", "v1.2.0");
        sb.generate_key(&repo, "Test Packages", "ops@example.com");
        Published { sb, repo, apt }
    }

    pub(crate) fn bk(&self, args: &[&str]) -> Run {
        self.sb.bk(&self.repo, args)
    }

    /// The tag's record, as `show --json` prints it.
    pub(crate) fn record(&self, tag: &str) -> Value {
        let shown = self.bk(&["show", tag, "--json"]).ok().stdout;
        serde_json::from_str(&shown).expect("json")
    }

    /// The release directory of v1.2.0.
    pub(crate) fn release_dir(&self) -> PathBuf {
        self.apt.join("releases/hello/1.2.0")
    }

    /// Runs a program with the sandbox's environment and returns its raw stdout.
    fn bytes(&self, cwd: &Path, program: &str, args: &[&str]) -> Vec<u8> {
        let out = clean_command(Path::new(program), &self.sb.path(""))
            .current_dir(cwd)
            .args(args)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

/// `requests` sent to `repo serve --stdio` of `root`; the raw answer.
fn serve_stdio(root: &Path, requests: &str) -> Vec<u8> {
    let mut child = Command::new(Sandbox::bk_path())
        .args(["repo", "serve", "--stdio", root.to_str().expect("utf8")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(requests.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_published_tag_has_a_reproducible_signed_source_release_that_is_served() {
    let p = Published::new();
    p.bk(&["pipeline", "v1.2.0"]).ok();
    let dir = p.release_dir();
    assert_eq!(
        dir_names(&dir),
        [
            "SHA256SUMS",
            "SHA256SUMS.asc",
            "hello-1.2.0.tar.gz",
            "hello_1.2.0-1_all.deb"
        ]
    );
    // The attached package is the pool's, byte for byte.
    let pool = p.apt.join("pool/main/h/hello/hello_1.2.0-1_all.deb");
    assert!(
        std::fs::read(&pool).expect("pool")
            == std::fs::read(dir.join("hello_1.2.0-1_all.deb")).expect("attached"),
        "the attached .deb differs from the pool's"
    );
    // Nothing left aside, nothing hidden.
    assert_eq!(dir_names(&p.apt.join("releases/hello")), ["1.2.0"]);

    // The tar stream is git archive's, byte for byte (NOTES is export-ignored).
    let tarball = std::fs::read(dir.join("hello-1.2.0.tar.gz")).expect("tarball");
    let archive = p.bytes(
        &p.repo,
        "git",
        &["archive", "--format=tar", "--prefix=hello-1.2.0/", "v1.2.0"],
    );
    let tar = gunzip(&tarball);
    assert!(tar == archive, "the tar stream is not git archive's");
    assert_eq!(find(&tar, b"hello-1.2.0/NOTES"), None);
    assert!(find(&tar, b"hello-1.2.0/bin/hello").is_some());
    // gzip: deflate, no flags (no name), mtime 0, best, Unix.
    assert_eq!(&tarball[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);

    // sha256sum -c, gpgv and sqv accept it.
    let check = p.sb.run(&dir, "sha256sum", &["-c", "SHA256SUMS"]).ok();
    assert_eq!(
        check.stdout,
        "hello-1.2.0.tar.gz: OK\nhello_1.2.0-1_all.deb: OK\n"
    );
    let key = p.apt.join("key.gpg");
    let key = key.to_str().expect("utf8");
    let gpg_home = p.sb.path("gnupg");
    std::fs::create_dir_all(&gpg_home).expect("mkdir");
    let gpg_home = gpg_home.to_str().expect("utf8");
    p.sb.run(
        &dir,
        "gpgv",
        &[
            "--homedir",
            gpg_home,
            "--keyring",
            key,
            "SHA256SUMS.asc",
            "SHA256SUMS",
        ],
    )
    .ok();
    p.sb.run(
        &dir,
        "sqv",
        &["--keyring", key, "SHA256SUMS.asc", "SHA256SUMS"],
    )
    .ok();
    // A changed checksum file fails both.
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("sums");
    let forged = p.sb.path("SHA256SUMS");
    std::fs::write(&forged, sums.replace("hello-1.2.0", "hello-6.6.6")).expect("forge");
    let forged = forged.to_str().expect("utf8");
    let sig = dir.join("SHA256SUMS.asc");
    let sig = sig.to_str().expect("utf8");
    assert_ne!(
        p.sb.run(
            &dir,
            "gpgv",
            &["--homedir", gpg_home, "--keyring", key, sig, forged]
        )
        .code,
        0
    );
    assert_ne!(
        p.sb.run(&dir, "sqv", &["--keyring", key, sig, forged]).code,
        0
    );

    // The record has it.
    let record = p.record("v1.2.0");
    let sha = sums.split(' ').next().expect("sum");
    assert_eq!(
        record["source_release"],
        serde_json::json!({
            "path": dir.to_str().expect("utf8"),
            "files": ["hello-1.2.0.tar.gz", "hello_1.2.0-1_all.deb", "SHA256SUMS", "SHA256SUMS.asc"],
            "sha256": sha,
            "written": true,
        })
    );

    // The built-in server serves releases/ and still not .buildkit/.
    let answer = serve_stdio(
        &p.apt,
        "GET /releases/hello/1.2.0/hello-1.2.0.tar.gz HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /.buildkit/repo.toml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let head = find(&answer, b"\r\n\r\n").expect("head") + 4;
    let head_text = String::from_utf8_lossy(&answer[..head]);
    assert!(
        head_text.contains(&format!("\r\nContent-Length: {}\r\n", tarball.len())),
        "{head_text}"
    );
    assert!(answer[head..].starts_with(&tarball));
    assert!(
        answer[head + tarball.len()..].starts_with(b"HTTP/1.1 404 Not Found\r\n"),
        "private state must not be served"
    );

    // Again, with a local tar.umask that would change git archive's modes:
    // the same bytes, so the release is left alone.
    p.sb.git(&p.repo, &["config", "tar.umask", "0077"]);
    p.bk(&["pipeline", "v1.2.0", "--force"]).ok();
    assert_eq!(
        std::fs::read(dir.join("hello-1.2.0.tar.gz")).expect("tarball"),
        tarball
    );
    assert_eq!(p.record("v1.2.0")["source_release"]["written"], false);
}

#[test]
fn a_release_never_changes() {
    let p = Published::new();
    p.bk(&["pipeline", "v1.2.0"]).ok();
    // A signature that does not hold is a difference too.
    let sig = p.release_dir().join("SHA256SUMS.asc");
    let good = std::fs::read(&sig).expect("sig");
    std::fs::write(&sig, b"not a signature").expect("tamper");
    let run = p.bk(&["pipeline", "v1.2.0", "--force"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("already exists and differs (SHA256SUMS.asc)"),
        "{}",
        run.stderr
    );
    std::fs::write(&sig, good).expect("restore");
    p.bk(&["pipeline", "v1.2.0", "--force"]).ok();

    let path = p.release_dir().join("hello-1.2.0.tar.gz");
    std::fs::write(&path, b"someone else's tarball").expect("tamper");
    let run = p.bk(&["pipeline", "v1.2.0", "--force"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "the release {} already exists and differs (hello-1.2.0.tar.gz)",
            p.release_dir().display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&path).expect("tarball"),
        b"someone else's tarball"
    );
    assert_eq!(dir_names(&p.apt.join("releases/hello")), ["1.2.0"]);
    let record = p.record("v1.2.0");
    assert_eq!(record["result"], "failed");
    assert_eq!(record["failed_stage"], "publish");
}

#[test]
fn hostile_release_names_are_refused_before_anything_is_written() {
    use git_buildkit::pipeline::write_source_release;
    let p = Published::new();
    let repo = git_buildkit::git::Repo::discover(&p.repo).expect("repo");
    let key = git_buildkit::sign::SigningKey::generate("T", "t@example.com", None).expect("key");
    let root = p.sb.path("root/apt");
    std::fs::create_dir_all(&root).expect("mkdir");
    for (name, version) in [
        ("../evil", "1.2.0"),
        ("hello", "../../evil"),
        ("hello", ".."),
        ("a/b", "1.2.0"),
        (".hidden", "1.2.0"),
        ("hello", ""),
    ] {
        let error = write_source_release(&repo, "v1.2.0", name, version, &root, &[], &key)
            .expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("is not usable as a directory name"),
            "{error}"
        );
    }
    assert_eq!(dir_names(&p.sb.path("root")), ["apt"]);
    assert_eq!(dir_names(&root), Vec::<String>::new());
    // A tag that is not there is an error, and leaves nothing behind.
    let error = write_source_release(&repo, "v9.9.9", "hello", "9.9.9", &root, &[], &key)
        .expect_err("no tag");
    assert_eq!(error.to_string(), "could not archive v9.9.9");
    assert_eq!(
        dir_names(&root.join("releases/hello")),
        Vec::<String>::new()
    );
}

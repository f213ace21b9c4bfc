//! Shared fixtures: a sandbox with a clean environment, git helpers with
//! fixed identities and dates, and runners for our binary and real tools.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

/// A temporary directory that is HOME for everything run inside it.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

/// The environment every child gets: nothing from the developer's config.
fn clean_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", std::env::temp_dir())
        .env("LC_ALL", "C")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("BUILDKIT_VM_CACHE", vm_cache())
        .env("BUILDKIT_APT_CACHE", apt_cache());
}

/// The caching apt proxy's store every sandbox shares, like [`vm_cache`]:
/// what one test (or the image build) fetched from Debian, the next finds.
pub fn apt_cache() -> PathBuf {
    git_buildkit::paths::Env::current()
        .apt_cache_dir()
        .expect("HOME is set")
}

/// The VM image cache every sandbox shares: the one of the user running
/// the tests (or `BUILDKIT_VM_CACHE`), so the base image is built once and
/// kept across runs, and `make demo` uses the same.
pub fn vm_cache() -> PathBuf {
    git_buildkit::vm::ImageStore::default_location()
        .expect("HOME is set")
        .dir()
        .to_owned()
}

static VM_IMAGE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
static VM_SLOT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Makes sure the default VM image exists (built once per run; instant
/// when cached), then holds the one VM slot: tests boot one VM at a time,
/// so two emulated guests never share the two cores.
pub fn vm_slot() -> std::sync::MutexGuard<'static, ()> {
    let slot = VM_SLOT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    VM_IMAGE.get_or_init(|| {
        let sb = Sandbox::new();
        let run = sb.bk(&sb.path(""), &["vm", "create"]);
        assert_eq!(run.code, 0, "vm create failed:\n{}", run.stderr);
    });
    slot
}

static PYTHON3_IMAGE: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// Makes sure the VM image `python3` (the default recipe plus Debian's
/// python3, whose byte-compiling then runs natively in the bootstrap, not
/// under emulation in every test) exists: built once per run, instant when
/// cached. Call it while holding [`vm_slot`].
pub fn python3_image() {
    PYTHON3_IMAGE.get_or_init(|| {
        let sb = Sandbox::new();
        let run = sb.bk(
            &sb.path(""),
            &["-q", "vm", "create", "python3", "--include", "python3"],
        );
        assert_eq!(run.code, 0, "vm create python3 failed:\n{}", run.stderr);
    });
}

/// The result of running a command, with text accessors.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with the output unless the command exited 0.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("bk-test-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs any program in `cwd` with the clean environment.
    pub fn run(&self, cwd: &Path, program: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new(program);
        clean_env(&mut cmd, self.dir.path());
        cmd.current_dir(cwd).args(args);
        // A program a test has just written can be "busy" for a moment:
        // another test thread's fork holds the writing descriptor until its
        // child execs. The kernel lets go within milliseconds.
        let mut tries = 0;
        loop {
            match cmd.output() {
                Ok(output) => return output.into(),
                Err(e) if e.raw_os_error() == Some(26) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("cannot run {program}: {e}"),
            }
        }
    }

    /// Runs our binary in `cwd`.
    pub fn bk(&self, cwd: &Path, args: &[&str]) -> Run {
        self.bk_env(cwd, args, &[])
    }

    /// Runs our binary with extra environment variables.
    pub fn bk_env(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::cargo_bin("git-buildkit").expect("binary");
        clean_env(&mut cmd, self.dir.path());
        cmd.current_dir(cwd).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run git-buildkit").into()
    }

    /// Generates the signing key of `name <email>` for HOME, quietly.
    pub fn generate_key(&self, cwd: &Path, name: &str, email: &str) {
        self.bk(
            cwd,
            &["-q", "key", "generate", "--name", name, "--email", email],
        )
        .ok();
    }

    /// The path of our binary.
    pub fn bk_path() -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_git-buildkit"))
    }

    /// Runs git in `repo` with commit and author dates set to `date`.
    pub fn git_at(&self, repo: &Path, date: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new("git");
        clean_env(&mut cmd, self.dir.path());
        cmd.current_dir(repo)
            .args(args)
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
        Run::from(cmd.output().expect("run git")).ok()
    }

    /// Every ref of `repo` with its object id, and what HEAD is.
    pub fn refs(&self, repo: &Path) -> String {
        let refs = self.git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"]);
        let head = self.git(repo, &["symbolic-ref", "HEAD"]);
        format!("{refs}\nHEAD -> {head}")
    }

    /// A finish was undone in `repo`: every ref as `before`, a clean work
    /// tree, and no finish in progress.
    pub fn assert_finish_undone(&self, repo: &Path, before: &str) {
        pretty_assertions::assert_eq!(self.refs(repo), before);
        pretty_assertions::assert_eq!(self.git(repo, &["status", "--porcelain"]), "");
        pretty_assertions::assert_eq!(
            self.bk(repo, &["-q", "flow", "status"]).ok().stdout,
            "no finish in progress\n"
        );
    }

    /// Runs git in `repo`.
    pub fn git(&self, repo: &Path, args: &[&str]) -> String {
        self.git_at(repo, "2026-01-01T00:00:00Z", args)
            .stdout
            .trim()
            .to_owned()
    }

    /// A new repository with one commit of `files` (path, contents, executable).
    pub fn repo(&self, name: &str, files: &[(&str, &str, bool)]) -> PathBuf {
        let repo = self.path(name);
        std::fs::create_dir_all(&repo).expect("mkdir");
        self.git(&repo, &["init", "-q", "-b", "main"]);
        write_files(&repo, files);
        self.git(&repo, &["add", "-A"]);
        self.git_at(
            &repo,
            "2026-01-01T10:00:00Z",
            &["commit", "-q", "-m", "Initial commit"],
        );
        repo
    }

    /// Commits everything with `message` at `date`.
    pub fn commit(&self, repo: &Path, date: &str, message: &str) {
        self.git(repo, &["add", "-A"]);
        self.git_at(repo, date, &["commit", "-q", "-m", message]);
    }

    /// An annotated tag at `date`.
    pub fn tag(&self, repo: &Path, date: &str, tag: &str) {
        self.git_at(repo, date, &["tag", "-a", tag, "-m", tag]);
    }

    /// The sample project of `examples/hello` as a repository with tags
    /// v1.0.0 (2026-01-01 10:00) and v1.1.0 (2026-02-01 10:00).
    pub fn hello(&self) -> PathBuf {
        let repo = self.path("hello");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello"),
            &repo,
        );
        self.git(&repo, &["init", "-q", "-b", "main"]);
        self.commit(&repo, "2026-01-01T10:00:00Z", "Start hello");
        self.tag(&repo, "2026-01-01T10:00:00Z", "v1.0.0");
        let conf = repo.join("etc/hello.conf");
        let text = std::fs::read_to_string(&conf)
            .expect("conf")
            .replace("\"Hello\"", "\"Hi\"");
        std::fs::write(&conf, text).expect("write conf");
        self.commit(&repo, "2026-02-01T10:00:00Z", "Greet with Hi");
        self.tag(&repo, "2026-02-01T10:00:00Z", "v1.1.0");
        repo
    }
}

/// lintian, run on `deb` in `dir`, reports no error and no warning.
pub fn assert_lintian_clean(sb: &Sandbox, dir: &Path, deb: &str) {
    let lintian = sb.run(dir, "lintian", &["--fail-on", "error,warning", deb]);
    let tags: Vec<&str> = lintian
        .stdout
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    pretty_assertions::assert_eq!(
        (lintian.code, tags),
        (0, Vec::<&str>::new()),
        "{}",
        lintian.stderr
    );
}

/// Writes files (path, contents, executable) under `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str, bool)]) {
    use std::os::unix::fs::PermissionsExt;
    for (path, contents, exec) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("write");
        let mode = if *exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// Recursive copy keeping executable bits.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The files of a directory, sorted, as (relative path, kind+mode, content or target).
pub fn tree_listing(dir: &Path) -> Vec<(String, String, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let rel = path
                .strip_prefix(dir)
                .expect("prefix")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                out.push((
                    rel,
                    "link".into(),
                    target.display().to_string().into_bytes(),
                ));
            } else if meta.is_dir() {
                out.push((rel, format!("dir {mode:o}"), Vec::new()));
                stack.push(path);
            } else {
                out.push((
                    rel,
                    format!("file {mode:o}"),
                    std::fs::read(&path).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The names of the files in a directory (empty when it does not exist).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes `dir/name` as a .deb made by hand (Python's tarfile and an ar
/// header written byte by byte), so tests can build packages that neither
/// we nor dpkg-deb would: a control file without a field, an unsafe path.
pub fn craft_deb(
    sb: &Sandbox,
    dir: &Path,
    name: &str,
    control: &str,
    files: &[(&str, &str)],
) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let script = r#"
import io, sys, tarfile, json
name, control, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for path, data in entries:
            data = data.encode()
            info = tarfile.TarInfo(path); info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
members = [("debian-binary", b"2.0\n"), ("control.tar.gz", tar([("./control", control)])), ("data.tar.gz", tar(files))]
out = b"!<arch>\n"
for member, data in members:
    out += b"%-16s%-12d%-6d%-6d%-8o%-10d`\n" % (member.encode(), 0, 0, 0, 0o100644, len(data)) + data
    if len(data) % 2: out += b"\n"
open(name, "wb").write(out)
"#;
    let files_json = serde_json::to_string(files).expect("json");
    sb.run(dir, "python3", &["-c", script, name, control, &files_json])
        .ok();
    dir.join(name)
}

/// A command running `program` with the sandbox environment every child
/// gets (HOME set to `home`), for tests that start and signal it themselves.
pub fn clean_command(program: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd, home);
    cmd
}

impl Sandbox {
    /// Our binary as a `Command` with the clean environment, to spawn.
    pub fn bk_command(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = clean_command(&Self::bk_path(), self.dir.path());
        cmd.current_dir(cwd).args(args);
        cmd
    }
}

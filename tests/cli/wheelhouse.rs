//! The wheelhouse of the Python tests: requests and its dependencies as
//! pinned in `tests/fixtures/python/requests.lock`, downloaded once with
//! pip (hashes required) into the user's cache and shared by every test
//! and every run, so only the first run on a machine needs the package
//! index. `BUILDKIT_WHEELHOUSE` names another one.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The lock the wheelhouse is made from.
pub fn lock_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python/requests.lock")
}

/// The directory of wheels, filled on first use.
pub fn wheelhouse() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("BUILDKIT_WHEELHOUSE").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache")
            });
        let dir = cache.join("git-buildkit/test-wheels/v1");
        if dir.join(".complete").is_file() {
            return dir;
        }
        let tmp = cache.join(format!(
            "git-buildkit/test-wheels/v1.tmp.{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).expect("wheelhouse dir");
        let status = std::process::Command::new("/usr/bin/python3")
            .args([
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--require-hashes",
                "--only-binary=:all:",
                "-d",
            ])
            .arg(&tmp)
            .arg("-r")
            .arg(lock_file())
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_CONFIG_FILE", "/dev/null")
            .status()
            .expect("run pip");
        assert!(status.success(), "pip could not fill the test wheelhouse");
        std::fs::write(tmp.join(".complete"), b"").expect("mark");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).expect("rename the wheelhouse");
        dir
    })
    .clone()
}

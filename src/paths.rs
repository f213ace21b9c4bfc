//! Where git-buildkit keeps its files, decided in one place: the XDG base
//! directories with our subdirectories (the key store, the default
//! repositories, the VM image cache), `~/` in configured paths, and the
//! base a relative configured path starts from.
//!
//! The environment is read once, into [`Env`]; every decision is a pure
//! method of it, so the rules are tested without touching the process's
//! environment. The rules follow the XDG Base Directory Specification
//! (<https://specifications.freedesktop.org/basedir-spec/latest/>): an
//! `XDG_*_HOME` that is empty or relative is ignored, and the fallback is
//! under `HOME`. A `HOME` that is unset, empty or relative is an error when
//! it is needed, never a path relative to wherever the command runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Our directory inside each base directory.
const APP: &str = "git-buildkit";

/// A directory that could not be located.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathsError {
    /// `HOME` is unset or empty, and the path needed it.
    #[error("HOME is not set")]
    NoHome,
    /// `HOME` is not an absolute path.
    #[error("HOME is {home:?}, not an absolute path")]
    RelativeHome {
        /// Its value.
        home: PathBuf,
    },
}

/// The variables the paths come from, as the process had them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// `HOME`.
    pub home: Option<OsString>,
    /// `XDG_DATA_HOME`.
    pub xdg_data_home: Option<OsString>,
    /// `XDG_CACHE_HOME`.
    pub xdg_cache_home: Option<OsString>,
    /// `BUILDKIT_KEY_STORE`: the key store, wherever it is.
    pub key_store: Option<OsString>,
    /// `BUILDKIT_VM_CACHE`: the VM image cache, wherever it is.
    pub vm_cache: Option<OsString>,
    /// `BUILDKIT_APT_CACHE`: the apt proxy's cache, wherever it is.
    pub apt_cache: Option<OsString>,
}

impl Env {
    /// The process's environment.
    pub fn current() -> Self {
        let var = std::env::var_os;
        Self {
            home: var("HOME"),
            xdg_data_home: var("XDG_DATA_HOME"),
            xdg_cache_home: var("XDG_CACHE_HOME"),
            key_store: var("BUILDKIT_KEY_STORE"),
            vm_cache: var("BUILDKIT_VM_CACHE"),
            apt_cache: var("BUILDKIT_APT_CACHE"),
        }
    }

    /// The home directory: `HOME`, which must be an absolute path.
    pub fn home(&self) -> Result<PathBuf, PathsError> {
        match self.home.as_ref().filter(|h| !h.is_empty()) {
            None => Err(PathsError::NoHome),
            Some(home) if Path::new(home).is_relative() => Err(PathsError::RelativeHome {
                home: PathBuf::from(home),
            }),
            Some(home) => Ok(PathBuf::from(home)),
        }
    }

    /// `$XDG_DATA_HOME`, else `~/.local/share`.
    pub fn data_home(&self) -> Result<PathBuf, PathsError> {
        self.base(self.xdg_data_home.as_ref(), ".local/share")
    }

    /// `$XDG_CACHE_HOME`, else `~/.cache`.
    pub fn cache_home(&self) -> Result<PathBuf, PathsError> {
        self.base(self.xdg_cache_home.as_ref(), ".cache")
    }

    /// The key store: `$BUILDKIT_KEY_STORE` (taken as it is), else
    /// `<data home>/git-buildkit/keys`. The build sandbox hides this
    /// directory, so it must be the one signing really uses.
    pub fn keys_dir(&self) -> Result<PathBuf, PathsError> {
        match self.key_store.as_ref().filter(|d| !d.is_empty()) {
            Some(dir) => Ok(PathBuf::from(dir)),
            None => Ok(self.data_home()?.join(APP).join("keys")),
        }
    }

    /// Where repositories without a configured path go, one directory per
    /// project: `<data home>/git-buildkit/repos`.
    pub fn repos_dir(&self) -> Result<PathBuf, PathsError> {
        Ok(self.data_home()?.join(APP).join("repos"))
    }

    /// The user's templates, one directory each:
    /// `<data home>/git-buildkit/templates`.
    pub fn templates_dir(&self) -> Result<PathBuf, PathsError> {
        Ok(self.data_home()?.join(APP).join("templates"))
    }

    /// The VM image cache: `$BUILDKIT_VM_CACHE` (taken as it is), else
    /// `<cache home>/git-buildkit/vm`.
    pub fn vm_cache_dir(&self) -> Result<PathBuf, PathsError> {
        match self.vm_cache.as_ref().filter(|d| !d.is_empty()) {
            Some(dir) => Ok(PathBuf::from(dir)),
            None => Ok(self.cache_home()?.join(APP).join("vm")),
        }
    }

    /// The caching apt proxy's store: `$BUILDKIT_APT_CACHE` (taken as it
    /// is), else `<cache home>/git-buildkit/apt`.
    pub fn apt_cache_dir(&self) -> Result<PathBuf, PathsError> {
        match self.apt_cache.as_ref().filter(|d| !d.is_empty()) {
            Some(dir) => Ok(PathBuf::from(dir)),
            None => Ok(self.cache_home()?.join(APP).join("apt")),
        }
    }

    /// `~` or `~/rest` in a path a user wrote, with the home directory; any
    /// other path (`~user/` included) unchanged. Only a path that needs the
    /// home directory fails without one.
    pub fn expand_home(&self, path: &Path) -> Result<PathBuf, PathsError> {
        match path.strip_prefix("~") {
            Ok(rest) => Ok(self.home()?.join(rest)),
            Err(_) => Ok(path.to_owned()),
        }
    }

    /// The path of a file a configuration names (`[repo] path`): `~`
    /// expanded, then a relative path taken from `base`, the directory of
    /// the configuration — not from wherever the command runs, so the same
    /// file means the same directory from any subdirectory. (A path typed
    /// on the command line stays relative to the current directory.)
    pub fn configured(&self, path: &Path, base: &Path) -> Result<PathBuf, PathsError> {
        Ok(base.join(self.expand_home(path)?))
    }

    fn base(&self, xdg: Option<&OsString>, fallback: &str) -> Result<PathBuf, PathsError> {
        match xdg.map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => Ok(dir),
            _ => Ok(self.home()?.join(fallback)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn env(home: Option<&str>) -> Env {
        Env {
            home: home.map(OsString::from),
            ..Env::default()
        }
    }

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn base_directories_follow_xdg_then_home() {
        let home = env(Some("/home/u"));
        assert_eq!(home.data_home(), Ok(p("/home/u/.local/share")));
        assert_eq!(home.cache_home(), Ok(p("/home/u/.cache")));
        assert_eq!(
            home.keys_dir(),
            Ok(p("/home/u/.local/share/git-buildkit/keys"))
        );
        assert_eq!(
            home.repos_dir(),
            Ok(p("/home/u/.local/share/git-buildkit/repos"))
        );
        assert_eq!(home.vm_cache_dir(), Ok(p("/home/u/.cache/git-buildkit/vm")));
        assert_eq!(
            home.apt_cache_dir(),
            Ok(p("/home/u/.cache/git-buildkit/apt"))
        );
        let xdg = Env {
            xdg_data_home: Some("/data".into()),
            xdg_cache_home: Some("/cache".into()),
            // No HOME is needed when every XDG variable is usable.
            ..env(None)
        };
        assert_eq!(xdg.keys_dir(), Ok(p("/data/git-buildkit/keys")));
        assert_eq!(xdg.repos_dir(), Ok(p("/data/git-buildkit/repos")));
        assert_eq!(xdg.vm_cache_dir(), Ok(p("/cache/git-buildkit/vm")));
    }

    #[test]
    fn empty_or_relative_xdg_variables_are_ignored() {
        for ignored in ["", "relative", "./data"] {
            let e = Env {
                xdg_data_home: Some(ignored.into()),
                xdg_cache_home: Some(ignored.into()),
                ..env(Some("/home/u"))
            };
            assert_eq!(e.data_home(), Ok(p("/home/u/.local/share")), "{ignored:?}");
            assert_eq!(e.cache_home(), Ok(p("/home/u/.cache")), "{ignored:?}");
        }
    }

    #[test]
    fn a_missing_empty_or_relative_home_is_an_error_when_needed() {
        for e in [env(None), env(Some(""))] {
            assert_eq!(e.home(), Err(PathsError::NoHome));
            assert_eq!(e.data_home(), Err(PathsError::NoHome));
            assert_eq!(e.keys_dir(), Err(PathsError::NoHome));
            assert_eq!(e.repos_dir(), Err(PathsError::NoHome));
            assert_eq!(e.vm_cache_dir(), Err(PathsError::NoHome));
            assert_eq!(e.expand_home(Path::new("~/r")), Err(PathsError::NoHome));
            // Paths that do not need it still resolve.
            assert_eq!(e.expand_home(Path::new("/srv/r")), Ok(p("/srv/r")));
            assert_eq!(e.configured(Path::new("r"), Path::new("/w")), Ok(p("/w/r")));
        }
        let relative = env(Some("home/u"));
        let err = Err(PathsError::RelativeHome { home: p("home/u") });
        assert_eq!(relative.home(), err);
        assert_eq!(relative.data_home(), err);
        assert_eq!(relative.cache_home(), err);
    }

    #[test]
    fn the_vm_cache_variable_wins_as_it_is() {
        let e = Env {
            vm_cache: Some("vm-cache".into()),
            ..env(None)
        };
        assert_eq!(e.vm_cache_dir(), Ok(p("vm-cache")));
        let empty = Env {
            vm_cache: Some("".into()),
            ..env(Some("/h"))
        };
        assert_eq!(empty.vm_cache_dir(), Ok(p("/h/.cache/git-buildkit/vm")));
    }

    #[test]
    fn the_key_store_variable_wins_as_it_is() {
        let e = Env {
            key_store: Some("/srv/keys".into()),
            ..env(None)
        };
        assert_eq!(e.keys_dir(), Ok(p("/srv/keys")));
        let empty = Env {
            key_store: Some("".into()),
            ..env(Some("/h"))
        };
        assert_eq!(empty.keys_dir(), Ok(p("/h/.local/share/git-buildkit/keys")));
    }

    #[test]
    fn configured_paths_expand_home_and_start_at_their_base() {
        let e = env(Some("/home/u"));
        let work = Path::new("/work/hello");
        let cases = [
            ("~/repos/hello", "/home/u/repos/hello"),
            ("~", "/home/u"),
            ("/srv/apt", "/srv/apt"),
            ("apt", "/work/hello/apt"),
            ("../apt", "/work/hello/../apt"),
            ("~other/apt", "/work/hello/~other/apt"),
        ];
        for (written, want) in cases {
            assert_eq!(
                e.configured(Path::new(written), work),
                Ok(p(want)),
                "{written}"
            );
        }
        assert_eq!(e.expand_home(Path::new("apt")), Ok(p("apt")));
    }
}

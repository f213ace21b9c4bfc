//! Base images: built once per recipe with mmdebstrap, kept in the user's
//! cache under a hash of the recipe, and never booted directly (each test
//! boots a qcow2 overlay on top).
//!
//! Layout of the store (`$XDG_CACHE_HOME/git-buildkit/vm`, or
//! `$BUILDKIT_VM_CACHE`):
//! - `images/<key>/`: `root.raw` (sparse ext4, no partition table),
//!   `vmlinux` (uncompressed, for PVH boot) or `vmlinuz`, `initrd.img` and
//!   `image.json`; written under `images/.build-<key>` and renamed into
//!   place, so a failed or killed build leaves nothing half-written;
//! - `names/<name>`: the key a name points at;
//! - `runs/<id>/`: one test's overlay, job disk and logs.
//!
//! No loop devices or mounts: `mke2fs -d` writes the file system from the
//! directory mmdebstrap made. The kernel and a static busybox come from the
//! image's own mirror; the initrd is ours ([`super::initrd`]).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::error::io_at;
use super::{initrd, kernel, VmError};
use crate::proxy::HostSource;
// The image cache is rebuilt when lost: its writes are atomic, not synced.
use crate::fsutil::{write_atomic, Durability::Unsynced};
use crate::process::Cmd;
use crate::progress::Listener;

/// Bumped when the image layout or the guest files change meaning (3:
/// the guest can be saved and restored warm).
pub const FORMAT: u32 = 3;

/// The image name used when neither `--vm` nor `[vm] image` names one.
pub const DEFAULT_IMAGE: &str = "default";

/// Packages every image has besides minbase: systemd for the systemd mode,
/// iproute2 to bring up the guest's network.
pub const BASE_INCLUDE: &[&str] = &["systemd-sysv", "udev", "iproute2"];

const GUEST_FILES: &[(&str, &str)] = &[
    ("customize.sh", include_str!("guest/customize.sh")),
    ("bk-init", include_str!("guest/bk-init")),
    ("bk-run", include_str!("guest/bk-run")),
    ("bk-job.service", include_str!("guest/bk-job.service")),
    ("bk-apt-key", include_str!("guest/bk-apt-key")),
];

/// What an image is made of; its hash names the image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recipe {
    /// Debian suite (codename).
    pub suite: String,
    /// The mirror URL.
    pub mirror: String,
    /// Extra packages, sorted and without duplicates.
    pub include: Vec<String>,
    /// The file system size, e.g. `2G`.
    pub size: String,
}

impl Recipe {
    /// A recipe; `include` is normalised.
    pub fn new(suite: &str, mirror: &str, include: &[String]) -> Self {
        let mut include: Vec<String> = include
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        include.sort();
        include.dedup();
        Self {
            suite: suite.to_owned(),
            mirror: mirror.trim_end_matches('/').to_owned(),
            include,
            size: "2G".to_owned(),
        }
    }

    /// The cache key: a hash of the recipe, the image format and the guest
    /// files, so a changed runner rebuilds the image.
    pub fn key(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(format!("format {FORMAT}\n"));
        hash.update(serde_json::to_vec(self).expect("a recipe always serializes"));
        for (name, text) in GUEST_FILES {
            hash.update(format!("\n{name}\n{}\n", text.len()));
            hash.update(text);
        }
        hash.update(initrd::GUEST_MODULES.join(",").as_bytes());
        hex::encode(&hash.finalize()[..8])
    }
}

/// What `image.json` records.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The format version.
    pub format: u32,
    /// The recipe's key.
    pub key: String,
    /// The recipe.
    pub recipe: Recipe,
    /// The kernel package booted (e.g. `linux-image-6.1.0-50-amd64`).
    pub kernel_package: String,
    /// The kernel file: `vmlinux` or `vmlinuz`.
    pub kernel: String,
    /// Modules the initrd loads.
    pub modules: Vec<String>,
    /// When it was built (seconds since the epoch).
    pub created: u64,
    /// How long the build took, in seconds.
    pub build_seconds: f64,
    /// The packages installed in the image and the names they provide,
    /// sorted: what a test can depend on without a Debian source. Empty
    /// for an image of format 1.
    #[serde(default)]
    pub packages: Vec<String>,
}

/// A built image.
#[derive(Debug, Clone)]
pub struct Image {
    /// The name it was found by.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// What it is.
    pub manifest: Manifest,
}

impl Image {
    /// The root file system (the overlays' backing file).
    pub fn root(&self) -> PathBuf {
        self.dir.join("root.raw")
    }

    /// The kernel to boot.
    pub fn kernel(&self) -> PathBuf {
        self.dir.join(&self.manifest.kernel)
    }

    /// The initrd.
    pub fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.img")
    }

    /// Bytes used on disk, its warm snapshots included (sparse files
    /// count what is allocated).
    pub fn disk_usage(&self) -> u64 {
        fn usage(dir: &Path, depth: u32) -> u64 {
            use std::os::unix::fs::MetadataExt;
            fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
                .map(|(path, m)| match m.is_dir() && depth > 0 {
                    true => usage(&path, depth - 1),
                    false => m.blocks() * 512,
                })
                .sum()
        }
        // The image, warm/, and warm/SNAPSHOT/.
        usage(&self.dir, 2)
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// An HTTP proxy for the bootstrap's apt (`http_proxy`), such as the
    /// built-in caching proxy on 127.0.0.1.
    pub proxy: Option<String>,
    /// The proxy fetches an `https://` mirror asked for as `http://` (the
    /// built-in cache does: its allow-list knows the scheme). apt sends
    /// https requests to a proxy only as CONNECT tunnels, which no cache
    /// can read, so the bootstrap then names the mirror with `http://`.
    pub proxy_fetches_https: bool,
    /// Rebuild even when the recipe's image exists.
    pub refresh: bool,
}

/// The image cache.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

impl ImageStore {
    /// The store at `$BUILDKIT_VM_CACHE`, else `$XDG_CACHE_HOME/git-buildkit/vm`,
    /// else `~/.cache/git-buildkit/vm` ([`crate::paths::Env::vm_cache_dir`]).
    pub fn default_location() -> Result<Self, crate::paths::PathsError> {
        crate::paths::Env::current().vm_cache_dir().map(Self::at)
    }

    /// The store at `dir`.
    pub fn at(dir: PathBuf) -> Self {
        Self { root: dir }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Where kept and running test runs live.
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    fn images_dir(&self) -> PathBuf {
        self.root.join("images")
    }

    fn names_dir(&self) -> PathBuf {
        self.root.join("names")
    }

    /// The image called `name`.
    pub fn find(&self, name: &str) -> Result<Image, VmError> {
        check_name("image name", name)?;
        let key = match fs::read_to_string(self.names_dir().join(name)) {
            Ok(key) => key.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VmError::NoImage {
                    name: name.to_owned(),
                })
            }
            Err(e) => return Err(io_at(&self.names_dir().join(name))(e)),
        };
        self.load(name, &key)?.ok_or_else(|| VmError::NoImage {
            name: name.to_owned(),
        })
    }

    fn load(&self, name: &str, key: &str) -> Result<Option<Image>, VmError> {
        let dir = self.images_dir().join(key);
        let path = dir.join("image.json");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at(&path)(e)),
        };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| VmError::BadImage {
            name: name.to_owned(),
            reason: format!("{}: {e}", path.display()),
        })?;
        Ok(Some(Image {
            name: name.to_owned(),
            dir,
            manifest,
        }))
    }

    /// Every named image, by name.
    pub fn list(&self) -> Result<Vec<Image>, VmError> {
        let mut images = Vec::new();
        let names = match fs::read_dir(self.names_dir()) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(images),
            Err(e) => return Err(io_at(&self.names_dir())(e)),
        };
        for entry in names {
            let entry = entry.map_err(io_at(&self.names_dir()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if let Ok(image) = self.find(&name) {
                images.push(image);
            }
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(images)
    }

    /// Removes the name, and its image when no other name uses it.
    pub fn destroy(&self, name: &str) -> Result<Image, VmError> {
        let image = self.find(name)?;
        let _lock = self.lock(&image.manifest.key)?;
        let link = self.names_dir().join(name);
        fs::remove_file(&link).map_err(io_at(&link))?;
        self.collect_unnamed(&image.manifest.key)?;
        Ok(image)
    }

    fn collect_unnamed(&self, key: &str) -> Result<(), VmError> {
        // A name is a file holding its key: no manifest needs reading.
        let still_used = fs::read_dir(self.names_dir())
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| fs::read_to_string(entry.path()).is_ok_and(|k| k.trim() == key));
        if !still_used {
            let dir = self.images_dir().join(key);
            match fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_at(&dir)(e)),
                _ => {}
            }
        }
        Ok(())
    }

    fn lock(&self, key: &str) -> Result<File, VmError> {
        let dir = self.images_dir();
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let path = dir.join(format!(".lock-{key}"));
        let file = File::create(&path).map_err(io_at(&path))?;
        file.lock().map_err(io_at(&path))?;
        Ok(file)
    }

    /// The image `name` built from `recipe`: at once when the recipe's image
    /// exists (and `!options.refresh`), else built. Returns whether it was built.
    pub fn create(
        &self,
        name: &str,
        recipe: &Recipe,
        options: &CreateOptions,
        listener: &dyn Listener,
    ) -> Result<(Image, bool), VmError> {
        check_name("image name", name)?;
        let key = recipe.key();
        let _lock = self.lock(&key)?;
        let previous = self.find(name).ok();
        let built = match self.load(name, &key)? {
            Some(_) if !options.refresh => false,
            _ => {
                self.build(&key, recipe, options, listener)?;
                true
            }
        };
        let names = self.names_dir();
        fs::create_dir_all(&names).map_err(io_at(&names))?;
        let path = names.join(name);
        write_atomic(&path, format!("{key}\n").as_bytes(), 0o644, Unsynced)
            .map_err(io_at(&path))?;
        if let Some(previous) = previous.filter(|p| p.manifest.key != key) {
            self.collect_unnamed(&previous.manifest.key)?;
        }
        let image = self.find(name)?;
        Ok((image, built))
    }

    fn build(
        &self,
        key: &str,
        recipe: &Recipe,
        options: &CreateOptions,
        listener: &dyn Listener,
    ) -> Result<(), VmError> {
        if !is_root() {
            return Err(VmError::NeedsRoot);
        }
        require("mmdebstrap", "mmdebstrap")?;
        require("mke2fs", "e2fsprogs")?;
        let clock = Instant::now();
        let build = self.images_dir().join(format!(".build-{key}"));
        remove_dir_if_present(&build)?;
        let guard = RemoveOnDrop(build.clone());
        let guest = build.join("guest");
        fs::create_dir_all(&guest).map_err(io_at(&guest))?;
        for (name, text) in GUEST_FILES {
            let path = guest.join(name);
            fs::write(&path, text).map_err(io_at(&path))?;
        }
        let rootfs = build.join("rootfs");
        listener.status(
            "Bootstrapping",
            &format!(
                "Debian {} from {} (about a minute)",
                recipe.suite, recipe.mirror
            ),
        );
        bootstrap(&build, &rootfs, recipe, options, listener)?;

        listener.status("Building", "the initrd and the kernel");
        let kernel_package = fs::read_to_string(build.join("kernel-package"))
            .map_err(io_at(&build.join("kernel-package")))?
            .trim()
            .to_owned();
        let packages = installed_packages(&rootfs)?;
        let out = build.join("image");
        fs::create_dir(&out).map_err(io_at(&out))?;
        let (kernel_file, modules) = write_boot_files(&build, &out)?;

        listener.status("Writing", &format!("the {} ext4 file system", recipe.size));
        Cmd::new("mke2fs")
            .args(["-q", "-t", "ext4", "-L", "bkroot", "-m", "0", "-d"])
            .arg(&rootfs)
            .arg(out.join("root.raw"))
            .arg(&recipe.size)
            .output()
            .map_err(|source| VmError::Tool {
                what: "writing the file system with mke2fs".into(),
                source,
            })?;
        let manifest = Manifest {
            format: FORMAT,
            key: key.to_owned(),
            recipe: recipe.clone(),
            kernel_package,
            kernel: kernel_file.to_owned(),
            modules,
            created: crate::time::unix_now(),
            build_seconds: (clock.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            packages,
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest always serializes");
        let path = out.join("image.json");
        write_atomic(&path, &json, 0o644, Unsynced).map_err(io_at(&path))?;
        let dest = self.images_dir().join(key);
        remove_dir_if_present(&dest)?;
        fs::rename(&out, &dest).map_err(io_at(&dest))?;
        drop(guard);
        Ok(())
    }
}

/// Bootstraps the image's root file system into `rootfs` with mmdebstrap,
/// running the guest's customize script (in `build/guest`) inside it.
fn bootstrap(
    build: &Path,
    rootfs: &Path,
    recipe: &Recipe,
    options: &CreateOptions,
    listener: &dyn Listener,
) -> Result<(), VmError> {
    let guest = build.join("guest");
    let mut include: Vec<String> = BASE_INCLUDE.iter().map(|s| (*s).to_owned()).collect();
    include.extend(recipe.include.iter().cloned());
    let mut cmd = Cmd::new("mmdebstrap")
        .arg("--mode=root")
        .arg("--variant=minbase")
        .arg(format!("--include={}", include.join(",")))
        .arg(format!(
            "--customize-hook=sh {} \"$1\" {}",
            super::job::sh_quote(&guest.join("customize.sh").to_string_lossy()),
            super::job::sh_quote(&build.to_string_lossy())
        ));
    if let Some(proxy) = &options.proxy {
        // In the environment, not `--aptopt`: mmdebstrap writes an aptopt
        // into the image for good, and the guest cannot reach this proxy.
        // apt outside the chroot and the customize hook's chroot both
        // inherit it.
        cmd = cmd.env("http_proxy", proxy);
    }
    cmd = cmd
        .arg(&recipe.suite)
        .arg(rootfs)
        .arg(format!(
            "deb {} {} main",
            bootstrap_mirror(recipe, options),
            recipe.suite
        ))
        .label("mmdebstrap");
    cmd.stream(&mut *listener.output(), 30)
        .map_err(|source| VmError::Tool {
            what: "bootstrapping the image with mmdebstrap".into(),
            source,
        })?;
    Ok(())
}

/// The mirror as the bootstrap's apt asks for it: `http://` for an https
/// mirror when the proxy fetches https itself, as it is otherwise.
fn bootstrap_mirror<'a>(recipe: &'a Recipe, options: &CreateOptions) -> std::borrow::Cow<'a, str> {
    match recipe.mirror.strip_prefix("https://") {
        Some(rest) if options.proxy.is_some() && options.proxy_fetches_https => {
            format!("http://{rest}").into()
        }
        _ => recipe.mirror.as_str().into(),
    }
}

/// The names of the packages dpkg installed in `rootfs`, with the names
/// they provide, sorted and without duplicates.
fn installed_packages(rootfs: &Path) -> Result<Vec<String>, VmError> {
    let path = rootfs.join("var/lib/dpkg/status");
    let text = fs::read_to_string(&path).map_err(io_at(&path))?;
    Ok(installed_in_status(&text))
}

fn installed_in_status(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for stanza in crate::deb822::parse(text, crate::deb822::Comments::Refused).unwrap_or_default() {
        let installed = stanza
            .value("Status")
            .is_some_and(|s| s.split_whitespace().last() == Some("installed"));
        let Some(name) = stanza.value("Package").filter(|_| installed) else {
            continue;
        };
        names.push(name.trim().to_owned());
        for provided in stanza.value("Provides").unwrap_or_default().split(',') {
            // `name (= version)`: the name only.
            if let Some(provided) = provided.split_whitespace().next() {
                names.push(provided.to_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Writes the initrd and the kernel (an ELF vmlinux where it can be
/// extracted, which boots faster, else the bzImage) into `out`, from the
/// kernel package the bootstrap unpacked under `build`; returns the kernel's
/// file name and the modules the initrd loads.
fn write_boot_files(build: &Path, out: &Path) -> Result<(&'static str, Vec<String>), VmError> {
    let (vmlinuz, modules_dir) = find_kernel(&build.join("kernel"))?;
    let initrd = initrd::build_initrd(
        &modules_dir,
        &find_busybox(&build.join("busybox"))?,
        initrd::GUEST_MODULES,
    )?;
    let path = out.join("initrd.img");
    write_atomic(&path, &initrd.bytes, 0o644, Unsynced).map_err(io_at(&path))?;
    let bzimage = fs::read(&vmlinuz).map_err(io_at(&vmlinuz))?;
    let (kernel_file, kernel_bytes) = match kernel::extract_vmlinux(&bzimage) {
        Some(elf) => ("vmlinux", elf),
        None => ("vmlinuz", bzimage),
    };
    let path = out.join(kernel_file);
    write_atomic(&path, &kernel_bytes, 0o644, Unsynced).map_err(io_at(&path))?;
    Ok((kernel_file, initrd.modules))
}

/// The static busybox of the unpacked busybox-static package: `bin/`
/// until bookworm, `usr/bin/` from trixie on (merged /usr).
fn find_busybox(dir: &Path) -> Result<PathBuf, VmError> {
    ["bin/busybox", "usr/bin/busybox"]
        .iter()
        .map(|rel| dir.join(rel))
        .find(|path| path.is_file())
        .ok_or_else(|| VmError::NoBusybox {
            path: dir.to_owned(),
        })
}

/// The bzImage and the modules directory of the unpacked kernel package.
fn find_kernel(dir: &Path) -> Result<(PathBuf, PathBuf), VmError> {
    let no_kernel = || VmError::NoKernel {
        path: dir.to_owned(),
    };
    let boot = dir.join("boot");
    let vmlinuz = fs::read_dir(&boot)
        .map_err(|_| no_kernel())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .ok_or_else(no_kernel)?;
    let version = vmlinuz
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_start_matches("vmlinuz-")
                .to_owned()
        })
        .ok_or_else(no_kernel)?;
    for base in ["lib/modules", "usr/lib/modules"] {
        let modules = dir.join(base).join(&version);
        if modules.is_dir() {
            return Ok((vmlinuz, modules));
        }
    }
    Err(no_kernel())
}

/// Checks that `name` (an image name or a run id) is a safe file name: a
/// [plain](crate::names::is_plain) name of letters, digits, `.`, `_` and
/// `-`, at most 64 bytes.
pub fn check_name(kind: &'static str, name: &str) -> Result<(), VmError> {
    if name.len() <= 64 && crate::names::is_plain(name, b"._-") {
        Ok(())
    } else {
        Err(VmError::BadName {
            kind,
            name: name.to_owned(),
        })
    }
}

/// Fails with a clear message when `program` is not on `PATH`.
pub fn require(program: &'static str, package: &'static str) -> Result<(), VmError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .any(|dir| dir.join(program).is_file());
    if found {
        Ok(())
    } else {
        Err(VmError::Missing { program, package })
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective uid.
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn remove_dir_if_present(dir: &Path) -> Result<(), VmError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_at(dir)(e)),
        _ => Ok(()),
    }
}

/// Removes a directory when dropped (a build that failed or was interrupted).
#[derive(Debug)]
pub(crate) struct RemoveOnDrop(pub(crate) PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The host's Debian codename (`VERSION_CODENAME` of /etc/os-release), the
/// default suite of a new image.
pub fn host_suite() -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// The mirror apt on this host is configured with for `suite`: the first
/// enabled `deb` source listing the suite, else the first whose URL ends in
/// `/debian`, else Debian's own.
pub fn host_mirror(suite: &str) -> String {
    choose_mirror(&crate::proxy::host_sources().unwrap_or_default(), suite)
}

fn choose_mirror(sources: &[HostSource], suite: &str) -> String {
    let usable = |s: &&HostSource| {
        s.binary && (s.uri.starts_with("http://") || s.uri.starts_with("https://"))
    };
    sources
        .iter()
        .filter(usable)
        .find(|s| s.suites.iter().any(|s| s == suite))
        .or_else(|| {
            sources
                .iter()
                .filter(usable)
                .find(|s| s.uri.trim_end_matches('/').ends_with("/debian"))
        })
        .map_or_else(
            || "http://deb.debian.org/debian".to_owned(),
            |s| s.uri.trim_end_matches('/').to_owned(),
        )
}

#[cfg(test)]
mod busybox_tests {
    use super::*;

    #[test]
    fn busybox_is_found_in_bin_until_bookworm_and_in_usr_bin_from_trixie_on() {
        for rel in ["bin/busybox", "usr/bin/busybox"] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, b"\x7fELF").expect("write");
            assert_eq!(find_busybox(dir.path()).expect(rel), path);
        }
        let empty = tempfile::tempdir().expect("tempdir");
        let e = find_busybox(empty.path()).expect_err("none").to_string();
        assert!(e.contains("no static busybox"), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn an_https_mirror_goes_through_the_built_in_proxy_as_http() {
        let recipe = Recipe::new("bookworm", "https://deb.example.org/debian", &[]);
        let mut options = CreateOptions {
            proxy: Some("http://127.0.0.1:3142".into()),
            proxy_fetches_https: true,
            refresh: false,
        };
        assert_eq!(
            bootstrap_mirror(&recipe, &options),
            "http://deb.example.org/debian"
        );
        options.proxy_fetches_https = false;
        assert_eq!(
            bootstrap_mirror(&recipe, &options),
            "https://deb.example.org/debian"
        );
        options.proxy = None;
        options.proxy_fetches_https = true;
        assert_eq!(
            bootstrap_mirror(&recipe, &options),
            "https://deb.example.org/debian"
        );
    }

    #[test]
    fn the_installed_packages_and_what_they_provide() {
        let status = "Package: mawk\nStatus: install ok installed\nVersion: 1.3.4\n\
                      Provides: awk\n\nPackage: gone\nStatus: deinstall ok config-files\n\
                      Version: 1\n\nPackage: libc6\nStatus: install ok installed\n\
                      Provides: libc6-x (= 2.36), other\nVersion: 2.36\n";
        assert_eq!(
            installed_in_status(status),
            ["awk", "libc6", "libc6-x", "mawk", "other"]
        );
    }

    #[test]
    fn recipe_keys_follow_the_recipe_only() {
        let a = Recipe::new(
            "bookworm",
            "http://deb.debian.org/debian/",
            &["curl".into()],
        );
        let b = Recipe::new(
            "bookworm",
            "http://deb.debian.org/debian",
            &[" curl".into(), "curl".into(), String::new()],
        );
        assert_eq!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key().len(), 16);
        let c = Recipe::new("trixie", "http://deb.debian.org/debian", &["curl".into()]);
        assert_ne!(a.key(), c.key());
        let d = Recipe::new("bookworm", "http://deb.debian.org/debian", &[]);
        assert_ne!(a.key(), d.key());
    }

    #[test]
    fn the_mirror_for_a_suite() {
        let source = |binary: bool, uri: &str, suites: &[&str]| HostSource {
            binary,
            uri: uri.to_owned(),
            suites: suites.iter().map(|s| (*s).to_owned()).collect(),
        };
        let sources = [
            source(false, "http://src.example/debian", &["trixie"]),
            source(
                true,
                "http://deb.debian.org/debian/",
                &["bookworm", "bookworm-updates"],
            ),
            source(
                true,
                "http://deb.debian.org/debian-security",
                &["bookworm-security"],
            ),
            source(true, "https://ftp.de.debian.org/debian", &["trixie"]),
        ];
        assert_eq!(
            choose_mirror(&sources, "bookworm"),
            "http://deb.debian.org/debian"
        );
        assert_eq!(
            choose_mirror(&sources, "trixie"),
            "https://ftp.de.debian.org/debian"
        );
        assert_eq!(
            choose_mirror(&sources[..3], "trixie"),
            "http://deb.debian.org/debian"
        );
        assert_eq!(choose_mirror(&[], "trixie"), "http://deb.debian.org/debian");
    }

    #[test]
    fn names_are_file_names() {
        for good in ["default", "bookworm-2", "a.b_c"] {
            check_name("image name", good).expect(good);
        }
        for bad in ["", ".hidden", "-x", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_name("image name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_name_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::at(dir.path().to_owned());
        let error = store.find("nope").expect_err("missing");
        assert_eq!(error.to_string(), "there is no VM image named \"nope\"");
        assert_eq!(error.exit_code(), 2);
        assert!(store.list().expect("list").is_empty());
    }
}

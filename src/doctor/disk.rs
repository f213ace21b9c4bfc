//! Free disk space where git-buildkit writes: its data directory (the
//! default repositories), the VM image cache (base images, kept runs) and
//! the temporary directory (exports, builds, VM overlays).

use std::path::{Path, PathBuf};

use super::{Check, Context, Group, Need, Status, LOW_DISK};
use crate::progress::human_size;

/// The disk checks.
pub(super) fn checks(context: &Context) -> Vec<Check> {
    let paths = &context.paths;
    [
        (
            "data-dir",
            paths.data_home().map(|d| d.join("git-buildkit")),
            None,
        ),
        (
            "vm-cache",
            paths.vm_cache_dir(),
            Some("git buildkit cache clean --older-than 30d"),
        ),
        ("tmpdir", Ok(context.tmp.clone()), None),
    ]
    .into_iter()
    .map(|(name, dir, fix)| match dir {
        Ok(dir) => check(name, &dir, fix),
        Err(e) => Check::new(
            Group::Disk,
            name,
            Need::Optional,
            Status::Warn,
            format!("cannot locate it: {e}"),
        )
        .fix("export HOME=\"$(getent passwd \"$(id -un)\" | cut -d: -f6)\""),
    })
    .collect()
}

fn check(name: &'static str, dir: &Path, fix: Option<&str>) -> Check {
    // A directory not made yet is on the file system of its nearest parent.
    let existing = existing_ancestor(dir);
    let free = nix::sys::statvfs::statvfs(&existing)
        .map(|s| s.blocks_available().saturating_mul(s.fragment_size()));
    let created = if existing == dir {
        String::new()
    } else {
        " (not created yet)".to_owned()
    };
    match free {
        Ok(free) if free >= LOW_DISK => Check::new(
            Group::Disk,
            name,
            Need::Optional,
            Status::Ok,
            format!("{} free for {}{created}", human_size(free), dir.display()),
        ),
        Ok(free) => {
            let check = Check::new(
                Group::Disk,
                name,
                Need::Optional,
                Status::Warn,
                format!(
                    "only {} free for {}{created} (below {}: a base image, a VM run or a \
                     build may not fit)",
                    human_size(free),
                    dir.display(),
                    human_size(LOW_DISK)
                ),
            );
            match (name, fix) {
                ("tmpdir", _) => check.fix("export TMPDIR=/a/directory/with/space"),
                (_, Some(fix)) => check.fix(fix),
                _ => check,
            }
        }
        Err(e) => Check::new(
            Group::Disk,
            name,
            Need::Optional,
            Status::Warn,
            format!("cannot tell the free space of {}: {e}", existing.display()),
        ),
    }
}

/// `dir`, or its nearest ancestor that exists.
fn existing_ancestor(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.exists())
        .unwrap_or(Path::new("/"))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_missing_directory_is_measured_on_its_parent() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("a/b");
        assert_eq!(existing_ancestor(&dir), temp.path());
        let check = check("tmpdir", &dir, None);
        let expected = format!("{} (not created yet)", dir.display());
        assert!(check.detail.contains(&expected), "{}", check.detail);
    }
}

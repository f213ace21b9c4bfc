//! What a VM test stands on besides qemu and KVM: the base image it boots,
//! and the caching apt proxy through which guests and `vm create` fetch
//! Debian (its cache, and the mirrors this host's apt names, the only ones
//! it fetches from).

use super::{Check, Context, Group, Need, Needs, Status};
use crate::progress::human_size;
use crate::proxy::{Cache, Mirrors};
use crate::vm::{ImageStore, DEFAULT_IMAGE};

/// The checks of the base image and the apt cache.
pub(super) fn checks(context: &Context, needs: &Needs) -> Vec<Check> {
    vec![image(context, needs), apt_cache(context), apt_mirrors()]
}

fn image(context: &Context, needs: &Needs) -> Check {
    let need = Need::required_if(needs.image.is_some());
    let name = needs.image.as_deref().unwrap_or(DEFAULT_IMAGE);
    let dir = match context.paths.vm_cache_dir() {
        Ok(dir) => dir,
        Err(e) => {
            return Check::new(
                Group::Vm,
                "vm-image",
                need,
                need.missing(),
                format!("cannot locate the VM image cache: {e}"),
            )
        }
    };
    let store = ImageStore::at(dir);
    match store.find(name) {
        Ok(image) => Check::new(
            Group::Vm,
            "vm-image",
            need,
            Status::Ok,
            format!(
                "{name}: Debian {} with {}, {} in {}",
                image.manifest.recipe.suite,
                image.manifest.kernel_package,
                human_size(image.disk_usage()),
                store.dir().display()
            ),
        ),
        Err(e) => {
            let because = match need {
                Need::Required => "[vm] tests boot it".to_owned(),
                Need::Optional => "needed only by a project with [vm]".to_owned(),
            };
            Check::new(
                Group::Vm,
                "vm-image",
                need,
                need.missing(),
                format!("{e} in {} ({because})", store.dir().display()),
            )
            .fix(context.as_root(&format!("git buildkit vm create {name}")))
        }
    }
}

fn apt_cache(context: &Context) -> Check {
    let check = |status, detail| Check::new(Group::Vm, "apt-cache", Need::Optional, status, detail);
    let dir = match context.paths.apt_cache_dir() {
        Ok(dir) => dir,
        Err(e) => return check(Status::Warn, format!("cannot locate the apt cache: {e}")),
    };
    if !dir.exists() {
        return check(
            Status::Ok,
            format!(
                "{}: empty (made when a guest or vm create first fetches from Debian)",
                dir.display()
            ),
        );
    }
    // The limit only matters to a store; reading sizes does not need it.
    match Cache::open(&dir, u64::MAX).and_then(|cache| cache.status()) {
        Ok(status) => check(
            Status::Ok,
            format!(
                "{}: {} in {} files; {} requests fetched from the mirror",
                dir.display(),
                human_size(status.total_bytes),
                status.entries,
                status.counters.upstream_requests
            ),
        ),
        Err(e) => check(
            Status::Warn,
            format!("{} cannot be read: {e}", dir.display()),
        )
        .fix("git buildkit cache clean"),
    }
}

fn apt_mirrors() -> Check {
    let check =
        |status, detail| Check::new(Group::Vm, "apt-mirrors", Need::Optional, status, detail);
    match Mirrors::from_host_apt() {
        Ok(mirrors) if !mirrors.list().is_empty() => {
            let mut hosts: Vec<&str> = Vec::new();
            for mirror in mirrors.list() {
                if !hosts.contains(&mirror.authority.as_str()) {
                    hosts.push(&mirror.authority);
                }
            }
            check(
                Status::Ok,
                format!(
                    "the apt proxy fetches only from this host's apt mirrors: {}",
                    hosts.join(", ")
                ),
            )
        }
        Ok(_) => check(
            Status::Warn,
            "this host's apt names no http(s) mirror: vm create and guests cannot fetch Debian"
                .into(),
        ),
        Err(e) => check(
            Status::Warn,
            format!("cannot read this host's apt sources ({e}): vm create and guests cannot fetch Debian"),
        ),
    }
}

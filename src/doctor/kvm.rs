//! KVM: usable or not, and why, in the words of what the user can change.
//!
//! The verdict is the VM runner's ([`crate::vm::qemu::kvm_unusable_reason`],
//! checked in the same order: the device, its permissions, `kvm_pvm`, the
//! CPU flags); the doctor adds the cause behind a missing device (the module
//! not loaded, or no hardware virtualisation, or a VM without nested
//! virtualisation) and the fix. KVM is never required: without it VM tests
//! run under TCG, software emulation, about ten times slower.

use std::path::Path;

use super::{Check, Context, Group, Need, Status};

/// The CPU's hardware virtualisation, from `/proc/cpuinfo`'s flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuVirt {
    /// Intel VT-x.
    Vmx,
    /// AMD-V.
    Svm,
    /// Neither; `hypervisor` says the machine is itself a VM.
    None {
        /// The `hypervisor` flag.
        hypervisor: bool,
    },
}

/// What KVM is on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kvm {
    /// `/dev/kvm` opens read-write, no `kvm_pvm`, the CPU has vmx or svm.
    Usable(CpuVirt),
    /// There is no `/dev/kvm`.
    NoDevice(CpuVirt),
    /// `/dev/kvm` does not open read-write for this user.
    NoAccess,
    /// `/dev/kvm` is `kvm_pvm`, which runs only PVM-enlightened kernels.
    Pvm,
    /// `/dev/kvm` opens, but the CPU shows neither vmx nor svm.
    NoCpuFlag {
        /// The `hypervisor` flag.
        hypervisor: bool,
    },
}

impl Kvm {
    /// Whether VM tests boot with KVM.
    pub fn usable(self) -> bool {
        matches!(self, Kvm::Usable(_))
    }
}

/// What KVM is on the system whose root directory is `root` (`/`).
pub fn diagnose_kvm(root: &Path) -> Kvm {
    let cpu = cpu_virt(&std::fs::read_to_string(root.join("proc/cpuinfo")).unwrap_or_default());
    let dev = root.join("dev/kvm");
    if !dev.exists() {
        return Kvm::NoDevice(cpu);
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&dev)
        .is_err()
    {
        return Kvm::NoAccess;
    }
    if root.join("sys/module/kvm_pvm").exists() {
        return Kvm::Pvm;
    }
    match cpu {
        CpuVirt::None { hypervisor } => Kvm::NoCpuFlag { hypervisor },
        cpu => Kvm::Usable(cpu),
    }
}

/// The CPU's virtualisation from the text of `/proc/cpuinfo`.
fn cpu_virt(cpuinfo: &str) -> CpuVirt {
    let flags: Vec<&str> = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .flat_map(str::split_whitespace)
        .collect();
    if flags.contains(&"vmx") {
        CpuVirt::Vmx
    } else if flags.contains(&"svm") {
        CpuVirt::Svm
    } else {
        CpuVirt::None {
            hypervisor: flags.contains(&"hypervisor"),
        }
    }
}

/// What VM tests do without KVM.
const TCG: &str = "VM tests use TCG (software emulation, about 10x slower)";

/// The check of `kvm`.
pub(super) fn check(kvm: Kvm, context: &Context) -> Check {
    let warn = |detail: String| Check::new(Group::Vm, "kvm", Need::Optional, Status::Warn, detail);
    match kvm {
        Kvm::Usable(cpu) => Check::new(
            Group::Vm,
            "kvm",
            Need::Optional,
            Status::Ok,
            format!(
                "usable: /dev/kvm opens read-write and the CPU has {}",
                match cpu {
                    CpuVirt::Svm => "svm",
                    _ => "vmx",
                }
            ),
        ),
        Kvm::NoDevice(CpuVirt::Vmx) => warn(format!(
            "/dev/kvm does not exist though the CPU has vmx: the kvm_intel module is not loaded; {TCG}"
        ))
        .fix(context.as_root("modprobe kvm_intel")),
        Kvm::NoDevice(CpuVirt::Svm) => warn(format!(
            "/dev/kvm does not exist though the CPU has svm: the kvm_amd module is not loaded; {TCG}"
        ))
        .fix(context.as_root("modprobe kvm_amd")),
        Kvm::NoDevice(CpuVirt::None { hypervisor: true }) => warn(format!(
            "/dev/kvm does not exist and the CPU shows neither vmx nor svm: this machine is a VM \
             without nested virtualisation (its host can turn it on); {TCG}"
        )),
        Kvm::NoDevice(CpuVirt::None { hypervisor: false }) => warn(format!(
            "/dev/kvm does not exist and the CPU shows neither vmx nor svm: hardware \
             virtualisation is off in the firmware settings, or absent; {TCG}"
        )),
        Kvm::NoAccess => warn(format!(
            "/dev/kvm exists but this user cannot open it read-write (it belongs to group kvm; \
             log in again after joining); {TCG}"
        ))
        .fix(context.as_root("usermod -aG kvm \"$USER\"")),
        Kvm::Pvm => warn(format!(
            "/dev/kvm is kvm_pvm (this machine is a PVM guest): it runs only PVM-enlightened \
             guest kernels, not Debian's; {TCG}"
        )),
        Kvm::NoCpuFlag { .. } => warn(format!(
            "/dev/kvm exists but the CPU shows neither vmx nor svm; {TCG}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn machine(cpu_flags: &str, dev: bool, pvm: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        std::fs::create_dir_all(r.join("proc")).expect("proc");
        std::fs::write(
            r.join("proc/cpuinfo"),
            format!("processor\t: 0\nflags\t\t: fpu {cpu_flags} sse2\n"),
        )
        .expect("cpuinfo");
        if dev {
            std::fs::create_dir_all(r.join("dev")).expect("dev");
            std::fs::write(r.join("dev/kvm"), "").expect("kvm");
        }
        if pvm {
            std::fs::create_dir_all(r.join("sys/module/kvm_pvm")).expect("pvm");
        }
        root
    }

    #[test]
    fn each_cause_is_told_apart() {
        let cases = [
            ("vmx", false, false, Kvm::NoDevice(CpuVirt::Vmx)),
            ("svm", false, false, Kvm::NoDevice(CpuVirt::Svm)),
            (
                "hypervisor",
                false,
                false,
                Kvm::NoDevice(CpuVirt::None { hypervisor: true }),
            ),
            (
                "",
                false,
                false,
                Kvm::NoDevice(CpuVirt::None { hypervisor: false }),
            ),
            ("hypervisor", true, true, Kvm::Pvm),
            ("vmx", true, true, Kvm::Pvm),
            (
                "hypervisor",
                true,
                false,
                Kvm::NoCpuFlag { hypervisor: true },
            ),
            ("vmx", true, false, Kvm::Usable(CpuVirt::Vmx)),
        ];
        for (flags, dev, pvm, expected) in cases {
            let root = machine(flags, dev, pvm);
            assert_eq!(diagnose_kvm(root.path()), expected, "{flags} {dev} {pvm}");
        }
    }

    #[test]
    fn the_verdict_is_the_vm_runners() {
        let here = diagnose_kvm(Path::new("/"));
        assert_eq!(
            here.usable(),
            crate::vm::qemu::kvm_unusable_reason().is_none(),
            "{here:?}"
        );
    }

    #[test]
    fn a_fix_runs_as_root_with_sudo_only_for_others() {
        let mut context = Context::current(std::env::temp_dir());
        context.root = false;
        assert_eq!(
            check(Kvm::NoAccess, &context).fix.as_deref(),
            Some("sudo usermod -aG kvm \"$USER\"")
        );
        context.root = true;
        assert_eq!(
            check(Kvm::NoDevice(CpuVirt::Vmx), &context).fix.as_deref(),
            Some("modprobe kvm_intel")
        );
        assert_eq!(check(Kvm::Pvm, &context).fix, None);
        assert_eq!(check(Kvm::Pvm, &context).status, Status::Warn);
    }
}

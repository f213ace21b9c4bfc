//! The `/init` script the kernel runs from the initramfs.

/// The `/init` script: mount the kernel's file systems, load `modules` in
/// order, wait for the root device named by `root=` (default `/dev/vda`),
/// mount it and switch to `init=` (default `/sbin/init`).
pub(super) fn init_script(modules: &[String]) -> String {
    let loads: String = modules
        .iter()
        .map(|name| format!("load {name}\n"))
        .collect();
    format!(
        r#"#!/bin/busybox sh
# Written by git-buildkit: load the drivers Debian's kernel keeps as modules,
# mount the root file system named on the kernel command line, run its init.

# `--install` finds busybox through /proc/self/exe, so mount /proc first.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
grep -q " /dev devtmpfs " /proc/mounts || mount -t devtmpfs devtmpfs /dev

load() {{
	insmod "/lib/modules/$1.ko" || echo "initrd: could not load $1"
}}
{loads}
root=/dev/vda
init=/sbin/init
warm=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	root=*) root="${{arg#root=}}" ;;
	init=*) init="${{arg#init=}}" ;;
	bk.warm) warm=1 ;;
	esac
done

# Like rootwait: the disk appears once its driver has probed it (up to 10 s).
i=0
while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

if ! mount -t ext4 -o rw "$root" /newroot; then
	echo "initrd: cannot mount $root"
	# Stop at once: the host reads a stop without its end marker as a
	# testbed failure, sooner than any timeout would.
	echo 1 > /proc/sys/kernel/sysrq
	echo o > /proc/sysrq-trigger
	# The sysrq power-off is asynchronous; never go on to switch_root.
	sleep 5
	poweroff -f
fi

# Everything the guest's user space would mount with a few dynamically
# linked programs is mounted here by static busybox, which under software
# emulation starts many times faster: /dev, /proc, /sys, /run, /tmp and the
# job disk (the second virtio disk, read-only), when there is one: not in a
# boot that is saved warm, whose job disk is the next run's (bk-run mounts it).
mkdir -p /newroot/dev /newroot/proc /newroot/sys /newroot/run /newroot/tmp
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620 devpts /newroot/dev/pts
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/dev/shm
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /newroot/run
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/tmp
if [ -z "$warm" ] && [ -b /newroot/dev/vdb ]; then
	mkdir -p /newroot/run/bk/job
	mount -t ext4 -o ro /newroot/dev/vdb /newroot/run/bk/job ||
		echo "initrd: cannot mount the job disk /dev/vdb"
fi
mount --move /sys /newroot/sys
mount --move /proc /newroot/proc
exec switch_root /newroot "$init"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::initrd::fixtures::names;
    use pretty_assertions::assert_eq;
    use std::process::Command;

    #[test]
    fn init_script_loads_modules_in_order() {
        let script = init_script(&names(&["virtio_ring", "virtio"]));
        let expected = r#"#!/bin/busybox sh
# Written by git-buildkit: load the drivers Debian's kernel keeps as modules,
# mount the root file system named on the kernel command line, run its init.

# `--install` finds busybox through /proc/self/exe, so mount /proc first.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
grep -q " /dev devtmpfs " /proc/mounts || mount -t devtmpfs devtmpfs /dev

load() {
	insmod "/lib/modules/$1.ko" || echo "initrd: could not load $1"
}
load virtio_ring
load virtio

root=/dev/vda
init=/sbin/init
warm=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	root=*) root="${arg#root=}" ;;
	init=*) init="${arg#init=}" ;;
	bk.warm) warm=1 ;;
	esac
done

# Like rootwait: the disk appears once its driver has probed it (up to 10 s).
i=0
while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

if ! mount -t ext4 -o rw "$root" /newroot; then
	echo "initrd: cannot mount $root"
	# Stop at once: the host reads a stop without its end marker as a
	# testbed failure, sooner than any timeout would.
	echo 1 > /proc/sys/kernel/sysrq
	echo o > /proc/sysrq-trigger
	# The sysrq power-off is asynchronous; never go on to switch_root.
	sleep 5
	poweroff -f
fi

# Everything the guest's user space would mount with a few dynamically
# linked programs is mounted here by static busybox, which under software
# emulation starts many times faster: /dev, /proc, /sys, /run, /tmp and the
# job disk (the second virtio disk, read-only), when there is one: not in a
# boot that is saved warm, whose job disk is the next run's (bk-run mounts it).
mkdir -p /newroot/dev /newroot/proc /newroot/sys /newroot/run /newroot/tmp
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620 devpts /newroot/dev/pts
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/dev/shm
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /newroot/run
mount -t tmpfs -o nosuid,nodev tmpfs /newroot/tmp
if [ -z "$warm" ] && [ -b /newroot/dev/vdb ]; then
	mkdir -p /newroot/run/bk/job
	mount -t ext4 -o ro /newroot/dev/vdb /newroot/run/bk/job ||
		echo "initrd: cannot mount the job disk /dev/vdb"
fi
mount --move /sys /newroot/sys
mount --move /proc /newroot/proc
exec switch_root /newroot "$init"
"#;
        assert_eq!(script, expected);
    }

    #[test]
    fn init_script_is_valid_shell() {
        let script = init_script(&names(&["virtio"]));
        let output = Command::new("sh")
            .args(["-n", "-c", &script])
            .output()
            .expect("run");
        assert!(output.status.success(), "{output:?}");
    }
}

#!/bin/sh
# mmdebstrap --customize-hook for `git buildkit vm create`: turns the fresh
# root file system ($1) into a test bed. $2 is the build directory: its
# guest/ holds the files below, and the kernel and busybox packages are
# unpacked into $2/kernel and $2/busybox for the host to build the initrd.
set -eu
root=$1
build=$2

# The kernel of the image's own suite and a static busybox for the initrd,
# fetched from the image's mirror while the root still has its sources.
kernel=$(chroot "$root" apt-cache depends linux-image-amd64 |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
[ -n "$kernel" ] || { echo "no kernel package behind linux-image-amd64" >&2; exit 1; }
mkdir -p "$root/tmp/bk-download" && chmod 1777 "$root/tmp/bk-download"
chroot "$root" sh -c "cd /tmp/bk-download && apt-get -q download $kernel busybox-static"
for deb in "$root"/tmp/bk-download/*.deb; do
    case $(basename "$deb") in
        linux-image-*) dpkg-deb -x "$deb" "$build/kernel" ;;
        busybox-static_*) dpkg-deb -x "$deb" "$build/busybox" ;;
    esac
done
rm -rf "$root/tmp/bk-download"
echo "$kernel" >"$build/kernel-package"

# The guest reaches only the repository under test: no mirror, no resolver.
rm -f "$root/etc/apt/sources.list"
find "$root/etc/apt/sources.list.d" -mindepth 1 -delete
: >"$root/etc/resolv.conf"
echo bk-guest >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost bk-guest\n' >"$root/etc/hosts"

# apt as autopkgtest's setup-testbed leaves it: quiet, no translations, no
# periodic jobs, a few retries. And what costs seconds under emulation:
# - apt-key, a shell script that runs apt-config five times (0.5 s each),
#   only to call gpgv: bk-apt-key calls gpgv itself for signed-by keyrings
#   (the signature is checked exactly as before) and hands anything else to
#   the real apt-key;
# - dpkg-preconfigure (perl and Debconf, 2.4 s), which does nothing without
#   apt-utils;
# - dpkg --print-foreign-architectures, asked five times per install.
arch=$(chroot "$root" dpkg --print-architecture)
cat >"$root/etc/apt/apt.conf.d/90buildkit" <<APT
Acquire::Languages "none";
Acquire::Retries "3";
APT::Periodic::Enable "0";
APT::Architectures { "$arch"; };
Dpkg::Use-Pty "0";
Dir::Bin::apt-key "/usr/lib/git-buildkit/bk-apt-key";
// The overlay is thrown away: no fsync per file.
DPkg::Options { "--force-unsafe-io"; };
APT
rm -f "$root/etc/apt/apt.conf.d/70debconf"

# A fixed machine id: systemd then skips its first-boot work.
chroot "$root" systemd-machine-id-setup >/dev/null 2>&1 || true
# The initrd mounts the root read-write: nothing in fstab to wait for.
: >"$root/etc/fstab"

# The runner: bk-init is PID 1 in fast mode; bk-job.service runs the same
# job under systemd when the kernel command line says bk.mode=systemd.
install -d "$root/usr/lib/git-buildkit"
install -m 0755 "$build/guest/bk-init" "$build/guest/bk-run" "$build/guest/bk-apt-key" \
    "$root/usr/lib/git-buildkit/"
install -m 0644 "$build/guest/bk-job.service" "$root/etc/systemd/system/bk-job.service"
ln -sf /etc/systemd/system/bk-job.service "$root/etc/systemd/system/multi-user.target.wants/bk-job.service"
# Nothing should wait for a login on the consoles the runner owns, and the
# systemd mode boots only what a package's service needs: each unit and
# generator started under emulation costs a fraction of a second. udev's
# coldplug alone holds sysinit.target back by seconds; the devices are in
# /dev (devtmpfs) without it.
ln -sf /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
for unit in serial-getty@ttyS0.service serial-getty@ttyS1.service getty@tty1.service \
    systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
    modprobe@.service systemd-journal-flush.service systemd-random-seed.service \
    systemd-update-utmp.service systemd-sysusers.service systemd-binfmt.service \
    sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer \
    logrotate.timer systemd-tmpfiles-clean.timer getty-static.service \
    systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
    systemd-udevd-kernel.socket; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# Generators for what a test bed has not (boot loaders, encrypted disks,
# fstab, gettys); the SysV one stays, for packages that ship init scripts.
for generator in "$root"/lib/systemd/system-generators/*; do
    case $(basename "$generator") in
        systemd-sysv-generator | systemd-run-generator) ;;
        *) rm -f "$generator" ;;
    esac
done

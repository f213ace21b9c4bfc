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
printf '/dev/vda / ext4 rw,noatime 0 1\n' >"$root/etc/fstab"

# apt as autopkgtest's setup-testbed leaves it: quiet, no translations, no
# periodic jobs, a few retries.
cat >"$root/etc/apt/apt.conf.d/90buildkit" <<'APT'
Acquire::Languages "none";
Acquire::Retries "3";
APT::Periodic::Enable "0";
Dpkg::Use-Pty "0";
// The overlay is thrown away: no fsync per file.
DPkg::Options { "--force-unsafe-io"; };
APT

# The runner: bk-init is PID 1 in fast mode; bk-job.service runs the same
# job under systemd when the kernel command line says bk.mode=systemd.
install -d "$root/usr/lib/git-buildkit"
install -m 0755 "$build/guest/bk-init" "$build/guest/bk-run" "$root/usr/lib/git-buildkit/"
install -m 0644 "$build/guest/bk-job.service" "$root/etc/systemd/system/bk-job.service"
ln -sf /etc/systemd/system/bk-job.service "$root/etc/systemd/system/multi-user.target.wants/bk-job.service"
# Nothing should wait for a login on the consoles the runner owns.
for unit in serial-getty@ttyS0.service serial-getty@ttyS1.service getty@tty1.service \
    systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

//! The qemu command line, built by one pure function from a [`Boot`]
//! description so that every option is unit-tested, and the choice between
//! KVM and software emulation.
//!
//! Why these options: direct kernel boot (no firmware, no bootloader) with
//! the uncompressed kernel when there is one (PVH entry, about 2 s faster per
//! boot under emulation); `pc`, never `microvm`, under TCG (microvm hangs
//! calibrating the TSC there); the first serial port is the kernel console
//! (a FIFO the host copies into a capped log file), the second carries the
//! job's output and framed results to our stdout; user networking with
//! `restrict=on`, whose only way out is a `guestfwd` that starts
//! `git-buildkit vm serve-guest` per connection, so no host port is opened
//! and parallel runs cannot collide; `-pidfile` in the run directory, so
//! the next run can find and end a qemu whose git-buildkit was killed.
//!
//! Quoting: an option value goes through qemu's option parser, which ends a
//! value at a single comma and reads `,,` as one comma; the `cmd:` of a
//! guestfwd then goes through libslirp's `g_shell_parse_argv` (shell-like
//! quotes, no shell is run). So every word of the command is single-quoted
//! for GLib and then every comma doubled for qemu ([`guestfwd_command`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::VmError;

/// The address the guest reaches the repository at (port 80).
pub const REPO_ADDRESS: &str = "10.0.2.100";
/// The address the guest reaches the caching apt proxy at (port 80).
pub const PROXY_ADDRESS: &str = "10.0.2.101";

/// One way out of the guest: its TCP connections to `address:80` each
/// start `command` (program first) with the connection on stdin/stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFwd {
    /// The guest-side address ([`REPO_ADDRESS`], [`PROXY_ADDRESS`]).
    pub address: &'static str,
    /// The command, program first.
    pub command: Vec<String>,
}

/// A guest TCP port reachable from the host at `127.0.0.1:host` (and from
/// nowhere else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Forward {
    /// The host port on 127.0.0.1.
    pub host: u16,
    /// The guest port.
    pub guest: u16,
}

impl Forward {
    /// Parses `HOST:GUEST` (two ports, 1 to 65535).
    pub fn parse(text: &str) -> Result<Self, VmError> {
        let bad = |reason| VmError::BadForward {
            text: text.to_owned(),
            reason,
        };
        let (host, guest) = text
            .split_once(':')
            .ok_or_else(|| bad("write HOST:GUEST, e.g. 8080:80"))?;
        // Digits only: no sign, no leading zero, no spaces.
        let port = |word: &str| match word.parse::<u16>() {
            Ok(port)
                if port > 0
                    && word.bytes().all(|b| b.is_ascii_digit())
                    && !word.starts_with('0') =>
            {
                Ok(port)
            }
            _ => Err(bad("a port is a number from 1 to 65535")),
        };
        Ok(Self {
            host: port(host)?,
            guest: port(guest)?,
        })
    }

    /// Checks that no two forwards share a host port and that each host
    /// port is free on 127.0.0.1 now (by binding it briefly: qemu binds it
    /// for real when it starts).
    pub fn check_free(forwards: &[Forward]) -> Result<(), VmError> {
        for (i, forward) in forwards.iter().enumerate() {
            if forwards[..i].iter().any(|f| f.host == forward.host) {
                return Err(VmError::BadForward {
                    text: format!("{}:{}", forward.host, forward.guest),
                    reason: "its host port is forwarded twice",
                });
            }
            std::net::TcpListener::bind(("127.0.0.1", forward.host)).map_err(|source| {
                VmError::PortBusy {
                    port: forward.host,
                    source,
                }
            })?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "127.0.0.1:{} -> guest port {}", self.host, self.guest)
    }
}

/// How the guest's CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// qemu's software emulation.
    Tcg,
}

impl Accel {
    /// The name used in output and results.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    /// How much slower than KVM the tool's own waits (boot, install) are
    /// allowed to be: software emulation is roughly ten times slower.
    pub fn time_factor(self) -> u32 {
        match self {
            Accel::Kvm => 1,
            Accel::Tcg => 6,
        }
    }
}

/// What the guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestMode {
    /// A tiny init runs the job: no systemd, services are not started.
    Fast,
    /// A full systemd boot; the job runs as a unit.
    Systemd,
}

impl GuestMode {
    /// The name used in configuration, output and results.
    pub fn name(self) -> &'static str {
        match self {
            GuestMode::Fast => "fast",
            GuestMode::Systemd => "systemd",
        }
    }
}

/// What to do with the guest's job port (the second serial port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Console {
    /// Run a job: the kernel console goes to the FIFO `pipe` + `.out`
    /// (qemu's `pipe` chardev; it reads `pipe` + `.in`), the job port to
    /// stdout.
    Job {
        /// The FIFOs' common path, without `.in`/`.out`.
        pipe: PathBuf,
    },
    /// An interactive root shell on the first serial port, on our terminal
    /// (Ctrl-A X quits qemu).
    Shell,
    /// A kept run's job: as [`Console::Job`], but the job port is a unix
    /// socket that qemu serves (and waits for a first client on before the
    /// guest starts), so that qemu can outlive us and `vm exec` can connect
    /// to the guest later.
    Kept {
        /// The FIFOs' common path, without `.in`/`.out`.
        pipe: PathBuf,
        /// The job port's socket.
        socket: PathBuf,
    },
}

/// Everything one boot needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// The accelerator.
    pub accel: Accel,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// The kernel: an uncompressed vmlinux (PVH) or a bzImage.
    pub kernel: PathBuf,
    /// The initrd.
    pub initrd: PathBuf,
    /// The throw-away qcow2 overlay of the base image (the guest's root).
    pub overlay: PathBuf,
    /// The read-only job disk, if any.
    pub job_disk: Option<PathBuf>,
    /// The guest mode.
    pub mode: GuestMode,
    /// Where the consoles go.
    pub console: Console,
    /// The guest's ways out; none (and no forwards) leaves it without a
    /// network.
    pub guestfwds: Vec<GuestFwd>,
    /// Guest ports reachable from the host's loopback.
    pub forwards: Vec<Forward>,
    /// Where qemu writes its process id.
    pub pidfile: Option<PathBuf>,
    /// A boot that saves the idle guest or restores it (see
    /// [`super::warm`]), with qemu's QMP socket.
    pub warm: Option<WarmBoot>,
}

/// How a warm boot differs from a cold one. Saving and restoring need the
/// same devices: the two command lines differ only in backends (files,
/// sockets, the network's ways out) and `-incoming`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmBoot {
    /// Saving or restoring.
    pub role: WarmRole,
    /// qemu's QMP socket.
    pub qmp: PathBuf,
}

/// What a warm boot does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmRole {
    /// Boots cold; the guest stops at its handshake, where it is saved.
    Save,
    /// Waits for the saved state (`-incoming defer`, then QMP).
    Restore,
}

/// The init the fast mode runs as PID 1.
pub const FAST_INIT: &str = "/usr/lib/git-buildkit/bk-init";

/// The kernel command line of a boot.
pub fn kernel_cmdline(boot: &Boot) -> String {
    let mut words = vec![
        "console=ttyS0",
        "root=/dev/vda",
        "rw",
        "panic=-1",
        "quiet",
        "loglevel=4",
        "net.ifnames=0",
        "random.trust_cpu=on",
        "mitigations=off",
        // The crypto self-tests take about a second under emulation.
        "cryptomgr.notests",
    ];
    if boot.accel == Accel::Tcg {
        // Under emulation, ACPI interrupt-link setup costs about 0.3 s per
        // PCI device; the `pc` machine's routing table serves as well.
        words.push("pci=noacpi");
    }
    match boot.mode {
        GuestMode::Fast => words.push("init=/usr/lib/git-buildkit/bk-init"),
        GuestMode::Systemd => {
            words.extend(["bk.mode=systemd", "systemd.show_status=0"]);
        }
    }
    if boot.console == Console::Shell {
        words.push("bk.shell");
    }
    if boot.warm.is_some() {
        // The guest waits for the host's go line before it mounts the job
        // disk (the initrd leaves it alone).
        words.push("bk.warm");
    }
    words.join(" ")
}

/// The argv after the program name. Fails when a path or the serve
/// command is not UTF-8 (qemu's option values are text).
pub fn qemu_args(boot: &Boot) -> Result<Vec<OsString>, VmError> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
    push(&["-nodefaults", "-no-user-config", "-display", "none"]);
    push(&["-no-reboot"]);
    if boot.warm.is_some() {
        // A device that cannot be migrated fails here, not at the save.
        push(&["-only-migratable"]);
    }
    match boot.accel {
        Accel::Kvm => push(&["-accel", "kvm", "-machine", "q35", "-cpu", "host"]),
        // A bigger translation cache than the default costs memory and
        // gains nothing for a boot this short.
        Accel::Tcg => push(&["-accel", "tcg,tb-size=256", "-machine", "pc"]),
    }
    let memory = boot.memory_mib.to_string();
    let cpus = boot.cpus.to_string();
    push(&["-m", &memory, "-smp", &cpus]);
    let kernel = os(&boot.kernel);
    let initrd = os(&boot.initrd);
    args.extend([
        "-kernel".into(),
        kernel,
        "-initrd".into(),
        initrd,
        "-append".into(),
        kernel_cmdline(boot).into(),
    ]);
    args.push("-drive".into());
    args.push(drive(
        &boot.overlay,
        "format=qcow2,if=virtio,cache=unsafe,discard=unmap",
    )?);
    if let Some(job) = &boot.job_disk {
        args.push("-drive".into());
        args.push(drive(job, "format=raw,if=virtio,readonly=on")?);
    }
    args.extend(["-device".into(), "virtio-rng-pci".into()]);
    if boot.warm.is_some() {
        // A new generation id on each restore: the guest kernel reseeds
        // its random number generator instead of repeating the saved one.
        args.extend(["-device".into(), "vmgenid".into()]);
    }
    args.extend(console_args(&boot.console)?);
    // A saved guest has its network card whatever the run needs.
    if boot.guestfwds.is_empty() && boot.forwards.is_empty() && boot.warm.is_none() {
        args.extend(["-nic".into(), "none".into()]);
    } else {
        args.extend([
            "-netdev".into(),
            netdev(boot).into(),
            "-device".into(),
            "virtio-net-pci,netdev=net0".into(),
        ]);
    }
    if let Some(pidfile) = &boot.pidfile {
        args.extend(["-pidfile".into(), os(pidfile)]);
    }
    if let Some(warm) = &boot.warm {
        args.extend([
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", option_text(&warm.qmp)?).into(),
        ]);
        if warm.role == WarmRole::Restore {
            args.extend(["-incoming".into(), "defer".into()]);
        }
    }
    Ok(args)
}

/// The serial ports (and, for a shell, the monitor) of a console choice.
fn console_args(console: &Console) -> Result<Vec<OsString>, VmError> {
    let mut args: Vec<OsString> = Vec::new();
    match console {
        Console::Job { pipe } => {
            args.extend([
                "-chardev".into(),
                format!("pipe,id=con,path={}", option_text(pipe)?).into(),
                "-serial".into(),
                "chardev:con".into(),
            ]);
            args.extend([
                "-chardev".into(),
                "stdio,id=job,signal=off".into(),
                "-serial".into(),
                "chardev:job".into(),
            ]);
        }
        Console::Kept { pipe, socket } => {
            args.extend([
                "-chardev".into(),
                format!("pipe,id=con,path={}", option_text(pipe)?).into(),
                "-serial".into(),
                "chardev:con".into(),
                "-chardev".into(),
                format!(
                    "socket,id=job,path={},server=on,wait=on",
                    option_text(socket)?
                )
                .into(),
                "-serial".into(),
                "chardev:job".into(),
            ]);
        }
        Console::Shell => {
            args.extend([
                "-chardev".into(),
                "stdio,id=con,mux=on,signal=off".into(),
                "-serial".into(),
                "chardev:con".into(),
                "-mon".into(),
                "chardev=con,mode=readline".into(),
            ]);
        }
    }
    Ok(args)
}

/// The user-mode network: `restrict=on` (the guest reaches nothing but
/// its guestfwds), each host forward bound to 127.0.0.1 only.
fn netdev(boot: &Boot) -> String {
    let mut value = "user,id=net0,restrict=on,ipv6=off".to_owned();
    for fwd in &boot.guestfwds {
        value.push_str(&format!(
            ",guestfwd=tcp:{}:80-cmd:{}",
            fwd.address,
            guestfwd_command(&fwd.command)
        ));
    }
    for forward in &boot.forwards {
        value.push_str(&format!(
            ",hostfwd=tcp:127.0.0.1:{}-:{}",
            forward.host, forward.guest
        ));
    }
    value
}

/// The `cmd:` of a guestfwd as it goes into a qemu option value: each word
/// single-quoted for `g_shell_parse_argv` (a `'` inside becomes `'\''`, as
/// in sh), then each comma doubled for qemu's option parser.
pub fn guestfwd_command(words: &[String]) -> String {
    words
        .iter()
        .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(',', ",,")
}

fn os(path: &Path) -> OsString {
    path.as_os_str().to_owned()
}

/// A path inside a qemu option value: text, with its commas doubled.
fn option_text(path: &Path) -> Result<String, VmError> {
    let text = path.to_str().ok_or_else(|| VmError::UnsafeServeArgument {
        word: path.display().to_string(),
    })?;
    Ok(text.replace(',', ",,"))
}

/// A `-drive` value; qemu doubles commas in file names.
fn drive(path: &Path, options: &str) -> Result<OsString, VmError> {
    Ok(format!("file={},{options}", option_text(path)?).into())
}

/// Why KVM cannot be used here, or `None` when it looks usable.
///
/// `/dev/kvm` existing is not enough: on a host that is itself a PVM guest
/// (`kvm_pvm`), `/dev/kvm` opens and VMs start, but a stock kernel hangs or
/// crashes. So KVM needs the CPU flag, a read-write `/dev/kvm`, and no
/// `kvm_pvm` module; the caller still watches the first boot for output.
pub fn kvm_unusable_reason() -> Option<String> {
    kvm_unusable_reason_in(Path::new("/"))
}

fn kvm_unusable_reason_in(root: &Path) -> Option<String> {
    let dev = root.join("dev/kvm");
    if !dev.exists() {
        return Some("/dev/kvm does not exist".into());
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&dev)
        .is_err()
    {
        return Some("/dev/kvm is not readable and writable by this user".into());
    }
    if root.join("sys/module/kvm_pvm").exists() {
        return Some("/dev/kvm is kvm_pvm, which only runs PVM-enlightened guest kernels".into());
    }
    let cpuinfo = std::fs::read_to_string(root.join("proc/cpuinfo")).unwrap_or_default();
    let has_flag = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    if !has_flag {
        return Some("the CPU shows neither vmx nor svm (no hardware virtualisation)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn boot() -> Boot {
        Boot {
            accel: Accel::Tcg,
            memory_mib: 512,
            cpus: 1,
            kernel: "/c/img/vmlinux".into(),
            initrd: "/c/img/initrd.img".into(),
            overlay: "/c/runs/r1/root.qcow2".into(),
            job_disk: Some("/c/runs/r1/job.img".into()),
            mode: GuestMode::Fast,
            console: Console::Job {
                pipe: "/c/runs/r1/console".into(),
            },
            guestfwds: vec![GuestFwd {
                address: REPO_ADDRESS,
                command: vec![
                    "/usr/bin/git-buildkit".into(),
                    "vm".into(),
                    "serve-guest".into(),
                    "--run-dir".into(),
                    "/c/runs/r1".into(),
                    "/srv/repo".into(),
                ],
            }],
            forwards: Vec::new(),
            pidfile: Some("/c/runs/r1/qemu.pid".into()),
            warm: None,
        }
    }

    fn text(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn tcg_fast_job_with_the_repository() {
        let args = text(&qemu_args(&boot()).expect("args"));
        assert_eq!(
            args,
            [
                "-nodefaults",
                "-no-user-config",
                "-display",
                "none",
                "-no-reboot",
                "-accel",
                "tcg,tb-size=256",
                "-machine",
                "pc",
                "-m",
                "512",
                "-smp",
                "1",
                "-kernel",
                "/c/img/vmlinux",
                "-initrd",
                "/c/img/initrd.img",
                "-append",
                "console=ttyS0 root=/dev/vda rw panic=-1 quiet loglevel=4 net.ifnames=0 \
                 random.trust_cpu=on mitigations=off cryptomgr.notests pci=noacpi \
                 init=/usr/lib/git-buildkit/bk-init",
                "-drive",
                "file=/c/runs/r1/root.qcow2,format=qcow2,if=virtio,cache=unsafe,discard=unmap",
                "-drive",
                "file=/c/runs/r1/job.img,format=raw,if=virtio,readonly=on",
                "-device",
                "virtio-rng-pci",
                "-chardev",
                "pipe,id=con,path=/c/runs/r1/console",
                "-serial",
                "chardev:con",
                "-chardev",
                "stdio,id=job,signal=off",
                "-serial",
                "chardev:job",
                "-netdev",
                "user,id=net0,restrict=on,ipv6=off,guestfwd=tcp:10.0.2.100:80-cmd:\
                 '/usr/bin/git-buildkit' 'vm' 'serve-guest' '--run-dir' '/c/runs/r1' '/srv/repo'",
                "-device",
                "virtio-net-pci,netdev=net0",
                "-pidfile",
                "/c/runs/r1/qemu.pid",
            ]
        );
    }

    #[test]
    fn a_proxy_and_forwards_share_the_restricted_network() {
        let mut b = boot();
        b.guestfwds.push(GuestFwd {
            address: PROXY_ADDRESS,
            command: vec!["/usr/bin/git-buildkit".into(), "proxy".into()],
        });
        b.forwards = vec![Forward {
            host: 8080,
            guest: 80,
        }];
        let args = text(&qemu_args(&b).expect("args"));
        let netdev = args
            .iter()
            .find(|a| a.starts_with("user,"))
            .expect("netdev");
        assert!(
            netdev.starts_with("user,id=net0,restrict=on,ipv6=off,"),
            "{netdev}"
        );
        assert!(
            netdev.contains(",guestfwd=tcp:10.0.2.101:80-cmd:'/usr/bin/git-buildkit' 'proxy'"),
            "{netdev}"
        );
        assert!(
            netdev.ends_with(",hostfwd=tcp:127.0.0.1:8080-:80"),
            "{netdev}"
        );
        // Forwards alone still need the network device.
        b.guestfwds.clear();
        let args = text(&qemu_args(&b).expect("args"));
        assert!(!args.contains(&"-nic".to_owned()), "{args:?}");
    }

    #[test]
    fn a_kept_job_port_is_a_socket_qemu_waits_on() {
        let mut b = boot();
        b.console = Console::Kept {
            pipe: "/c/runs/r1/console".into(),
            socket: "/c/runs/a,b/job.sock".into(),
        };
        let args = text(&qemu_args(&b).expect("args"));
        let at = args
            .iter()
            .position(|a| a == "pipe,id=con,path=/c/runs/r1/console");
        let at = at.expect("console");
        assert_eq!(
            args[at..at + 6],
            [
                "pipe,id=con,path=/c/runs/r1/console",
                "-serial",
                "chardev:con",
                "-chardev",
                "socket,id=job,path=/c/runs/a,,b/job.sock,server=on,wait=on",
                "-serial",
            ]
        );
        assert!(!args.iter().any(|a| a.starts_with("stdio")), "{args:?}");
    }

    #[test]
    fn forwards_parse_and_a_busy_port_is_named() {
        assert_eq!(
            Forward::parse("8080:80").expect("ok"),
            Forward {
                host: 8080,
                guest: 80
            }
        );
        assert_eq!(
            Forward::parse("65535:1").expect("ok"),
            Forward {
                host: 65535,
                guest: 1
            }
        );
        for bad in [
            "8080", "0:80", "8080:0", "65536:80", "a:80", ":80", "80:", "-1:80", "+80:80",
            "080:80", "1:2:3", " 80:80",
        ] {
            let error = Forward::parse(bad).expect_err(bad);
            assert!(
                matches!(error, VmError::BadForward { .. }),
                "{bad}: {error}"
            );
        }
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let error = Forward::check_free(&[Forward {
            host: port,
            guest: 80,
        }])
        .expect_err("busy");
        assert_eq!(
            error.to_string(),
            format!("port {port} on 127.0.0.1 is busy: it cannot forward to the guest")
        );
        drop(taken);
        Forward::check_free(&[Forward {
            host: port,
            guest: 80,
        }])
        .expect("free again");
        let twice = [
            Forward {
                host: port,
                guest: 80,
            },
            Forward {
                host: port,
                guest: 81,
            },
        ];
        assert!(matches!(
            Forward::check_free(&twice),
            Err(VmError::BadForward { .. })
        ));
    }

    #[test]
    fn kvm_systemd_and_no_network() {
        let mut b = boot();
        b.accel = Accel::Kvm;
        b.mode = GuestMode::Systemd;
        b.guestfwds.clear();
        b.cpus = 2;
        let args = text(&qemu_args(&b).expect("args"));
        let at = |flag: &str| {
            let i = args.iter().position(|a| a == flag).expect(flag);
            args[i + 1].clone()
        };
        assert_eq!(at("-accel"), "kvm");
        assert_eq!(at("-machine"), "q35");
        assert_eq!(at("-cpu"), "host");
        assert_eq!(at("-smp"), "2");
        assert_eq!(at("-nic"), "none");
        assert!(!args.iter().any(|a| a.starts_with("user,")));
        let cmdline = at("-append");
        assert!(
            cmdline.ends_with("bk.mode=systemd systemd.show_status=0"),
            "{cmdline}"
        );
        assert!(!cmdline.contains("init="), "{cmdline}");
        assert!(!cmdline.contains("pci=noacpi"), "{cmdline}");
    }

    #[test]
    fn shell_console_is_muxed_with_the_monitor() {
        let mut b = boot();
        b.console = Console::Shell;
        let args = text(&qemu_args(&b).expect("args"));
        assert!(args.contains(&"stdio,id=con,mux=on,signal=off".to_owned()));
        assert!(args.contains(&"chardev=con,mode=readline".to_owned()));
        assert!(kernel_cmdline(&b).ends_with(" bk.shell"));
        assert!(!args.iter().any(|a| a.starts_with("pipe,")));
    }

    /// What qemu's option parser does to a value: ends it at a single comma
    /// and reads `,,` as one comma. Returns the value and the rest.
    fn qemu_option_value(text: &str) -> (String, &str) {
        let mut value = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == ',' {
                if chars.peek().map(|(_, c)| *c) == Some(',') {
                    chars.next();
                } else {
                    return (value, &text[i + 1..]);
                }
            }
            value.push(c);
        }
        (value, "")
    }

    #[test]
    fn guestfwd_words_survive_qemu_and_glib_parsing() {
        let hostile = [
            "/srv/my repo",
            "/srv/a,b,,c",
            "/srv/it's \"quoted\"",
            "/srv/$HOME `id` ; rm -rf / #",
            "/srv/tab\there\nnewline",
            "",
        ];
        for word in hostile {
            let mut b = boot();
            let words = vec![
                "/opt/git buildkit, 'new'/git-buildkit".to_owned(),
                word.to_owned(),
            ];
            b.guestfwds[0].command = words.clone();
            let args = text(&qemu_args(&b).expect("args"));
            let netdev = args
                .iter()
                .find(|a| a.starts_with("user,"))
                .expect("netdev");
            // qemu: split the -netdev value at single commas.
            let mut rest = netdev.as_str();
            let mut guestfwd = None;
            while !rest.is_empty() {
                let (value, tail) = qemu_option_value(rest);
                if let Some(v) = value.strip_prefix("guestfwd=") {
                    guestfwd = Some(v.to_owned());
                }
                rest = tail;
            }
            let guestfwd = guestfwd.expect("guestfwd");
            let command = guestfwd
                .strip_prefix("tcp:10.0.2.100:80-cmd:")
                .expect("cmd:");
            // libslirp: g_shell_parse_argv, as sh splits words (no shell runs:
            // here sh only prints each word it got, NUL-terminated).
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s\\0' {command}"))
                .output()
                .expect("sh");
            let parsed: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_terminator('\0')
                .map(str::to_owned)
                .collect();
            assert_eq!(parsed, words, "{netdev}");
        }
        let mut b = boot();
        b.overlay = "/c/a,b/root.qcow2".into();
        let args = text(&qemu_args(&b).expect("args"));
        assert!(args.contains(
            &"file=/c/a,,b/root.qcow2,format=qcow2,if=virtio,cache=unsafe,discard=unmap".to_owned()
        ));
    }

    #[test]
    fn kvm_detection_reads_the_host() {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        assert_eq!(
            kvm_unusable_reason_in(r).as_deref(),
            Some("/dev/kvm does not exist")
        );
        std::fs::create_dir_all(r.join("dev")).expect("dev");
        std::fs::write(r.join("dev/kvm"), "").expect("kvm");
        std::fs::create_dir_all(r.join("proc")).expect("proc");
        std::fs::write(r.join("proc/cpuinfo"), "flags\t\t: fpu sse2\n").expect("cpuinfo");
        assert!(kvm_unusable_reason_in(r)
            .expect("no flag")
            .contains("neither vmx nor svm"));
        std::fs::write(r.join("proc/cpuinfo"), "flags\t\t: fpu vmx sse2\n").expect("cpuinfo");
        assert_eq!(kvm_unusable_reason_in(r), None);
        std::fs::create_dir_all(r.join("sys/module/kvm_pvm")).expect("pvm");
        assert!(kvm_unusable_reason_in(r).expect("pvm").contains("kvm_pvm"));
    }
}

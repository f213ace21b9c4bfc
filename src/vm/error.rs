//! What can go wrong building an image or running a VM. Every variant is a
//! test-bed problem (exit 3 in the CLI) except bad input, which is the
//! caller's (exit 2): see [`VmError::exit_code`].

use std::path::PathBuf;

use crate::process::ProcessError;

/// Everything that can go wrong with images and VMs.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// A file operation failed.
    #[error("could not access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A helper program failed.
    #[error("{what} failed")]
    Tool {
        what: String,
        #[source]
        source: ProcessError,
    },
    /// A program the VM needs is not installed.
    #[error("{program} is not installed (it comes with the Debian package {package})")]
    Missing {
        program: &'static str,
        package: &'static str,
    },
    /// No image of that name.
    #[error("there is no VM image named {name:?}")]
    NoImage { name: String },
    /// No image for a suite of the matrix: none named after it, and the
    /// default image is of another suite.
    #[error("there is no VM image for Debian {suite}")]
    NoSuiteImage { suite: String },
    /// The image named after a suite of the matrix holds another suite.
    #[error("the VM image {suite:?} is Debian {actual}, not {suite}")]
    SuiteMismatch { suite: String, actual: String },
    /// A suite listed twice in a matrix.
    #[error("suite {suite:?} is listed twice")]
    DuplicateSuite { suite: String },
    /// No kept run of that id.
    #[error("there is no kept run {id:?}")]
    NoRun { id: String },
    /// The image's directory is damaged.
    #[error("the VM image {name:?} is damaged: {reason}")]
    BadImage { name: String, reason: String },
    /// A name that cannot be a file name.
    #[error("invalid {kind} {name:?}: use letters, digits, '.', '_' and '-'")]
    BadName { kind: &'static str, name: String },
    /// Building an image needs root here.
    #[error("building a VM image needs root (mmdebstrap --mode=root writes the file owners)")]
    NeedsRoot,
    /// The bootstrap produced no usable kernel.
    #[error("the image build found no kernel in {path}")]
    NoKernel { path: PathBuf },
    /// The bootstrap produced no static busybox.
    #[error("the image build found no static busybox in {path} (bin/ or usr/bin/)")]
    NoBusybox { path: PathBuf },
    /// The initrd could not be built.
    #[error("could not build the initrd")]
    Initrd(#[from] super::initrd::InitrdError),
    /// A path or word cannot be passed through qemu's option syntax.
    #[error("{word:?} cannot be passed to qemu: it is not valid UTF-8")]
    UnsafeServeArgument { word: String },
    /// The program the guest's connections would run is gone: the binary
    /// was replaced (rebuilt, upgraded) while this process ran.
    #[error("the running git-buildkit ({path}) was replaced or removed since it started: qemu could not start it for the guest's connections")]
    ServeProgramGone { path: PathBuf },
    /// A `[vm]` value out of range.
    #[error("{what} {value} is out of range ({range})")]
    OutOfRange {
        what: &'static str,
        value: String,
        range: &'static str,
    },
    /// `--accel kvm` where KVM does not work.
    #[error("KVM is not usable here: {reason}")]
    NoKvm { reason: String },
    /// A memory size that does not parse.
    #[error("invalid memory size {text:?} (examples: 512M, 1G)")]
    BadMemory { text: String },
    /// A duration that does not parse.
    #[error("invalid duration {text:?} (examples: 90s, 5m, 1h)")]
    BadDuration { text: String },
    /// A guest mode that does not exist.
    #[error("invalid VM mode {text:?} (fast, systemd or auto)")]
    BadMode { text: String },
    /// Interrupted by a signal.
    #[error("interrupted")]
    Interrupted,
    /// A `--forward` that is not `HOST:GUEST` with ports 1 to 65535.
    #[error("invalid forward {text:?}: {reason}")]
    BadForward { text: String, reason: &'static str },
    /// A forward's host port is taken on 127.0.0.1.
    #[error("port {port} on 127.0.0.1 is busy: it cannot forward to the guest")]
    PortBusy {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// `vm exec` on a kept run whose VM is not running.
    #[error("kept run {id:?} is stopped: its VM no longer runs")]
    RunStopped { id: String },
    /// `vm exec` with more input than the guest is given.
    #[error("stdin is larger than the {max} bytes a command in the guest is given")]
    StdinTooLarge { max: usize },
    /// The guest's exec agent did not take the request.
    #[error("the guest did not answer the request in {seconds}s")]
    NoAnswer { seconds: u64 },
    /// The guest's command ran past its time limit (and was killed).
    #[error("the command did not finish within {seconds}s: it was killed")]
    ExecTimeout { seconds: u64 },
    /// The guest's channel closed mid-request: the VM stopped.
    #[error("the guest's channel closed before the command ended (the VM stopped)")]
    GuestGone,
}

impl VmError {
    /// Advice for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            VmError::NoImage { name } => Some(format!(
                "build it with `git buildkit vm create {name}` (about a minute; cached afterwards)"
            )),
            VmError::NoSuiteImage { suite } => Some(format!(
                "build it with `git buildkit vm create {suite} --suite {suite}` (about a minute; cached afterwards)"
            )),
            VmError::SuiteMismatch { suite, .. } => Some(format!(
                "build the image of that suite under its name: `git buildkit vm create {suite} --suite {suite}`"
            )),
            VmError::Missing { package, .. } => Some(format!("apt-get install {package}")),
            VmError::NoKvm { .. } => {
                Some("use --accel tcg (software emulation) or --accel auto".into())
            }
            VmError::NoRun { .. } => Some(
                "runs are kept only with `vm-test --keep`; `git buildkit vm list` shows them"
                    .into(),
            ),
            VmError::UnsafeServeArgument { .. } => Some(
                "move the repository (or the git-buildkit binary) to a path that is valid UTF-8"
                    .into(),
            ),
            VmError::ServeProgramGone { .. } => {
                Some("run the command again (with the new binary)".into())
            }
            VmError::PortBusy { .. } => {
                Some("choose another host port, or stop what listens there".into())
            }
            VmError::RunStopped { id } => Some(format!(
                "`git buildkit vm shell {id}` boots its overlay again; `git buildkit vm destroy {id}` removes it"
            )),
            VmError::NoAnswer { .. } | VmError::GuestGone => {
                Some("`git buildkit vm list` shows whether the run is still running".into())
            }
            VmError::ExecTimeout { .. } => Some("give it longer with --timeout".into()),
            _ => None,
        }
    }
}

/// Maps an io error at `path`.
pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> VmError + '_ {
    move |source| VmError::Io {
        path: path.to_owned(),
        source,
    }
}

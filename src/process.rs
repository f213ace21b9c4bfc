//! The one way git-buildkit runs a child program. stdin is closed unless
//! given, output is captured (or streamed while its tail is kept), and "could
//! not start", "exited with N", "killed by signal S" and "timed out" are
//! distinct errors.
//!
//! A program that runs other people's code (the build command) can be put
//! in a process group of its own ([`Cmd::own_process_group`]): when it
//! exits, times out ([`Cmd::time_limit`]) or its handle drops, the whole
//! group is killed, so a daemon it left behind neither survives it nor
//! keeps its output pipe open; and a process that left the group still
//! cannot hold the caller: streaming stops reading [`PIPE_GRACE`] after the
//! program ended.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::io::{BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::lines::{LineReader, MAX_LINE};

/// How long streaming keeps reading after the program ended and its
/// process group was killed: enough for the pipe's buffered lines, never
/// forever for a process that escaped the group and holds the pipe open.
pub const PIPE_GRACE: Duration = Duration::from_secs(2);

/// How often a streaming run checks its program and its deadline.
const POLL: Duration = Duration::from_millis(50);

/// How a child program failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started at all.
    #[error("could not start {program}")]
    Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// It ran and exited non-zero.
    #[error("{program} exited with status {code}")]
    Exit {
        program: String,
        code: i32,
        output: String,
    },
    /// It was killed by a signal.
    #[error("{program} was killed by signal {signal}")]
    Signal {
        program: String,
        signal: i32,
        output: String,
    },
    /// It ran past its time limit and was killed (with its process group).
    #[error("{program} timed out after {limit}")]
    Timeout {
        program: String,
        limit: Limit,
        output: String,
    },
    /// Reading its output failed.
    #[error("could not read the output of {program}")]
    Output {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

impl ProcessError {
    /// The captured stderr (or the last lines of streamed output).
    pub fn output(&self) -> &str {
        match self {
            ProcessError::Exit { output, .. }
            | ProcessError::Signal { output, .. }
            | ProcessError::Timeout { output, .. } => output,
            _ => "",
        }
    }
}

/// A time limit in whole seconds (a `u32`, so that errors stay small),
/// shown the way a user writes one (`90s`, `5m`, `2h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl From<Duration> for Limit {
    fn from(limit: Duration) -> Self {
        Limit(u32::try_from(limit.as_secs()).unwrap_or(u32::MAX))
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => write!(f, "less than a second"),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// Whether a child gets a process group of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// The caller's group (the default: interactive tools, qemu).
    Inherit,
    /// Its own group, killed whole when the child ends.
    Own,
}

/// A command to run.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    env_removed: Vec<OsString>,
    clear_env: bool,
    input: Option<Vec<u8>>,
    terminal: bool,
    group: Group,
    limit: Option<Duration>,
    label: String,
}

impl Cmd {
    /// A command running `program` (a name looked up in `PATH`, or a path).
    pub fn new(program: impl AsRef<std::ffi::OsStr>) -> Self {
        let program = program.as_ref();
        Self {
            program: program.to_owned(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            env_removed: Vec::new(),
            clear_env: false,
            input: None,
            terminal: false,
            group: Group::Inherit,
            limit: None,
            label: program.to_string_lossy().into_owned(),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_owned());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Removes a variable from the environment the program inherits.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env_removed.push(key.into());
        self
    }

    /// Gives the program `bytes` as its standard input (instead of none),
    /// for [`Cmd::output`], [`Cmd::output_with_code`] and [`Cmd::status`].
    /// They are written from a thread of their own, so a program that reads
    /// nothing cannot block us on a full pipe.
    pub fn input(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.input = Some(bytes.into());
        self
    }

    /// Starts the program with an empty environment: only what [`Cmd::env`]
    /// sets reaches it.
    pub fn env_clear(mut self) -> Self {
        self.clear_env = true;
        self
    }

    /// Runs the program in a process group of its own. Every process left
    /// in that group is killed (SIGKILL) when the program exits, times out
    /// or its handle drops.
    pub fn own_process_group(mut self) -> Self {
        self.group = Group::Own;
        self
    }

    /// The longest [`Cmd::stream`] lets the program run; past it the program
    /// (and its group, see [`Cmd::own_process_group`]) is killed and the
    /// result is [`ProcessError::Timeout`].
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    /// How the command is named in errors (default: the program).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).stdin(if self.terminal {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        if self.clear_env {
            command.env_clear();
        }
        for key in &self.env_removed {
            command.env_remove(key);
        }
        if self.group == Group::Own {
            command.process_group(0);
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    /// Lets the program read the caller's stdin (an editor, `git rebase -i`)
    /// instead of a closed one; for [`Cmd::status`], which also hands it
    /// the terminal's stdout and stderr.
    pub fn terminal(mut self) -> Self {
        self.terminal = true;
        self
    }

    /// Runs to completion and returns stdout; stderr goes into the error.
    pub fn output(&self) -> Result<Vec<u8>, ProcessError> {
        let output = self.captured()?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        self.check(output.status, stderr)?;
        Ok(output.stdout)
    }

    /// Runs to completion and returns (exit code, stdout, stderr) whatever
    /// the code; only a failure to start or a signal is an error.
    pub fn output_with_code(&self) -> Result<(i32, Vec<u8>, String), ProcessError> {
        let output = self.captured()?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        match output.status.code() {
            Some(code) => Ok((code, output.stdout, stderr)),
            None => Err(ProcessError::Signal {
                program: self.label.clone(),
                signal: output.status.signal().unwrap_or(0),
                output: stderr,
            }),
        }
    }

    /// Runs to completion with stdout and stderr inherited (the caller's
    /// terminal, or git's when we run inside a hook) and returns the exit
    /// status whatever it is; only a failure to start or to wait is an error.
    pub fn status(&self) -> Result<ExitStatus, ProcessError> {
        let mut command = self.command();
        command.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        let (mut child, feeder) = self.start(command)?;
        let status = child.wait().map_err(|source| ProcessError::Output {
            program: self.label.clone(),
            source,
        });
        Self::fed(feeder);
        status
    }

    /// Starts the program detached, with the given stdout and stderr, and
    /// returns its process id at once. Unlike [`Cmd::spawn`], nothing kills
    /// it: it is meant to outlive us (a queue worker started by a git hook;
    /// with [`Cmd::own_process_group`], Ctrl-C on the terminal does not
    /// reach it). Any [`Cmd::input`] is ignored: its stdin is null.
    pub fn spawn_detached(&self, stdout: Stdio, stderr: Stdio) -> Result<u32, ProcessError> {
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|source| ProcessError::Start {
                program: self.label.clone(),
                source,
            })?;
        Ok(child.id())
    }

    /// Runs to completion with stdout and stderr captured.
    fn captured(&self) -> Result<std::process::Output, ProcessError> {
        let mut command = self.command();
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (child, feeder) = self.start(command)?;
        let output = child
            .wait_with_output()
            .map_err(|source| ProcessError::Output {
                program: self.label.clone(),
                source,
            });
        Self::fed(feeder);
        output
    }

    /// Spawns `command` and, when the command has [`Cmd::input`], starts a
    /// thread writing it to the child's stdin.
    fn start(
        &self,
        mut command: Command,
    ) -> Result<(Child, Option<std::thread::JoinHandle<()>>), ProcessError> {
        if self.input.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().map_err(|source| ProcessError::Start {
            program: self.label.clone(),
            source,
        })?;
        let feeder = match (child.stdin.take(), &self.input) {
            (Some(mut stdin), Some(input)) => {
                let input = input.clone();
                // A program that exits without reading all of it closes the
                // pipe; that is its business, and its status tells.
                Some(std::thread::spawn(move || {
                    let _ = stdin.write_all(&input);
                }))
            }
            _ => None,
        };
        Ok((child, feeder))
    }

    /// Waits for the stdin feeder (it ends once the child closed its stdin).
    fn fed(feeder: Option<std::thread::JoinHandle<()>>) {
        if let Some(feeder) = feeder {
            // A panic in the feeder lost only the input; the status tells.
            let _ = feeder.join();
        }
    }

    /// Runs to completion, copying stdout and stderr line by line into
    /// `sink`; on failure the error holds the last `tail` lines. Both streams
    /// share one pipe, so their lines keep the order the child wrote them in.
    ///
    /// Lines are read on a thread of their own, so that the time limit holds
    /// while the program is silent, and so that reading stops
    /// [`PIPE_GRACE`] after the program ended even when a process it
    /// started still holds the pipe open.
    ///
    /// Long function: one loop owns the child, the pipe, the deadline and
    /// the grace period; split, their state would be passed around between
    /// pieces that only make sense together.
    pub fn stream(&self, sink: &mut (dyn Write + Send), tail: usize) -> Result<(), ProcessError> {
        let output_err = |source| ProcessError::Output {
            program: self.label.clone(),
            source,
        };
        let (reader, writer) = std::io::pipe().map_err(output_err)?;
        let writer_err = writer.try_clone().map_err(output_err)?;
        let mut command = self.command();
        command.stdout(writer).stderr(writer_err);
        let child = command.spawn().map_err(|source| ProcessError::Start {
            program: self.label.clone(),
            source,
        })?;
        // The parent's copies of the write end are gone with `command`, so
        // the reader sees end-of-file when the child (and its children) exit.
        drop(command);
        let mut running = Running {
            child,
            label: self.label.clone(),
            reaped: false,
            group: self.group,
        };
        let (sender, lines_in) = mpsc::channel();
        // Detached on purpose: it ends at end-of-file, or stays blocked on a
        // pipe an escaped process holds open, which must not block us.
        std::thread::spawn(move || {
            // Bounded lines: a program printing without a newline must not
            // grow our memory (the build runs other people's code).
            let mut reader = LineReader::new(BufReader::new(reader), MAX_LINE);
            loop {
                let line = reader.next_line().transpose();
                let done = !matches!(line, Some(Ok(_)));
                if let Some(line) = line {
                    if sender.send(line.map(|l| l.shown())).is_err() {
                        break;
                    }
                }
                if done {
                    break;
                }
            }
        });
        let deadline = self.limit.and_then(|l| Instant::now().checked_add(l));
        let mut lines = VecDeque::with_capacity(tail);
        let mut keep = |line: String| {
            // A closed terminal must not fail the build.
            let _ = writeln!(sink, "{line}");
            if lines.len() == tail {
                lines.pop_front();
            }
            lines.push_back(line);
        };
        let mut pipe_open = true;
        let mut ended: Option<(ExitStatus, Instant)> = None;
        loop {
            if pipe_open {
                match lines_in.recv_timeout(POLL) {
                    Ok(Ok(line)) => keep(line),
                    Ok(Err(e)) => return Err(output_err(e)),
                    Err(RecvTimeoutError::Disconnected) => pipe_open = false,
                    Err(RecvTimeoutError::Timeout) => {}
                }
            } else if ended.is_none() {
                std::thread::sleep(POLL);
            }
            match ended {
                Some((_, at)) if !pipe_open || at.elapsed() >= PIPE_GRACE => break,
                Some(_) => {}
                None => {
                    if let Some(status) = running.exited()? {
                        ended = Some((status, Instant::now()));
                    } else if deadline.is_some_and(|d| Instant::now() >= d) {
                        running.kill();
                        return Err(ProcessError::Timeout {
                            program: self.label.clone(),
                            limit: Limit::from(self.limit.unwrap_or_default()),
                            output: lines.into_iter().collect::<Vec<_>>().join("\n"),
                        });
                    }
                }
            }
        }
        let status = ended.map_or_else(|| running.wait(), |(status, _)| Ok(status))?;
        self.check(status, lines.into_iter().collect::<Vec<_>>().join("\n"))
    }

    /// Starts the program with the given stdin, stdout and stderr and
    /// returns at once. The handle kills the child when dropped, so an early
    /// return, a panic or an interrupted caller never leaves it running.
    pub fn spawn(
        &self,
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Running, ProcessError> {
        let child = self
            .command()
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|source| ProcessError::Start {
                program: self.label.clone(),
                source,
            })?;
        Ok(Running {
            child,
            label: self.label.clone(),
            reaped: false,
            group: self.group,
        })
    }

    fn check(&self, status: ExitStatus, output: String) -> Result<(), ProcessError> {
        match (status.code(), status.signal()) {
            (Some(0), _) => Ok(()),
            (Some(code), _) => Err(ProcessError::Exit {
                program: self.label.clone(),
                code,
                output,
            }),
            (None, signal) => Err(ProcessError::Signal {
                program: self.label.clone(),
                signal: signal.unwrap_or(0),
                output,
            }),
        }
    }
}

/// A started child program (see [`Cmd::spawn`]), killed when dropped
/// (with its process group, when it has its own).
#[derive(Debug)]
pub struct Running {
    child: Child,
    label: String,
    reaped: bool,
    group: Group,
}

impl Running {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its stdin, when it was piped (once).
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// Its stdout, when it was piped (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Its stderr, when it was piped (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The exit status if it has ended, without waiting.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, ProcessError> {
        let status = self
            .child
            .try_wait()
            .map_err(|source| ProcessError::Output {
                program: self.label.clone(),
                source,
            })?;
        self.reaped |= status.is_some();
        Ok(status)
    }

    /// Waits for it to end.
    pub fn wait(&mut self) -> Result<ExitStatus, ProcessError> {
        let status = self.child.wait().map_err(|source| ProcessError::Output {
            program: self.label.clone(),
            source,
        })?;
        self.reaped = true;
        Ok(status)
    }

    /// Kills it (SIGKILL) and reaps it; a child that already ended is fine.
    /// A child with its own process group is killed with the whole group.
    pub fn kill(&mut self) {
        if !self.reaped {
            self.kill_group();
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.reaped = true;
        }
    }

    /// Once the child has ended: its exit status, after every process left
    /// in its group was killed. The child stays a zombie until then, so its
    /// id (the group's) cannot be reused by an unrelated process meanwhile.
    fn exited(&mut self) -> Result<Option<ExitStatus>, ProcessError> {
        if self.group == Group::Own && !self.reaped {
            let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
            match waitid(Id::Pid(pid), flags) {
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(_) => self.kill_group(),
                Err(errno) => {
                    return Err(ProcessError::Output {
                        program: self.label.clone(),
                        source: errno.into(),
                    })
                }
            }
        }
        self.try_wait()
    }

    /// SIGKILL to the child's own process group; nothing for a child in the
    /// caller's group, and an empty group is fine.
    fn kill_group(&self) {
        if self.group == Group::Own && !self.reaped {
            if let Ok(pid) = i32::try_from(self.child.id()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_signals_are_distinct() {
        let ok = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .output()
            .expect("runs");
        assert_eq!(ok, b"out\n");
        let err = Cmd::new("sh")
            .args(["-c", "echo bad >&2; exit 3"])
            .output()
            .expect_err("fails");
        assert!(
            matches!(&err, ProcessError::Exit { code: 3, output, .. } if output == "bad\n"),
            "{err:?}"
        );
        let err = Cmd::new("sh")
            .args(["-c", "kill -9 $$"])
            .output()
            .expect_err("killed");
        assert!(
            matches!(err, ProcessError::Signal { signal: 9, .. }),
            "{err:?}"
        );
        let err = Cmd::new("/nonexistent/program")
            .output()
            .expect_err("missing");
        assert!(matches!(err, ProcessError::Start { .. }), "{err:?}");
    }

    #[test]
    fn input_reaches_stdin_and_a_program_may_ignore_it() {
        let out = Cmd::new("sh")
            .args(["-c", "tr a-z A-Z"])
            .input("hello\n")
            .output()
            .expect("runs");
        assert_eq!(out, b"HELLO\n");
        // More than a pipe holds, to a program that reads none of it.
        let (code, _, _) = Cmd::new("sh")
            .args(["-c", "exit 4"])
            .input(vec![b'x'; 1 << 20])
            .output_with_code()
            .expect("runs");
        assert_eq!(code, 4);
    }

    #[test]
    fn status_returns_any_exit_status_and_env_remove_removes() {
        let status = Cmd::new("sh")
            .args([
                "-c",
                "test -z \"$HOME\" && read line && test \"$line\" = in && exit 5",
            ])
            .env_remove("HOME")
            .input("in\n")
            .status()
            .expect("runs");
        assert_eq!(status.code(), Some(5));
        let err = Cmd::new("/nonexistent/program")
            .status()
            .expect_err("missing");
        assert!(matches!(err, ProcessError::Start { .. }), "{err:?}");
    }

    #[test]
    fn a_detached_child_outlives_the_call() {
        let pid = Cmd::new("sleep")
            .arg("60")
            .own_process_group()
            .spawn_detached(Stdio::null(), Stdio::null())
            .expect("starts");
        assert!(alive(&pid.to_string()), "the detached child {pid} is gone");
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }

    #[test]
    fn a_dropped_child_is_killed() {
        let running = Cmd::new("sleep")
            .arg("60")
            .spawn(Stdio::null(), Stdio::null(), Stdio::null())
            .expect("starts");
        let proc_dir = PathBuf::from(format!("/proc/{}", running.id()));
        assert!(proc_dir.exists());
        drop(running);
        assert!(!proc_dir.exists(), "the child is gone once reaped");
    }

    /// Whether a process id is still a live process (not a zombie) a
    /// second after a kill (a SIGKILLed process takes a moment to exit).
    fn alive(pid: &str) -> bool {
        let live = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z')))
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        while live() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        live()
    }

    #[test]
    fn a_time_limit_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let started = Instant::now();
        let err = Cmd::new("sh")
            .args([
                "-c",
                "sleep 300 & echo $! > \"$1\"; echo waiting; wait",
                "sh",
            ])
            .arg(&pid_file)
            .own_process_group()
            .time_limit(Duration::from_secs(1))
            .label("`sleeper`")
            .stream(&mut Vec::new(), 5)
            .expect_err("times out");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(err.to_string(), "`sleeper` timed out after 1s");
        assert_eq!(err.output(), "waiting");
        let pid = std::fs::read_to_string(&pid_file).expect("pid");
        assert!(!alive(pid.trim()), "the background sleep {pid} survived");
    }

    #[test]
    fn a_daemon_left_behind_is_killed_and_does_not_hold_the_stream() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let started = Instant::now();
        let mut sink = Vec::new();
        Cmd::new("sh")
            .args(["-c", "sleep 300 & echo $! > \"$1\"; echo done", "sh"])
            .arg(&pid_file)
            .own_process_group()
            .stream(&mut sink, 5)
            .expect("succeeds");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(sink, b"done\n");
        let pid = std::fs::read_to_string(&pid_file).expect("pid");
        assert!(!alive(pid.trim()), "the daemon {pid} survived");
    }

    #[test]
    fn a_process_that_left_the_group_cannot_hold_the_stream() {
        let started = Instant::now();
        let mut sink = Vec::new();
        // setsid puts the sleep out of reach of the group kill; it keeps the
        // pipe open, and streaming still returns after the grace period.
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        Cmd::new("sh")
            .args([
                "-c",
                "setsid sh -c 'echo $$ > \"$1\"; exec sleep 30' sh \"$1\" & sleep 0.2; echo done",
                "sh",
            ])
            .arg(&pid_file)
            .own_process_group()
            .stream(&mut sink, 5)
            .expect("succeeds");
        let elapsed = started.elapsed();
        assert!(
            elapsed >= PIPE_GRACE && elapsed < PIPE_GRACE + Duration::from_secs(2),
            "{elapsed:?}"
        );
        assert_eq!(sink, b"done\n");
        let pid = std::fs::read_to_string(&pid_file).expect("pid");
        let _ = std::process::Command::new("kill")
            .args(["-9", pid.trim()])
            .status();
    }

    #[test]
    fn limits_read_as_written() {
        let shown: Vec<String> = [2, 90, 120, 1800, 7200]
            .map(|s| Limit::from(Duration::from_secs(s)).to_string())
            .into();
        assert_eq!(shown, ["2s", "90s", "2m", "30m", "2h"]);
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut sink = Vec::new();
        let err = Cmd::new("sh")
            .args(["-c", "head -c 1048576 /dev/zero | tr '\\0' a; exit 1"])
            .stream(&mut sink, 2)
            .expect_err("fails");
        let expected = format!(
            "{} [git-buildkit: line cut, {} more bytes dropped]",
            "a".repeat(MAX_LINE),
            1048576 - MAX_LINE
        );
        assert_eq!(String::from_utf8_lossy(&sink), format!("{expected}\n"));
        assert_eq!(err.output(), expected);
    }

    #[test]
    fn streaming_keeps_the_tail() {
        let mut sink = Vec::new();
        let err = Cmd::new("sh")
            .args([
                "-c",
                "for i in 1 2 3 4; do echo line$i; done; echo line5 >&2; exit 1",
            ])
            .stream(&mut sink, 2)
            .expect_err("fails");
        assert_eq!(
            String::from_utf8_lossy(&sink),
            "line1\nline2\nline3\nline4\nline5\n"
        );
        assert_eq!(err.output(), "line4\nline5");
    }
}

//! The one way git-buildkit runs a child program. stdin is closed unless
//! given, output is captured (or streamed while its tail is kept), and "could
//! not start", "exited with N" and "killed by signal S" are distinct errors.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};

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
            ProcessError::Exit { output, .. } | ProcessError::Signal { output, .. } => output,
            _ => "",
        }
    }
}

/// A command to run.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: String,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    label: String,
}

impl Cmd {
    /// A command running `program`.
    pub fn new(program: &str) -> Self {
        Self {
            program: program.to_owned(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            label: program.to_owned(),
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

    /// How the command is named in errors (default: the program).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).stdin(Stdio::null());
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    /// Runs to completion and returns stdout; stderr goes into the error.
    pub fn output(&self) -> Result<Vec<u8>, ProcessError> {
        let output = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| ProcessError::Start {
                program: self.label.clone(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        self.check(output.status, stderr)?;
        Ok(output.stdout)
    }

    /// Runs to completion and returns (exit code, stdout, stderr) whatever
    /// the code; only a failure to start or a signal is an error.
    pub fn output_with_code(&self) -> Result<(i32, Vec<u8>, String), ProcessError> {
        let output = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| ProcessError::Start {
                program: self.label.clone(),
                source,
            })?;
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

    /// Runs to completion, copying stdout and stderr line by line into
    /// `sink`; on failure the error holds the last `tail` lines. Both streams
    /// share one pipe, so their lines keep the order the child wrote them in.
    pub fn stream(&self, sink: &mut (dyn Write + Send), tail: usize) -> Result<(), ProcessError> {
        let output_err = |source| ProcessError::Output {
            program: self.label.clone(),
            source,
        };
        let (reader, writer) = std::io::pipe().map_err(output_err)?;
        let writer_err = writer.try_clone().map_err(output_err)?;
        let mut command = self.command();
        command.stdout(writer).stderr(writer_err);
        let mut child = command.spawn().map_err(|source| ProcessError::Start {
            program: self.label.clone(),
            source,
        })?;
        // The parent's copies of the write end are gone with `command`, so
        // the reader sees end-of-file when the child (and its children) exit.
        drop(command);
        let mut lines = VecDeque::with_capacity(tail);
        let mut read_result = Ok(());
        for line in BufReader::new(reader).split(b'\n') {
            match line {
                Ok(line) => {
                    let line = String::from_utf8_lossy(&line).into_owned();
                    // A closed terminal must not fail the build.
                    let _ = writeln!(sink, "{line}");
                    if lines.len() == tail {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
                Err(e) => {
                    read_result = Err(e);
                    break;
                }
            }
        }
        let status = child.wait().map_err(output_err)?;
        read_result.map_err(output_err)?;
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

/// A started child program (see [`Cmd::spawn`]), killed when dropped.
#[derive(Debug)]
pub struct Running {
    child: Child,
    label: String,
    reaped: bool,
}

impl Running {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
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
    pub fn kill(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.reaped = true;
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

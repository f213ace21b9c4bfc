//! The one error type of the CLI: what went wrong, the exit code it maps to
//! ([`git_buildkit::exit::ExitCode`], decided by the library for its typed
//! errors), an optional detail block and a hint.

use git_buildkit::apt::AptError;
use git_buildkit::config::ConfigError;
use git_buildkit::deb::DebError;
use git_buildkit::exit::ExitCode;
use git_buildkit::flow::FlowError;
use git_buildkit::git::GitError;
use git_buildkit::hooks::HookError;
use git_buildkit::package::PackageError;
use git_buildkit::pipeline::{PipelineError, StepError, VmPlanError};
use git_buildkit::sign::SignError;
use git_buildkit::vm::VmError;

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    /// Exit code.
    pub code: ExitCode,
    /// The error and its causes.
    pub error: anyhow::Error,
    /// Extra lines shown under the error (a quoted config line, a build's last output).
    pub detail: Option<String>,
    /// Advice.
    pub hint: Option<String>,
    /// Print nothing (stderr is not the user's: `repo serve --stdio` under QEMU).
    pub silent: bool,
}

impl CliError {
    /// An error with an exit code.
    pub fn new(code: ExitCode, error: impl Into<anyhow::Error>) -> Self {
        Self {
            code,
            error: error.into(),
            detail: None,
            hint: None,
            silent: false,
        }
    }

    /// Adds advice.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Shows nothing: the exit code speaks (stderr is not the user's, or
    /// the program that failed has spoken for itself).
    pub fn silent(mut self) -> Self {
        self.silent = true;
        self
    }

    /// A library error with the code the library decides, and its advice.
    fn library(code: ExitCode, hint: Option<String>, error: impl Into<anyhow::Error>) -> Self {
        Self {
            hint,
            ..Self::new(code, error)
        }
    }
}

/// A usage or configuration error (exit 2).
pub fn usage(error: impl Into<anyhow::Error>) -> CliError {
    CliError::new(ExitCode::Usage, error)
}

/// The work failed (exit 1).
pub fn failed(error: impl Into<anyhow::Error>) -> CliError {
    CliError::new(ExitCode::Failed, error)
}

/// The quoted line of a configuration error, with a caret under the column.
pub fn config_detail(e: &ConfigError) -> String {
    let number = e.line.to_string();
    let pad = " ".repeat(number.len());
    format!(
        "{pad} |\n{number} | {}\n{pad} | {}^",
        e.source_line,
        " ".repeat(e.column.saturating_sub(1))
    )
}

/// The detail under a packaging error: the configuration line, or the
/// build's last lines of output.
pub(super) fn package_detail(e: &PackageError) -> Option<String> {
    if let PackageError::Config(c) = e {
        return Some(config_detail(c));
    }
    let output = e.build_output().filter(|o| !o.is_empty())?;
    let lines: Vec<String> = output.lines().map(|l| format!("  {l}")).collect();
    Some(format!("last lines of output:\n{}", lines.join("\n")))
}

impl From<SignError> for CliError {
    fn from(e: SignError) -> Self {
        CliError::library(e.exit_code(), e.hint(), e)
    }
}

impl From<AptError> for CliError {
    fn from(e: AptError) -> Self {
        CliError::library(e.exit_code(), e.hint(), e)
    }
}

impl From<git_buildkit::apt::mirror::MirrorError> for CliError {
    fn from(e: git_buildkit::apt::mirror::MirrorError) -> Self {
        CliError::library(e.exit_code(), e.hint(), e)
    }
}

impl From<DebError> for CliError {
    fn from(e: DebError) -> Self {
        CliError::library(e.exit_code(), None, e)
    }
}

impl From<PackageError> for CliError {
    fn from(e: PackageError) -> Self {
        let detail = package_detail(&e);
        CliError {
            detail,
            ..CliError::library(e.exit_code(), e.hint(), e)
        }
    }
}

impl From<VmError> for CliError {
    fn from(e: VmError) -> Self {
        CliError::library(e.exit_code(), e.hint(), e)
    }
}

impl From<git_buildkit::proxy::ProxyError> for CliError {
    fn from(e: git_buildkit::proxy::ProxyError) -> Self {
        CliError::library(e.exit_code(), None, e)
    }
}

impl From<VmPlanError> for CliError {
    fn from(e: VmPlanError) -> Self {
        CliError::library(e.exit_code(), e.hint(), e)
    }
}

impl From<GitError> for CliError {
    fn from(e: GitError) -> Self {
        let hint = matches!(e, GitError::NotARepo { .. })
            .then(|| "run it inside a git work tree, or pass -C DIR".to_owned());
        CliError::library(e.exit_code(), hint, e)
    }
}

impl From<FlowError> for CliError {
    fn from(e: FlowError) -> Self {
        let detail = match &e {
            FlowError::HookRefused { output, .. } | FlowError::Stopped { output, .. }
                if !output.is_empty() =>
            {
                Some(output.trim_end().to_owned())
            }
            _ => None,
        };
        CliError {
            detail,
            ..CliError::library(e.exit_code(), e.hint(), e)
        }
    }
}

impl From<HookError> for CliError {
    fn from(e: HookError) -> Self {
        CliError::library(e.exit_code(), e.hint(), e)
    }
}

/// With the quoted configuration line or the build's last output of a
/// failed package step.
impl From<PipelineError> for CliError {
    fn from(e: PipelineError) -> Self {
        let detail = match &e {
            PipelineError::Failed {
                source: StepError::Package(package),
                ..
            } => package_detail(package),
            _ => None,
        };
        CliError {
            detail,
            ..CliError::library(e.exit_code(), e.hint(), e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn sign_errors_keep_code_and_hint() {
        let error = CliError::from(SignError::NoDefaultKey {
            dir: PathBuf::from("/keys"),
        });
        assert_eq!(error.code, 2);
        assert_eq!(
            error.hint.as_deref(),
            Some("create one with `git buildkit key generate --name NAME --email EMAIL`")
        );
        assert_eq!(
            error.error.to_string(),
            "no signing key: the key store /keys has no default key"
        );
    }
}

//! The one error type of the CLI: what went wrong, the exit code it maps to
//! (0 ok, 1 the work failed, 2 usage or configuration, 3 the test bed
//! failed), an optional detail block and a hint.

use git_buildkit::config::ConfigError;
use git_buildkit::package::PackageError;
use git_buildkit::sign::SignError;

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    /// Exit code.
    pub code: u8,
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
    pub fn new(code: u8, error: impl Into<anyhow::Error>) -> Self {
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
}

/// A usage or configuration error (exit 2).
pub fn usage(error: impl Into<anyhow::Error>) -> CliError {
    CliError::new(2, error)
}

/// The work failed (exit 1).
pub fn failed(error: impl Into<anyhow::Error>) -> CliError {
    CliError::new(1, error)
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

/// A `SignError` with its exit code and hint.
pub fn sign_error(e: SignError) -> CliError {
    let hint = e.hint();
    let mut error = CliError::new(e.exit_code(), e);
    error.hint = hint;
    error
}

impl From<PackageError> for CliError {
    fn from(e: PackageError) -> Self {
        let detail = package_detail(&e);
        let code = e.exit_code();
        let hint = e.hint();
        CliError {
            code,
            error: e.into(),
            detail,
            hint,
            silent: false,
        }
    }
}

impl From<git_buildkit::vm::VmError> for CliError {
    fn from(e: git_buildkit::vm::VmError) -> Self {
        let code = e.exit_code();
        let hint = e.hint();
        CliError {
            code,
            error: e.into(),
            detail: None,
            hint,
            silent: false,
        }
    }
}

impl From<git_buildkit::git::GitError> for CliError {
    fn from(e: git_buildkit::git::GitError) -> Self {
        use git_buildkit::git::GitError;
        let hint = matches!(e, GitError::NotARepo { .. })
            .then(|| "run it inside a git work tree, or pass -C DIR".to_owned());
        CliError {
            code: 2,
            error: e.into(),
            detail: None,
            hint,
            silent: false,
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
        let error = sign_error(SignError::NoDefaultKey {
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

//! `entry_points.txt`: the console and GUI scripts of a distribution.
//! (helper A)
use super::PythonError;

/// One script entry point: `name = module:attr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    /// The command name.
    pub name: String,
    /// The module to import.
    pub module: String,
    /// The callable (dotted), if any.
    pub attr: Option<String>,
    /// From `[gui_scripts]` rather than `[console_scripts]`.
    pub gui: bool,
}

/// The `[console_scripts]` and `[gui_scripts]` of `ini`.
pub fn console_scripts(ini: &str, origin: &str) -> Result<Vec<EntryPoint>, PythonError> {
    todo!("A: {ini} {origin}")
}

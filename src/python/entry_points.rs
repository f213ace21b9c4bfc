//! `entry_points.txt`: the console and GUI scripts of a distribution.
//! Their names become file names and their modules are written into a
//! Python wrapper: both are checked strictly.
use super::PythonError;

/// One script entry point: `name = module:attr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    /// The command name.
    pub name: String,
    /// The module to import (dotted identifiers).
    pub module: String,
    /// The callable (dotted identifiers), if any.
    pub attr: Option<String>,
    /// From `[gui_scripts]` rather than `[console_scripts]`.
    pub gui: bool,
}

fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn is_script_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

/// The `[console_scripts]` and `[gui_scripts]` of `ini`.
pub fn console_scripts(ini: &str, origin: &str) -> Result<Vec<EntryPoint>, PythonError> {
    let mut section = "";
    let mut out = Vec::new();
    for (n, line) in ini.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim();
            continue;
        }
        let gui = match section {
            "console_scripts" => false,
            "gui_scripts" => true,
            _ => continue,
        };
        let bad = |reason: String| PythonError::Lock {
            origin: origin.to_owned(),
            line: n + 1,
            reason,
        };
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| bad(format!("{line:?} is not `name = module:attr`")))?;
        let (name, value) = (name.trim(), value.trim());
        // Extras (`[x]`) select optional dependencies; the script is the same.
        let value = value.split_once('[').map_or(value, |(v, _)| v).trim();
        let (module, attr) = match value.split_once(':') {
            Some((m, a)) => (m.trim(), Some(a.trim())),
            None => (value, None),
        };
        if !is_script_name(name) {
            return Err(bad(format!("{name:?} cannot be a command name")));
        }
        if !is_dotted_identifier(module) || !attr.is_none_or(is_dotted_identifier) {
            return Err(bad(format!("{value:?} is not module:attribute")));
        }
        out.push(EntryPoint {
            name: name.to_owned(),
            module: module.to_owned(),
            attr: attr.map(str::to_owned),
            gui,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_read_and_injection_is_refused() {
        let eps = console_scripts(
            "[console_scripts]\nhttp = httpie.__main__:main\nhttps = httpie.__main__:main [ssl]\n[other]\nx = y\n[gui_scripts]\ng = pkg.gui:run\n",
            "e",
        )
        .expect("parses");
        assert_eq!(eps.len(), 3);
        assert_eq!(eps[0].module, "httpie.__main__");
        assert!(eps[2].gui);
        for bad in [
            "x = os; import y:main",
            "../x = a:b",
            "x = a:b()",
            "x y = a:b",
            "x = 'a':b",
            "x = a:b\\nimport os",
        ] {
            let ini = format!("[console_scripts]\n{bad}\n");
            assert!(console_scripts(&ini, "e").is_err(), "{bad}");
        }
    }
}

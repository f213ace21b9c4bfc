//! The hook scripts, embedded from the top-level `hooks/` directory, and
//! how an installed one is recognised.

use std::path::Path;

use super::Hook;

/// The first comment line of every script we install: how `install` and
/// `uninstall` tell ours from the user's.
const MARKER: &[u8] = b"\n# git-buildkit hook: ";
/// Replaced by the quoted absolute path of the program at install time.
const EXE_PLACEHOLDER: &str = "@BUILDKIT_EXE@";

fn template(hook: Hook) -> &'static str {
    match hook {
        Hook::ReferenceTransaction => include_str!("../../hooks/reference-transaction"),
        Hook::PostReceive => include_str!("../../hooks/post-receive"),
    }
}

/// The script of `hook`, calling the program at `exe` (else the one on PATH).
pub(super) fn render(hook: Hook, exe: &Path) -> String {
    template(hook).replace(EXE_PLACEHOLDER, &sh_quote(&exe.to_string_lossy()))
}

/// Whether a hook file's contents are one of our scripts.
pub(super) fn is_ours(contents: &[u8]) -> bool {
    contents.starts_with(b"#!") && contents.windows(MARKER.len()).any(|w| w == MARKER)
}

/// `text` as one word for sh, in single quotes.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn scripts_call_the_program_and_are_recognised() {
        for hook in Hook::ALL {
            let script = render(hook, Path::new("/opt/it's here/git-buildkit"));
            assert!(script.starts_with("#!/bin/sh\n"), "{script}");
            let lines: Vec<&str> = script.lines().filter(|l| l.starts_with("bk=")).collect();
            assert_eq!(lines, ["bk='/opt/it'\\''s here/git-buildkit'"]);
            assert!(
                script.contains(&format!(
                    "\texec \"$bk\" hooks run --hooks-dir \"${{0%/*}}\" {} \"$@\"\n",
                    hook.name()
                )),
                "{script}"
            );
            assert!(is_ours(script.as_bytes()), "{hook}");
        }
        assert!(!is_ours(b"#!/bin/sh\ncat >> log\n"));
        assert!(!is_ours(b"# git-buildkit hook: not a script\n"));
    }

    #[test]
    fn the_quoted_path_survives_sh() {
        let exe = "/tmp/a 'b' $c/git-buildkit";
        let out = crate::process::Cmd::new("sh")
            .args(["-c", &format!("printf %s {}", sh_quote(exe))])
            .output()
            .expect("sh");
        assert_eq!(String::from_utf8_lossy(&out), exe);
    }
}

//! The house rules of the source tree, checked on the source itself
//! (issue 10): they hold today, and a change that breaks one says which
//! rule and where, instead of waiting for a reviewer to notice.
//!
//! - A library function (outside `src/cli/` and test modules) is at most
//!   [`MAX_FUNCTION_LINES`] lines, unless a comment right above it (a doc
//!   comment or a line comment) has a line starting `Long function: <why>`.
//! - The library never prints: `print!`/`println!`/`eprint!`/`eprintln!`
//!   appear only in `src/cli/` and in tests.
//! - `apt` knows nothing of git or the pipeline; `deb` knows nothing of
//!   repositories (DESIGN.md, "module boundaries").
//!
//! The reading is textual and relies on rustfmt's layout (a function ends at
//! the first line holding only its indentation and `}`), which `make lint`
//! keeps true.

use std::path::{Path, PathBuf};

/// The longest a library function may be without saying why.
const MAX_FUNCTION_LINES: usize = 80;
/// The comment that says why a function is longer.
const LONG_MARK: &str = "Long function:";

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the source directory") {
            let path = entry.expect("read a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of a source file that are not inside a `#[cfg(test)]` module,
/// with their 1-based numbers.
fn non_test_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    let mut test_module_end: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(end) = &test_module_end {
            if *line == end.as_str() {
                test_module_end = None;
            }
            continue;
        }
        let next_opens_module = lines
            .get(i + 1)
            .is_some_and(|next| next.trim_start().starts_with("mod ") && next.ends_with('{'));
        if line.trim() == "#[cfg(test)]" && next_opens_module {
            let indent = &line[..line.len() - line.trim_start().len()];
            test_module_end = Some(format!("{indent}}}"));
            continue;
        }
        kept.push((i + 1, *line));
    }
    kept
}

/// Whether the line starts a function item, and its indentation.
fn function_start(line: &str) -> Option<&str> {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let mut words = body.split_whitespace().peekable();
    while let Some(word) = words.peek() {
        let qualifier = word.starts_with("pub")
            || ["const", "async", "unsafe", "extern", "\"C\""].contains(word);
        if !qualifier {
            break;
        }
        words.next();
    }
    (words.next() == Some("fn")).then_some(indent)
}

/// Functions of `text` longer than the limit and not marked: `(line, lines)`.
fn long_unmarked_functions(text: &str) -> Vec<(usize, usize)> {
    let lines = non_test_lines(text);
    let mut found = Vec::new();
    for (at, &(number, line)) in lines.iter().enumerate() {
        let Some(indent) = function_start(line) else {
            continue;
        };
        if line.trim_end().ends_with(';') || line.trim_end().ends_with('}') {
            continue;
        }
        let end = format!("{indent}}}");
        let Some(length) = lines[at..].iter().position(|&(_, l)| l == end) else {
            continue;
        };
        if length < MAX_FUNCTION_LINES {
            continue;
        }
        // The comment may stand above the doc comment and attributes.
        let marked = lines[..at]
            .iter()
            .rev()
            .take_while(|(_, l)| {
                let l = l.trim_start();
                l.starts_with("//") || l.starts_with("#[")
            })
            .any(|(_, l)| {
                l.trim_start()
                    .trim_start_matches('/')
                    .trim_start()
                    .starts_with(LONG_MARK)
            });
        if !marked {
            found.push((number, length + 1));
        }
    }
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(source_root().parent().expect("the crate root"))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn library_files() -> Vec<PathBuf> {
    let cli = source_root().join("cli");
    let tests = source_root().join("proptests");
    rust_files(&source_root())
        .into_iter()
        .filter(|p| !p.starts_with(&cli) && !p.starts_with(&tests))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "tests"))
        .collect()
}

#[test]
fn library_functions_are_short_or_say_why() {
    let mut long = Vec::new();
    for path in library_files() {
        let text = std::fs::read_to_string(&path).expect("read a source file");
        for (line, length) in long_unmarked_functions(&text) {
            long.push(format!("{}:{line} is {length} lines", relative(&path)));
        }
    }
    assert!(
        long.is_empty(),
        "library functions over {MAX_FUNCTION_LINES} lines without a `// {LONG_MARK} <why>` \
         comment above them; split them or say why:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_library_never_prints() {
    let mut printing = Vec::new();
    for path in library_files() {
        let text = std::fs::read_to_string(&path).expect("read a source file");
        for (number, line) in non_test_lines(&text) {
            let code = line.split("//").next().unwrap_or_default();
            if ["print!(", "println!(", "eprint!(", "eprintln!("]
                .iter()
                .any(|mac| code.contains(mac))
            {
                printing.push(format!("{}:{number}: {}", relative(&path), line.trim()));
            }
        }
    }
    assert!(
        printing.is_empty(),
        "the library returns values and errors; only src/cli prints:\n{}",
        printing.join("\n")
    );
}

#[test]
fn apt_knows_no_git_and_deb_knows_no_repository() {
    let rules: [(&str, &[&str]); 3] = [
        (
            "apt",
            &[
                "crate::git",
                "crate::pipeline",
                "crate::flow",
                "crate::hooks",
            ],
        ),
        (
            "deb",
            &["crate::apt", "crate::git", "crate::pipeline", "crate::flow"],
        ),
        // Issue 11: the VM knows a repository only by the directory it
        // serves; a tag is resolved into its plan on the pipeline side.
        // (`crate::deb::` with its colons, so deb822, a format, stays allowed.)
        (
            "vm",
            &[
                "crate::git",
                "crate::package",
                "crate::pipeline",
                "crate::config",
                "crate::apt",
                "crate::deb::",
                "crate::flow",
                "crate::hooks",
            ],
        ),
    ];
    let mut crossings = Vec::new();
    for (module, forbidden) in rules {
        for path in rust_files(&source_root().join(module)) {
            let text = std::fs::read_to_string(&path).expect("read a source file");
            for (number, line) in non_test_lines(&text) {
                if let Some(used) = forbidden.iter().find(|f| line.contains(*f)) {
                    crossings.push(format!("{}:{number} uses {used}", relative(&path)));
                }
            }
        }
    }
    assert!(
        crossings.is_empty(),
        "module boundaries (DESIGN.md) crossed:\n{}",
        crossings.join("\n")
    );
}

#[test]
fn the_checks_themselves_see_what_they_look_for() {
    let body = "    let x = 1;\n".repeat(MAX_FUNCTION_LINES);
    let long = format!("pub fn long() {{\n{body}}}\n");
    assert_eq!(
        long_unmarked_functions(&long),
        vec![(1, MAX_FUNCTION_LINES + 2)]
    );
    let marked = format!("// {LONG_MARK} one match over every frame kind.\n/// Doc.\n{long}");
    assert!(long_unmarked_functions(&marked).is_empty());
    let in_doc = format!("/// Doc.\n///\n/// {LONG_MARK} one loop owns the child.\n{long}");
    assert!(long_unmarked_functions(&in_doc).is_empty());
    let elsewhere = format!("/// {LONG_MARK} about another item.\nconst X: u8 = 1;\n{long}");
    assert_eq!(long_unmarked_functions(&elsewhere).len(), 1);
    let in_tests = format!(
        "#[cfg(test)]\nmod tests {{\n    {}\n}}\n",
        long.replace('\n', "\n    ")
    );
    assert!(long_unmarked_functions(&in_tests).is_empty());
    let short = "pub(crate) async fn short() {\n    let x = 1;\n}\n";
    assert!(long_unmarked_functions(short).is_empty());
}

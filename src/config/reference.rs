//! The reference of every `.buildkit.toml` key: its table, type, default
//! and meaning. `man 5 buildkit.toml` and README's `.buildkit.toml`
//! section are made from it, and a test holds it to serde's own list of
//! each table's fields, so a key added without a line here fails the
//! build's tests (issue 16).

/// One table of the file (or the file's top level).
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// How the file writes it: `[flow]`, `[[package]]`, `assets = [{ ... }]`.
    pub name: &'static str,
    /// What it is for, one sentence.
    pub about: &'static str,
    /// A TOML text whose `BOGUS` key lands in this table (the
    /// completeness test puts an unknown key there).
    pub probe: &'static str,
    /// Its keys, in the order of the struct.
    pub keys: &'static [Key],
}

/// One key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key as written (kebab-case).
    pub name: &'static str,
    /// Its TOML type.
    pub kind: &'static str,
    /// Its default when absent (`required` when it must be given).
    pub default: &'static str,
    /// What it does, one line.
    pub meaning: &'static str,
}

const fn key(
    name: &'static str,
    kind: &'static str,
    default: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        name,
        kind,
        default,
        meaning,
    }
}

/// The line before README's copy of [`markdown`].
pub const README_START: &str =
    "<!-- the reference: `git buildkit man DIR` writes it as buildkit.toml.5; a test keeps this copy equal to src/config/reference.rs -->";

/// The line after README's copy of [`markdown`].
pub const README_END: &str = "<!-- end of the reference -->";

/// Every table of `.buildkit.toml`, in the order a reader meets them.
pub const REFERENCE: &[Table] = &[
    Table {
        name: "top level",
        about: "The file's tables; every one is optional, but `package` needs one [[package]].",
        probe: "BOGUS = 1\n",
        keys: &[
            key("flow", "table", "gitflow-avh's", "branch names and prefixes of the branch workflow, see [flow]"),
            key("package", "array of tables", "none", "one [[package]] table per .deb"),
            key("repo", "table", "see [repo]", "where the pipeline publishes"),
            key("vm", "table", "no VM test", "the VM smoke test; its presence gates releases (staging, VM test, promote)"),
            key("hooks", "table", "see [hooks]", "what the tag hook runs"),
        ],
    },
    Table {
        name: "[flow]",
        about: "The branch workflow (gitflow-compatible); a value here wins over `git config gitflow.*`.",
        probe: "[flow]\nBOGUS = 1\n",
        keys: &[
            key("main", "string", "\"main\" (\"master\" when only that exists)", "the production branch"),
            key("develop", "string", "\"develop\"", "the integration branch"),
            key("prefix", "table", "see [flow.prefix]", "branch and tag prefixes"),
            key("version-files", "array of tables", "[]", "files whose version `release start` and `hotfix start` bump"),
        ],
    },
    Table {
        name: "[flow.prefix]",
        about: "Branch and version tag prefixes.",
        probe: "[flow.prefix]\nBOGUS = 1\n",
        keys: &[
            key("feature", "string", "\"feature/\"", "feature branches"),
            key("bugfix", "string", "\"bugfix/\"", "bugfix branches"),
            key("release", "string", "\"release/\"", "release branches"),
            key("hotfix", "string", "\"hotfix/\"", "hotfix branches"),
            key("support", "string", "\"support/\"", "support branches"),
            key("version-tag", "string", "\"v\"", "version tags: v1.2.0 is version 1.2.0, Debian 1.2.0-1"),
        ],
    },
    Table {
        name: "[[flow.version-files]]",
        about: "A file that carries the version.",
        probe: "[[flow.version-files]]\npath = \"VERSION\"\nBOGUS = 1\n",
        keys: &[
            key("path", "string", "required", "the file, from the repository root"),
            key("regex", "string", "a preset for Cargo.toml, pyproject.toml, package.json", "a per-line regex with one capture group around the version"),
        ],
    },
    Table {
        name: "[[package]]",
        about: "One binary package (.deb).",
        probe: "[[package]]\nBOGUS = 1\n",
        keys: &[
            key("name", "string", "required", "the package name"),
            key("description", "string", "required (kind = \"python\": the wheel's Summary)", "synopsis on the first line, long description after it (else the README's first paragraph)"),
            key("maintainer", "string", "required", "\"Name <email>\""),
            key("architecture", "string", "\"all\"", "amd64, arm64, ... or all (left out for kind = \"python\")"),
            key("section", "string", "\"misc\"", "the archive section"),
            key("priority", "string", "\"optional\"", "the priority"),
            key("homepage", "string", "none", "the upstream home page"),
            key("revision", "string", "\"1\"", "the Debian revision appended to the tag's version"),
            key("pre-depends", "array of strings", "[]", "Pre-Depends relations"),
            key("depends", "array of strings", "[\"${shlibs}\"]", "Depends relations; ${shlibs} stands for the libraries its ELF files need"),
            key("recommends", "array of strings", "[]", "Recommends relations"),
            key("suggests", "array of strings", "[]", "Suggests relations"),
            key("conflicts", "array of strings", "[]", "Conflicts relations"),
            key("provides", "array of strings", "[]", "Provides relations"),
            key("replaces", "array of strings", "[]", "Replaces relations"),
            key("breaks", "array of strings", "[]", "Breaks relations"),
            key("build", "string", "none", "a shell command run in the clean export before packaging"),
            key("test", "string", "none", "the project's tests, run after every build with the same sandbox and time limit"),
            key("assets", "array of tables", "[]", "files to install, see assets"),
            key("maintainer-scripts", "string", "none", "a directory with preinst, postinst, prerm, postrm, config, templates, triggers"),
            key("copyright", "string", "LICENSE or COPYING", "the copyright file's source in the tree"),
            key("compression", "string", "\"xz\"", "member compression: xz, gzip, zstd or none"),
            key("build-env", "array of strings", "[]", "variables of the caller's environment passed to the build"),
            key("build-timeout", "string", "\"30m\"", "how long the build may run (90s, 30m, 2h; at most 24h)"),
            key("sandbox", "string", "\"auto\"", "auto (bwrap when usable), bwrap (or fail) or none"),
            key("network", "boolean", "false", "whether the sandboxed build may reach the network"),
            key("strip", "boolean", "true", "strip ELF files as dh_strip does"),
            key("dbgsym", "boolean", "true", "put the stripped debug information in a <name>-dbgsym .ddeb"),
            key("systemd", "table", "enable and start units", "what the maintainer scripts do with its systemd units, see systemd"),
            key("kind", "string", "\"files\"", "files (its assets) or python (the wheel and its dependency closure)"),
            key("python", "table", "see python", "how a kind = \"python\" package is made"),
            key("allow-build-path", "array of strings", "[]", "globs of packaged paths that may hold the build directory's path"),
        ],
    },
    Table {
        name: "assets = [{ ... }]",
        about: "One file or directory of a [[package]] to install.",
        probe: "[[package]]\nassets = [{ BOGUS = 1 }]\n",
        keys: &[
            key("src", "string", "required", "the path in the built tree (a directory is copied recursively)"),
            key("dest", "string", "required", "the absolute install path (for a directory: where its contents go)"),
            key("mode", "string or integer", "the file's own", "octal permission bits, \"0755\" or 0o755"),
            key("conffile", "boolean", "false", "mark as a conffile (every file under /etc is one anyway)"),
        ],
    },
    Table {
        name: "python = { ... }",
        about: "How a kind = \"python\" [[package]] is made from the project's wheel.",
        probe: "[[package]]\npython = { BOGUS = 1 }\n",
        keys: &[
            key("project", "string", "\".\"", "the Python project's directory in the tree"),
            key("lock", "string", "none", "pinned requirements (with hashes) or pylock.toml, honoured exactly"),
            key("layout", "string", "\"debs\"", "debs (a package per distribution) or bundle (one package)"),
            key("system", "table of strings", "{}", "distributions left to Debian packages: { requests = \"python3-requests\" }"),
            key("extras", "array of strings", "[]", "extras of the project to install"),
            key("build-isolation", "boolean", "true", "build the wheel in pip's isolated environment (false: Debian's setuptools, no network)"),
            key("index-url", "string", "pip's", "the package index pip uses"),
            key("revision", "string", "\"1\"", "the Debian revision of the dependencies' packages"),
        ],
    },
    Table {
        name: "systemd = { ... }",
        about: "What a [[package]]'s maintainer scripts do with its systemd units.",
        probe: "[[package]]\nsystemd = { BOGUS = 1 }\n",
        keys: &[
            key("enable", "boolean", "true", "enable units on install (false: keep an admin's choice)"),
            key("start", "boolean", "true", "start units on install, restart after upgrade (false: only try-restart)"),
            key("units", "table of tables", "{}", "settings of single units by name, see units"),
        ],
    },
    Table {
        name: "systemd.units.\"NAME\"",
        about: "One unit's settings, overriding the package's.",
        probe: "[[package]]\nsystemd = { units = { \"a.service\" = { BOGUS = 1 } } }\n",
        keys: &[
            key("enable", "boolean", "systemd.enable", "as systemd.enable, for this unit"),
            key("start", "boolean", "systemd.start", "as systemd.start, for this unit"),
        ],
    },
    Table {
        name: "[repo]",
        about: "Where the pipeline's publish stage puts packages.",
        probe: "[repo]\nBOGUS = 1\n",
        keys: &[
            key("path", "string", "the per-project directory under the repos dir", "the apt repository directory (~/ is home; relative to the work tree)"),
            key("suite", "string", "\"stable\"", "the release suite"),
            key("components", "array of strings", "[\"main\"]", "the components; packages go to the first"),
            key("url", "string", "none", "the URL clients use: `repo sources` writes it when --url is not given"),
            key("keep", "integer", "0 (all)", "versions kept per package and suite"),
            key("staging", "string", "\"<suite>-staging\"", "the suite a tag's packages wait in for their VM test"),
            key("snapshots", "string", "\"snapshots\"", "the suite of builds of untagged commits"),
            key("mirror", "array of strings", "[]", "S3 mirrors (`s3://BUCKET/PREFIX?endpoint=URL`) every publish is pushed to, if the host allows them (buildkit.mirror.allow); no credentials here"),
        ],
    },
    Table {
        name: "[vm]",
        about: "The VM smoke test of a tag's packages.",
        probe: "[vm]\nBOGUS = 1\n",
        keys: &[
            key("image", "string", "\"default\"", "the base image name"),
            key("suites", "array of strings", "none (one run on image)", "Debian suites tested side by side, each on the image named after it (or a default of that suite); not with image"),
            key("memory", "string", "\"512M\"", "guest memory (128M to 64G)"),
            key("cpus", "integer", "1", "guest CPUs (1 to 64)"),
            key("smoke", "array of strings", "[]", "commands run in the guest after installing"),
            key("timeout", "string", "\"5m\"", "each test's time limit (1s to 24h)"),
            key("mode", "string", "\"auto\"", "fast, systemd, or auto (systemd when a package ships units)"),
            key("debian", "boolean", "true", "whether the guest may install from Debian through the caching proxy"),
            key("recommends", "boolean", "true", "whether apt in the guest installs the packages' Recommends (false: only Depends, as autopkgtest)"),
            key("warm", "boolean", "true", "whether a test restores the image's warm snapshot (saved once, booted and idle) instead of booting"),
            key("forward", "array of strings", "[]", "\"HOST:GUEST\" ports a kept run makes reachable on 127.0.0.1"),
        ],
    },
    Table {
        name: "[hooks]",
        about: "What the tag hook runs.",
        probe: "[hooks]\nBOGUS = 1\n",
        keys: &[
            key("on-tag", "array of strings", "[\"package\", \"publish\"] (all four with [vm])", "stages run for a new version tag: package, publish, vm-test, promote"),
            key("on-fetch", "boolean", "false", "whether tags that arrive by fetch start pipelines too (read from HEAD)"),
        ],
    },
];

/// The text of README's `.buildkit.toml` reference: a Markdown table per
/// TOML table (a test keeps README's copy equal to it, between
/// [`README_START`] and [`README_END`]).
pub fn markdown() -> String {
    let mut text = String::new();
    for table in REFERENCE {
        text.push_str(&format!("#### `{}`\n\n{}\n\n", table.name, table.about));
        text.push_str("| key | type | default | meaning |\n|---|---|---|---|\n");
        for k in table.keys {
            text.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                k.name,
                k.kind,
                cell(k.default),
                cell(k.meaning)
            ));
        }
        text.push('\n');
    }
    text
}

/// `man 5 buildkit.toml`: every table and key, as roff for `man`
/// (written by `git-buildkit man DIR` beside the command pages).
pub fn man_page() -> String {
    let mut page = String::from(
        ".TH BUILDKIT.TOML 5 \"\" \"git\\-buildkit\" \"File Formats Manual\"\n\
         .nh\n\
         .SH NAME\n\
         buildkit.toml \\- the git\\-buildkit project configuration\n\
         .SH SYNOPSIS\n\
         \\fI.buildkit.toml\\fR at the top of a git repository\n\
         .SH DESCRIPTION\n",
    );
    for paragraph in DESCRIPTION {
        page.push_str(&format!("{}\n.PP\n", roff(paragraph)));
    }
    page.push_str(&format!(
        "Each table below lists its keys with their TOML type and their default.\n\
         .SH EXAMPLE\n.RS 4\n.nf\n{}.fi\n.RE\n",
        EXAMPLE
            .lines()
            .map(|l| format!("{}\n", roff(l)))
            .collect::<String>()
    ));
    for table in REFERENCE {
        // A quote inside a macro's quoted argument is `\(dq`.
        let heading = roff(table.name).replace('"', "\\(dq");
        page.push_str(&format!(".SH \"{heading}\"\n{}\n", roff(table.about)));
        for k in table.keys {
            page.push_str(&format!(
                ".TP\n\\fB{}\\fR (\\fI{}\\fR; default: {})\n{}\n",
                roff(k.name),
                roff(k.kind),
                roff(k.default),
                roff(k.meaning)
            ));
        }
    }
    page.push_str(
        ".SH SEE ALSO\n\
         \\fBgit\\-buildkit\\fR(1), \\fBgit\\-buildkit\\-package\\fR(1), \
         \\fBgit\\-buildkit\\-vm\\-test\\fR(1), \\fBgit\\-buildkit\\-pipeline\\fR(1), \
         \\fBdeb\\-control\\fR(5)\n",
    );
    page
}

/// The man page's description, one paragraph each.
const DESCRIPTION: &[&str] = &[
    "git-buildkit reads .buildkit.toml from the commit being packaged (a version tag's, \
     for a release), never from the work tree, so a release is made of what was committed; \
     git buildkit package --worktree reads the work tree's file instead, for trying a change out.",
    "The file is TOML. Unknown keys and wrong types are errors that name the file, the line and \
     the column; so are values checked after reading (package names, relations, paths, durations).",
];

/// A small file for the man page.
const EXAMPLE: &str = r#"[[package]]
name = "hello"
description = """
prints a friendly greeting
The long description follows the synopsis line.
"""
maintainer = "Jane Doe <jane@example.com>"
build = "make"
test = "make check"
assets = [
  { src = "build/hello", dest = "/usr/bin/hello", mode = "0755" },
]

[vm]
smoke = ["hello --version"]
"#;

/// Text for roff: backslashes and hyphens escaped, no line starting a
/// request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.starts_with(['.', '\'']) {
        true => format!("\\&{escaped}"),
        false => escaped,
    }
}

/// A Markdown table cell: `|` would end it, and `<name>` would be taken
/// for an HTML tag.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The fields serde expects where the probe's `BOGUS` key stands,
    /// from its "unknown field" message (`expected one of `a`, `b``,
    /// `expected `a` or `b``, `expected `a``).
    fn serde_fields(probe: &str) -> Vec<String> {
        let error = crate::config::Config::parse(probe, "probe")
            .expect_err("an unknown key is an error")
            .message;
        let expected = error
            .split_once("unknown field `BOGUS`, expected ")
            .unwrap_or_else(|| panic!("not an unknown-field error: {error}"))
            .1;
        let mut fields: Vec<String> = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        fields.sort();
        fields
    }

    #[test]
    fn every_table_lists_exactly_serdes_fields() {
        for table in REFERENCE {
            let mut documented: Vec<String> =
                table.keys.iter().map(|k| k.name.to_owned()).collect();
            documented.sort();
            assert_eq!(
                documented,
                serde_fields(table.probe),
                "{}: the reference and the schema differ",
                table.name
            );
        }
    }

    #[test]
    fn every_nested_table_has_its_reference() {
        for table in REFERENCE {
            for k in table
                .keys
                .iter()
                .filter(|k| ["table", "array of tables", "table of tables"].contains(&k.kind))
            {
                assert!(
                    REFERENCE.iter().any(|t| t.name.contains(k.name)),
                    "{} {}: a table without its own reference",
                    table.name,
                    k.name
                );
            }
        }
    }

    #[test]
    fn roff_escapes_what_roff_would_read() {
        assert_eq!(roff(".buildkit.toml"), "\\&.buildkit.toml");
        assert_eq!(roff("a-b \\n"), "a\\-b \\en");
    }

    #[test]
    fn every_key_has_a_type_a_default_and_a_meaning() {
        for table in REFERENCE {
            for k in table.keys {
                assert!(
                    !k.kind.is_empty() && !k.default.is_empty() && !k.meaning.is_empty(),
                    "{} {}",
                    table.name,
                    k.name
                );
            }
        }
    }
}

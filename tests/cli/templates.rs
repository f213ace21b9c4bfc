//! Templates (issue 15): `new` from a built-in that releases on its first
//! tag with no edit, `template create` and its round trip, `template
//! update` as a three-way merge with and without a conflict, the refusals
//! (an existing directory, missing values, a value against its pattern),
//! and `.tera` package files rendered at packaging time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{assert_lintian_clean, tree_listing, vm_slot, write_files, Sandbox};

const AUTHOR: &str = "author=Jane Doe <jane@example.com>";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// Waits for the tag's pipeline, run by the hook in the background, to
/// end (at most `limit`), and returns its record.
pub fn wait_for_record(sb: &Sandbox, repo: &Path, tag: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let jobs = json(&sb.bk(repo, &["jobs", "--json"]).ok().stdout);
        let jobs = jobs.as_array().expect("an array").clone();
        let ended = !jobs.is_empty()
            && jobs
                .iter()
                .all(|j| j["state"] == "succeeded" || j["state"] == "failed");
        if ended {
            return json(&sb.bk(repo, &["show", tag, "--json"]).ok().stdout);
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = jobs
                .iter()
                .map(|j| {
                    std::fs::read_to_string(j["log"].as_str().unwrap_or("")).unwrap_or_default()
                })
                .collect();
            panic!(
                "the pipeline did not end: {jobs:#?}\nlogs:\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The stages of a record as `name result` lines.
pub fn stages(record: &Value) -> Vec<String> {
    record["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["name"].as_str().unwrap_or("?"),
                s["result"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Generates a project from a built-in with `values`, in a sandbox with a
/// default signing key.
pub fn generate(template: &str, values: &[&str]) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let dir = sb.path("project");
    let mut args = vec!["new", template, dir.to_str().expect("utf8")];
    for value in values {
        args.extend(["--set", value]);
    }
    sb.bk(&sb.path(""), &args).ok();
    sb.generate_key(&dir, "Test Packages", "ops@example.com");
    (sb, dir)
}

/// The release flow with no edit: `release start 0.1.0`, `release finish`,
/// and the tag hook's pipeline to its end; returns the record.
pub fn release(sb: &Sandbox, dir: &Path) -> Value {
    sb.bk(dir, &["release", "start", "0.1.0"]).ok();
    let finish = sb.bk(dir, &["release", "finish", "-m", "0.1.0"]).ok();
    // The finish says the pipeline runs, and how to follow it.
    assert!(
        finish
            .stderr
            .contains("the tag hook started the pipeline for v0.1.0 in the background: follow it with `git buildkit jobs --wait`"),
        "{}",
        finish.stderr
    );
    wait_for_record(sb, dir, "v0.1.0", Duration::from_secs(600))
}

#[test]
fn shell_tool_generates_packages_clean_and_releases_through_the_vm_on_its_first_tag() {
    let (sb, dir) = generate("shell-tool", &["name=greet", AUTHOR]);
    // A git repository with the flow: main holds the rendering, develop
    // the [flow] table; the tag hook is installed.
    assert_eq!(
        sb.git(&dir, &["branch", "--show-current"]).trim(),
        "develop"
    );
    let log = sb.git(&dir, &["log", "--format=%s%n%b", "main"]);
    assert!(log.contains("Template-Render: shell-tool"), "{log}");
    assert!(dir.join(".git/hooks/reference-transaction").is_file());
    let record = std::fs::read_to_string(dir.join(".buildkit-template.toml")).expect("record");
    assert!(record.contains("template = \"shell-tool\""), "{record}");
    assert!(record.contains("name = \"greet\""), "{record}");

    let _vm = vm_slot();
    let record = release(&sb, &dir);
    assert_eq!(
        stages(&record),
        [
            "package succeeded",
            "publish succeeded",
            "vm-test succeeded",
            "promote succeeded"
        ],
        "{record:#}"
    );
    assert_eq!(record["vm"]["verdict"], "passed", "{record:#}");
    // The version came from the tag through the .tera script.
    assert_eq!(record["packages"][0]["version"], "0.1.0-1");
    let repo = sb.path(".local/share/git-buildkit/repos/project");
    let deb = repo.join(
        record["packages"][0]["filename"]
            .as_str()
            .expect("filename"),
    );
    assert_lintian_clean(&sb, &dir, deb.to_str().expect("utf8"));
    let script = sb.run(
        &dir,
        "sh",
        &[
            "-c",
            &format!(
                "dpkg-deb --fsys-tarfile '{}' | tar -xO ./usr/bin/greet",
                deb.display()
            ),
        ],
    );
    assert!(
        script.stdout.contains("VERSION=\"0.1.0\""),
        "{}",
        script.stdout
    );
    assert!(!script.stdout.contains("{{"), "{}", script.stdout);
}

#[test]
fn new_never_writes_over_a_directory_and_names_every_missing_value_at_once() {
    let sb = Sandbox::new();
    let taken = sb.path("taken");
    write_files(&taken, &[("mine.txt", "mine\n", false)]);
    let run = sb.bk(
        &sb.path(""),
        &[
            "new",
            "shell-tool",
            "taken",
            "--set",
            "name=x1",
            "--set",
            AUTHOR,
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("exists and is not empty"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(taken.join("mine.txt")).expect("works"),
        "mine\n"
    );
    assert_eq!(
        crate::common::dir_names(&taken),
        ["mine.txt"],
        "nothing added"
    );

    // No terminal: every missing value in one error, and nothing written.
    let run = sb.bk(&sb.path(""), &["new", "shell-tool", "fresh"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: shell-tool needs values: name (the command and Debian package name), author (the maintainer, as Name <email>)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--set name=... --set author=..."),
        "{}",
        run.stderr
    );
    assert!(!sb.path("fresh").exists());

    // A value against its pattern, an unknown variable, an unknown template.
    for (args, message) in [
        (
            vec!["--set", "name=Bad Name", "--set", AUTHOR],
            "name = \"Bad Name\" does not match its pattern",
        ),
        (
            vec!["--set", "name=ok", "--set", "author=nobody"],
            "author = \"nobody\" does not match its pattern",
        ),
        (
            vec!["--set", "name=ok", "--set", AUTHOR, "--set", "colour=red"],
            "shell-tool has no variable colour",
        ),
    ] {
        let mut all = vec!["new", "shell-tool", "fresh"];
        all.extend(args);
        let run = sb.bk(&sb.path(""), &all);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(message), "{message}: {}", run.stderr);
        assert!(!sb.path("fresh").exists());
    }
    // Every value against its pattern, in one error.
    let run = sb.bk(
        &sb.path(""),
        &[
            "new",
            "shell-tool",
            "fresh",
            "--set",
            "name=X",
            "--set",
            "author=nobody",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("name = \"X\" does not match its pattern [a-z][a-z0-9-]+; author = \"nobody\" does not match"),
        "{}",
        run.stderr
    );
    let run = sb.bk(&sb.path(""), &["new", "no-such", "fresh"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no template named \"no-such\""),
        "{}",
        run.stderr
    );

    let list = sb.bk(&sb.path(""), &["new", "--list"]).ok().stdout;
    assert!(
        list.starts_with("shell-tool ") || list.contains("\nshell-tool "),
        "{list}"
    );
}

/// A tree with values in contents and names, text that looks like tera,
/// an ignored file, a binary file, an executable and a symlink.
fn ckan_tree(sb: &Sandbox) -> PathBuf {
    let tree = sb.path("ckan");
    write_files(
        &tree,
        &[
            (
                "README.md",
                "# ckan\nServed at https://ckan.example.org/\n",
                false,
            ),
            (
                "ckan/templates/page.html",
                "{% block body %}{{ ckan.title }}{# note #}{% endblock %}\n",
                false,
            ),
            (
                "bin/ckan-admin",
                "#!/bin/sh\necho \"ckan admin for ckan.example.org\" ${HOME}\n",
                true,
            ),
            (".gitignore", "*.log\n", false),
            ("debug.log", "not part of the template\n", false),
        ],
    );
    std::fs::write(tree.join("logo.bin"), b"\x00\x01ckan\xff").expect("write");
    std::os::unix::fs::symlink("bin/ckan-admin", tree.join("admin")).expect("symlink");
    sb.run(&tree, "git", &["init", "-q"]).ok();
    sb.run(&tree, "git", &["add", "-A"]).ok();
    sb.run(&tree, "git", &["commit", "-qm", "ckan"]).ok();
    tree
}

#[test]
fn template_create_round_trips_and_other_values_go_everywhere() {
    let sb = Sandbox::new();
    let tree = ckan_tree(&sb);
    let run = sb
        .bk(
            &sb.path(""),
            &[
                "template",
                "create",
                "ckan",
                "ckan-site",
                "--var",
                "name=ckan",
                "--var",
                "domain=ckan.example.org",
            ],
        )
        .ok();
    let template = sb.path(".local/share/git-buildkit/templates/ckan-site");
    assert_eq!(run.stdout.trim(), template.display().to_string());
    assert!(run.stderr.contains("Replaced name in"), "{}", run.stderr);
    // The template is listed as the user's.
    let list = sb
        .bk(&sb.path(""), &["template", "list", "--json"])
        .ok()
        .stdout;
    let list = json(&list);
    let mine = list
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["name"] == "ckan-site")
        .expect("listed");
    assert_eq!(mine["origin"], template.display().to_string());

    // With the original values (the defaults): the tree, byte for byte,
    // without .git and what git ignores.
    sb.bk(&sb.path(""), &["new", "ckan-site", "again", "--no-git"])
        .ok();
    let mut original = tree_listing(&tree);
    original
        .retain(|(path, _, _)| !path.starts_with(".git/") && path != ".git" && path != "debug.log");
    let mut again = tree_listing(&sb.path("again"));
    again.retain(|(path, _, _)| path != ".buildkit-template.toml");
    assert_eq!(again, original);

    // With other values: in contents, names and link targets.
    sb.bk(
        &sb.path(""),
        &[
            "new",
            "ckan-site",
            "other",
            "--set",
            "name=other",
            "--set",
            "domain=other.example.org",
        ],
    )
    .ok();
    let other = sb.path("other");
    assert_eq!(
        std::fs::read_to_string(other.join("bin/other-admin")).expect("works"),
        "#!/bin/sh\necho \"other admin for other.example.org\" ${HOME}\n"
    );
    assert_eq!(
        std::fs::read_to_string(other.join("other/templates/page.html")).expect("works"),
        "{% block body %}{{ other.title }}{# note #}{% endblock %}\n"
    );
    assert_eq!(
        std::fs::read_link(other.join("admin")).expect("works"),
        Path::new("bin/other-admin")
    );
    assert_eq!(
        std::fs::read(other.join("logo.bin")).expect("works"),
        b"\x00\x01ckan\xff"
    );
    // It is a git repository with the flow, like any new project.
    assert_eq!(
        sb.git(&other, &["branch", "--show-current"]).trim(),
        "develop"
    );

    // A second create of the same name writes over nothing.
    let run = sb.bk(
        &sb.path(""),
        &[
            "template",
            "create",
            "ckan",
            "ckan-site",
            "--var",
            "name=ckan",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("exists and is not empty"),
        "{}",
        run.stderr
    );
}

#[test]
fn template_update_merges_the_templates_changes_and_leaves_conflicts_as_markers() {
    let sb = Sandbox::new();
    let tree = sb.path("src");
    write_files(
        &tree,
        &[
            ("app.conf", "name = demo\nport = 8080\nmode = fast\n", false),
            ("notes.txt", "demo notes\nline two\n", false),
        ],
    );
    let template = sb.path("tpl");
    sb.bk(
        &sb.path(""),
        &[
            "template",
            "create",
            "src",
            "demo",
            "--var",
            "name=demo",
            "-o",
            "tpl",
        ],
    )
    .ok();
    let dir = sb.path("proj");
    sb.bk(
        &sb.path(""),
        &["new", "./tpl", "proj", "--set", "name=myapp"],
    )
    .ok();
    let record = std::fs::read_to_string(dir.join(".buildkit-template.toml")).expect("record");
    assert!(
        record.contains(&format!("template = \"{}\"", template.display())),
        "{record}"
    );

    // Nothing changed in the template: nothing to merge.
    let run = sb.bk(&dir, &["template", "update", "--json"]).ok();
    assert_eq!(json(&run.stdout)["outcome"], "up-to-date");

    // The user changes notes.txt; the template changes app.conf.
    std::fs::write(dir.join("notes.txt"), "myapp notes\nline two, mine\n").expect("write");
    sb.git(&dir, &["commit", "-qam", "My notes"]);
    std::fs::write(
        template.join("app.conf"),
        "name = {{ name }}\nport = 8080\nmode = safe\n",
    )
    .expect("write");
    let run = sb.bk(&dir, &["template", "update", "--json"]).ok();
    assert_eq!(json(&run.stdout)["outcome"], "merged", "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.join("app.conf")).expect("works"),
        "name = myapp\nport = 8080\nmode = safe\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("works"),
        "myapp notes\nline two, mine\n",
        "the user's change is kept"
    );
    assert_eq!(sb.git(&dir, &["status", "--porcelain"]), "");

    // Both change the same line of notes.txt: conflict markers, exit 1.
    std::fs::write(
        template.join("notes.txt"),
        "{{ name }} notes\nline two, theirs\n",
    )
    .expect("write");
    let run = sb.bk(&dir, &["template", "update"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the template's changes conflict with yours in notes.txt"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("git merge --abort"), "{}", run.stderr);
    let notes = std::fs::read_to_string(dir.join("notes.txt")).expect("works");
    assert!(
        notes.contains("<<<<<<<")
            && notes.contains("line two, mine")
            && notes.contains("line two, theirs"),
        "{notes}"
    );
    sb.git(&dir, &["merge", "--abort"]);

    // A dirty tree is refused before anything is merged.
    std::fs::write(dir.join("app.conf"), "edited\n").expect("write");
    let run = sb.bk(&dir, &["template", "update"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("uncommitted changes"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("app.conf")).expect("works"),
        "edited\n"
    );
}

#[test]
fn tera_package_files_render_with_the_version_and_hostile_ones_fail_clearly() {
    let sb = Sandbox::new();
    let repo = sb.repo(
        "tera",
        &[
            (
                ".buildkit.toml",
                "[[package]]\nname = \"tera-demo\"\ndescription = \"renders package files\\nA test of .tera files.\"\n\
                 maintainer = \"Jane Doe <jane@example.com>\"\narchitecture = \"all\"\n\
                 maintainer-scripts = \"debian\"\n\
                 assets = [{ src = \"etc/demo.conf.tera\", dest = \"/etc/tera-demo/\" }, { src = \"share/info.tera\", dest = \"/usr/share/tera-demo/info\" }]\n",
                false,
            ),
            ("LICENSE", "Copyright 2026 Jane Doe\nPublic domain.\n", false),
            ("etc/demo.conf.tera", "version = {{ version }}\n", false),
            (
                "share/info.tera",
                "{{ name }} {{ upstream_version }} {{ architecture }} {{ tag }} {{ commit }}\n",
                false,
            ),
            (
                "debian/postinst.tera",
                "#!/bin/sh\nset -e\necho \"configured {{ name }} {{ version }}\"\n#DEBHELPER#\n",
                true,
            ),
        ],
    );
    sb.tag(&repo, "2026-03-01T10:00:00Z", "v1.2.0");
    let out = sb.path("out");
    let run = sb
        .bk(
            &repo,
            &[
                "package",
                "v1.2.0",
                "-o",
                out.to_str().expect("utf8"),
                "--json",
            ],
        )
        .ok();
    let deb = json(&run.stdout)[0]["path"]
        .as_str()
        .expect("path")
        .to_owned();
    let commit = sb.git(&repo, &["rev-parse", "v1.2.0^{commit}"]);
    let extract = |member: &str| {
        sb.run(
            &repo,
            "sh",
            &[
                "-c",
                &format!("dpkg-deb --fsys-tarfile '{deb}' | tar -xO '{member}'"),
            ],
        )
        .ok()
        .stdout
    };
    assert_eq!(extract("./etc/tera-demo/demo.conf"), "version = 1.2.0-1\n");
    assert_eq!(
        extract("./usr/share/tera-demo/info"),
        format!("tera-demo 1.2.0 all v1.2.0 {}\n", commit.trim())
    );
    let postinst = sb
        .run(&repo, "dpkg-deb", &["-I", &deb, "postinst"])
        .ok()
        .stdout;
    assert!(
        postinst.contains("echo \"configured tera-demo 1.2.0-1\""),
        "{postinst}"
    );
    let conffiles = sb
        .run(&repo, "dpkg-deb", &["-I", &deb, "conffiles"])
        .ok()
        .stdout;
    assert_eq!(conffiles, "/etc/tera-demo/demo.conf\n");

    // From a tag someone else pushed: a file that tries to read the host,
    // one that never ends, one that expands without bound, bad syntax.
    for (text, message) in [
        ("{% include \"/etc/passwd\" %}", "share/info.tera: "),
        (
            "{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% for k in range(end=100000) %}{% endfor %}{% endfor %}{% endfor %}",
            "rendering took longer than 10 s",
        ),
        (
            "{% for i in range(end=100000) %}{% for j in range(end=1000) %}xxxxxxxxxxxxxxxx{% endfor %}{% endfor %}",
            "exceed 1 MiB",
        ),
        ("{{ undefined_thing }}", "share/info.tera: "),
        (
            "{% set_global x=\"aaaaaaaaaaaaaaaa\" %}{% for i in range(end=40) %}{% set_global x = x ~ x %}{% endfor %}{{ x|length }}",
            "rendering needed more than 1024 MiB of memory",
        ),
    ] {
        std::fs::write(repo.join("share/info.tera"), text).expect("write");
        sb.commit(&repo, "2026-03-02T10:00:00Z", "Hostile");
        sb.tag(&repo, "2026-03-02T10:00:00Z", "v1.3.0");
        let run = sb.bk(&repo, &["package", "v1.3.0", "-o", out.to_str().expect("utf8")]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("package tera-demo: "), "{}", run.stderr);
        assert!(run.stderr.contains(message), "{message}: {}", run.stderr);
        assert!(!run.stderr.contains("root:x:0"), "{}", run.stderr);
        sb.git(&repo, &["tag", "-d", "v1.3.0"]);
    }
}

#[test]
fn a_template_cannot_write_outside_its_project_through_symlinks() {
    let sb = Sandbox::new();
    let evil = sb.path("evil");
    write_files(
        &evil,
        &[
            ("buildkit-template.toml", "description = \"evil\"\n", false),
            ("{{ \"b\" }}/pwned.txt", "pwned\n", false),
        ],
    );
    std::os::unix::fs::symlink(".", evil.join("a")).expect("symlink");
    std::os::unix::fs::symlink("a/..", evil.join("b")).expect("symlink");
    std::fs::create_dir(sb.path("out")).expect("mkdir");
    let run = sb.bk(&sb.path(""), &["new", "./evil", "out/proj", "--no-git"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("symlink"), "{}", run.stderr);
    assert_eq!(
        crate::common::dir_names(&sb.path("out")),
        Vec::<String>::new()
    );
}

#[test]
fn update_refuses_main_and_a_squashed_history_and_new_fills_the_current_directory() {
    let sb = Sandbox::new();
    write_files(&sb.path("src"), &[("notes.txt", "demo notes\n", false)]);
    sb.bk(
        &sb.path(""),
        &[
            "template",
            "create",
            "src",
            "demo",
            "--var",
            "name=demo",
            "-o",
            "tpl",
        ],
    )
    .ok();
    // `new TEMPLATE .` in an empty directory keeps that directory.
    let dir = sb.path("proj");
    std::fs::create_dir(&dir).expect("mkdir");
    sb.bk(&dir, &["new", "../tpl", ".", "--set", "name=myapp"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("made"),
        "myapp notes\n"
    );

    sb.git(&dir, &["checkout", "-q", "main"]);
    let run = sb.bk(&dir, &["template", "update"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("main is the flow's main branch"),
        "{}",
        run.stderr
    );
    sb.git(&dir, &["checkout", "-q", "develop"]);

    // The user's work squashed into the first commit: its message still
    // has the trailer, but its tree is not the rendering; nothing is undone.
    std::fs::write(dir.join("notes.txt"), "mine\n").expect("write");
    sb.git(&dir, &["commit", "-qam", "Mine"]);
    let root = sb.git(&dir, &["rev-list", "--max-parents=0", "HEAD"]);
    sb.git(&dir, &["reset", "--soft", root.trim()]);
    sb.git(&dir, &["commit", "-q", "--amend", "--no-edit"]);
    std::fs::write(sb.path("tpl/notes.txt"), "{{ name }} notes, new\n").expect("write");
    let run = sb.bk(&dir, &["template", "update"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("holds a rendering of its template"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("kept"),
        "mine\n"
    );
}

#[test]
fn template_create_keeps_big_files_as_they_are_and_refuses_what_it_cannot_keep() {
    let sb = Sandbox::new();
    let tree = sb.path("big");
    let big = format!(
        "{{\"name\": \"big\", \"data\": \"{}\"}}\n",
        "x{{ ".repeat(600_000)
    );
    write_files(
        &tree,
        &[("data.json", &big, false), ("README", "big\n", false)],
    );
    sb.bk(
        &sb.path(""),
        &[
            "template", "create", "big", "big-t", "--var", "name=big", "-o", "t",
        ],
    )
    .ok();
    sb.bk(&sb.path(""), &["new", "./t", "again", "--no-git"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(sb.path("again/data.json")).expect("copied"),
        big
    );

    // A tree git ignores entirely is no template.
    let ignored = sb.path("ignored");
    write_files(
        &ignored,
        &[(".gitignore", "*\n", false), ("a.txt", "a\n", false)],
    );
    sb.run(&ignored, "git", &["init", "-q"]).ok();
    let run = sb.bk(
        &sb.path(""),
        &[
            "template", "create", "ignored", "ig", "--var", "name=a", "-o", "ig",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("has no files to make a template of"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("ig").exists());
}

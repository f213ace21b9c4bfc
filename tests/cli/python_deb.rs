//! `python deb`: wheels to .debs without git or pip — every file of a
//! wheel kept byte for byte, hostile or broken wheels refused with nothing
//! written.

use std::path::Path;

use crate::common::{assert_lintian_clean, dir_names, Sandbox};
use crate::wheels::{craft_wheel, metadata, Flaw};

const INIT: &[u8] = b"\"\"\"The package.\"\"\"\nVALUE = 42\n";
const LICENSE: &[u8] = b"Copyright 2026 Test Author\n\nMIT License\n";

fn wheels(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).expect("dir");
    let app = craft_wheel(
        dir,
        "tapp",
        "1.0.0",
        &[
            ("tapp/__init__.py", INIT),
            ("tapp/empty/__init__.py", b""),
            ("tapp/dist/data.py", b"X = 'kept'\n"),
            ("tapp-1.0.0.dist-info/licenses/LICENSE", LICENSE),
        ],
        &metadata(
            "tapp",
            "1.0.0",
            &[
                "tlib>=1.0rc1",
                "never; python_version < '3'",
                "extra-only; extra == 'x'",
            ],
        ),
        Some("[console_scripts]\ntapp = tapp:main\n"),
        Flaw::None,
    );
    let lib = craft_wheel(
        dir,
        "tlib",
        "1.0rc2",
        &[
            ("tlib.py", b"def f():\n    return 1\n"),
            ("tlib-1.0rc2.dist-info/LICENSE", LICENSE),
        ],
        &metadata("tlib", "1.0rc2", &[]),
        None,
        Flaw::None,
    );
    vec![app.display().to_string(), lib.display().to_string()]
}

#[test]
fn every_file_of_the_wheels_is_packaged_byte_for_byte_and_lintian_clean() {
    let sb = Sandbox::new();
    let w = wheels(&sb.path("wheels"));
    let out = sb.path("out");
    let mut args = vec![
        "python",
        "deb",
        "-o",
        out.to_str().expect("utf8"),
        "--maintainer",
        "Test Author <author@example.com>",
    ];
    args.extend(w.iter().map(String::as_str));
    sb.bk(&sb.path(""), &args).ok();
    assert_eq!(
        dir_names(&out),
        ["tapp-python-tlib_1.0~rc2-1_all.deb", "tapp_1.0.0-1_all.deb"]
    );
    let root = sb.path("root");
    for deb in dir_names(&out) {
        sb.run(
            &out,
            "dpkg-deb",
            &["-x", &deb, root.to_str().expect("utf8")],
        )
        .ok();
        assert_lintian_clean(&sb, &out, &deb);
    }
    let python = root.join("usr/lib/tapp/python");
    // BuildKit emptied __init__.py files and dropped directories named dist.
    assert_eq!(
        std::fs::read(python.join("tapp/__init__.py")).expect("init"),
        INIT
    );
    assert_eq!(
        std::fs::read(python.join("tapp/empty/__init__.py")).expect("empty init"),
        b""
    );
    assert_eq!(
        std::fs::read(python.join("tapp/dist/data.py")).expect("dist dir"),
        b"X = 'kept'\n"
    );
    assert!(python.join("tapp-1.0.0.dist-info/METADATA").is_file());
    assert!(python
        .join("tapp-1.0.0.dist-info/entry_points.txt")
        .is_file());
    assert!(!python.join("tapp-1.0.0.dist-info/RECORD").exists());
    // The pre-release sorts before the release, markers evaluated.
    let depends = sb
        .run(
            &out,
            "dpkg-deb",
            &["-f", "tapp-python-tlib_1.0~rc2-1_all.deb", "Version"],
        )
        .ok()
        .stdout;
    assert_eq!(depends.trim(), "1.0~rc2-1");
    let depends = sb
        .run(&out, "dpkg-deb", &["-f", "tapp_1.0.0-1_all.deb", "Depends"])
        .ok()
        .stdout;
    assert_eq!(
        depends.trim(),
        "python3:any, tapp-python-tlib (= 1.0~rc2-1)"
    );
    // The script runs the entry point with the private directory first.
    let script = std::fs::read_to_string(root.join("usr/bin/tapp")).expect("script");
    assert!(script.contains("from tapp import main\n"), "{script}");
}

#[test]
fn broken_wheels_are_clear_errors_and_nothing_is_written() {
    let sb = Sandbox::new();
    let dir = sb.path("w");
    let good = wheels(&dir);
    let out = sb.path("out");
    std::fs::create_dir_all(&out).expect("out");
    let not_zip = dir.join("bad-1.0-py3-none-any.whl");
    std::fs::write(&not_zip, b"not a zip").expect("write");
    let no_name = craft_wheel(
        &sb.path("n"),
        "noname",
        "1.0",
        &[("noname.py", b"")],
        "Metadata-Version: 2.1\nVersion: 1.0\n",
        None,
        Flaw::None,
    );
    let bad_hash = craft_wheel(
        &sb.path("h"),
        "badhash",
        "1.0",
        &[("badhash.py", b"x = 1\n")],
        &metadata("badhash", "1.0", &[]),
        None,
        Flaw::BadHash,
    );
    let clash = craft_wheel(
        &sb.path("c"),
        "clash",
        "1.0",
        &[("tlib.py", b"other\n")],
        &metadata("clash", "1.0", &["tlib"]),
        None,
        Flaw::None,
    );
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![not_zip.display().to_string()], "not a zip archive"),
        (vec![no_name.display().to_string()], "no Name field"),
        (vec![bad_hash.display().to_string()], "where RECORD says"),
        (
            vec![good[0].clone()],
            "requires tlib>=1.0rc1, but no wheel of it is in the wheelhouse",
        ),
        (
            vec![clash.display().to_string(), good[1].clone()],
            "/usr/lib/clash/python/tlib.py is installed by both",
        ),
    ];
    for (files, expected) in cases {
        let mut args = vec!["python", "deb", "-o", out.to_str().expect("utf8")];
        args.extend(files.iter().map(String::as_str));
        let run = sb.bk(&sb.path(""), &args);
        assert_eq!(run.code, 1, "{files:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{files:?}: want {expected:?} in\n{}",
            run.stderr
        );
        assert!(
            dir_names(&out).is_empty(),
            "{files:?} left {:?}",
            dir_names(&out)
        );
    }
}

#[test]
fn a_zip_slip_member_is_refused() {
    let sb = Sandbox::new();
    let dir = sb.path("w");
    std::fs::create_dir_all(&dir).expect("dir");
    let evil = craft_wheel(
        &dir,
        "evil",
        "1.0",
        &[("../../escape.py", b"x\n")],
        &metadata("evil", "1.0", &[]),
        None,
        Flaw::None,
    );
    let out = sb.path("out");
    let run = sb.bk(
        &sb.path(""),
        &[
            "python",
            "deb",
            "-o",
            out.to_str().expect("utf8"),
            evil.to_str().expect("utf8"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("unsafe member path"), "{}", run.stderr);
    assert!(!sb.path("escape.py").exists());
}

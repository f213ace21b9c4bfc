//! A Python application with its dependency closure, from a tag to a VM:
//! packaged from a local wheelhouse (no package index), published, and
//! installed by apt in a real guest, where its console script runs and
//! imports its dependencies from the application's private directory,
//! next to Debian's own `python3-requests` (real qemu, real apt, Debian's
//! python3 through the caching proxy).

use crate::common::{vm_slot, Sandbox};
use crate::python_package::PYPROJECT;
use crate::vm::results;

const MODULE: &str = r#""""myapp: prints the version and origin of what it imports."""


def main():
    import idna
    import requests
    import urllib3
    for module in (requests, urllib3, idna):
        print(module.__name__, module.__version__, module.__file__)
"#;

/// The smoke tests, in order, in one boot. Debian's python3-requests is
/// installed with the app (a DEP-8 test depends on it, so one apt run
/// installs both): each program imports its own copy, Debian's python3
/// never sees ours, and removing ours leaves nothing behind.
const VM: &str = r#"[vm]
image = "python3"
timeout = "5m"
smoke = [
  "myapp | grep -qx 'requests 2.34.2 /usr/lib/myapp/python/requests/__init__.py'",
  "myapp | grep -q '^urllib3 2.8.0 /usr/lib/myapp/python/'",
  "python3 -c 'import requests, urllib3; print(requests.__file__, urllib3.__version__)' | grep -q '^/usr/lib/python3/dist-packages/requests/__init__.py 1\\.26\\.'",
  "ls /usr/lib/myapp/python/requests/__pycache__/ | grep -q 'cpython-311.pyc'",
  "apt-get -q purge -y myapp $(dpkg-query -W -f '${Package} ' 'myapp-python-*')",
  "test ! -e /usr/lib/myapp",
  "python3 -c 'import requests'",
]
"#;

/// A DEP-8 test whose dependency brings Debian's own requests.
const CONTROL: &str = "Test-Command: python3 -c 'import requests'\nDepends: python3-requests\n";

#[test]
fn the_app_and_its_closure_install_from_the_repository_next_to_debians_python3_requests() {
    let wheelhouse = crate::wheelhouse::wheelhouse();
    let sb = Sandbox::new();
    let apt = sb.path("apt");
    let config = format!(
        r#"[[package]]
name = "myapp"
kind = "python"
maintainer = "Test Author <author@example.com>"
python = {{ build-isolation = false }}

[repo]
path = "{}"
suite = "stable"

[hooks]
on-tag = ["package", "publish"]

{VM}"#,
        apt.display()
    );
    let repo = sb.repo(
        "myapp",
        &[
            (".buildkit.toml", &config, false),
            ("pyproject.toml", PYPROJECT, false),
            ("myapp/__init__.py", MODULE, false),
            ("debian/tests/control", CONTROL, false),
            (
                "LICENSE",
                "Copyright 2026 Test Author\n\nMIT License\n",
                false,
            ),
            (
                "README.md",
                "# myapp\n\nPrints where its dependencies come from.\n",
                false,
            ),
        ],
    );
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
    sb.generate_key(&repo, "VM Test", "vm@example.com");
    let wh = wheelhouse.to_str().expect("utf8");
    sb.bk_env(
        &repo,
        &["-q", "pipeline", "v1.0.0"],
        &[("BUILDKIT_WHEELHOUSE", wh)],
    )
    .ok();

    let _vm = vm_slot();
    crate::common::python3_image();
    let run = sb.bk_env(
        &repo,
        &["vm-test", "v1.0.0", "--json"],
        &[("BUILDKIT_WHEELHOUSE", wh)],
    );
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("no JSON verdict ({e})\n{}\n{}", run.stdout, run.stderr));
    assert_eq!(
        verdict["verdict"],
        "passed",
        "{:#?}\n{}",
        results(&verdict),
        run.stderr
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names: Vec<String> = results(&verdict)
        .into_iter()
        .map(|(n, o, _)| format!("{n} {o}"))
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
}

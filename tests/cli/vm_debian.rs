//! Debian dependencies in the VM, through the built-in caching apt proxy
//! (real qemu, real apt in the guest, the real Debian mirror the host's apt
//! uses: these are the few tests that need it). The proxy's cache is the
//! one every test shares (`BUILDKIT_APT_CACHE`), like the VM images.

use serde_json::Value;

use crate::common::{vm_slot, write_files, Sandbox};
use crate::vm::VmProject;

/// `cache status --json`.
fn cache_status(p: &VmProject) -> Value {
    let run = p.bk(&["cache", "status", "--json"]).ok();
    serde_json::from_str(&run.stdout).expect("cache status JSON")
}

fn upstream_requests(status: &Value) -> u64 {
    status["counters"]["upstream_requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("no upstream_requests in {status:#}"))
}

const SMOKE: &str = r#"[vm]
smoke = [
  "echo '{\"answer\": 41}' | jq '.answer + 1' | grep -qx 42",
  "echo '6*7' | bc | grep -qx 42",
]
timeout = "2m"
"#;

#[test]
fn debian_dependencies_install_through_the_cache_and_a_mirror_fault_names_the_package() {
    let p = VmProject::new(r#"depends = ["jq", "bc"]"#, SMOKE, &[]);
    let _vm = vm_slot();

    // First run: whatever the cache lacks comes from the mirror.
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "passed", "{verdict:#}");
    assert!(
        run.stderr.contains("jq, bc not in the image"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("http://10.0.2.101/deb.debian.org/debian bookworm"),
        "{}",
        run.stderr
    );

    // Second run: everything from the cache, nothing asked upstream.
    let before = cache_status(&p);
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "passed", "{verdict:#}");
    let after = cache_status(&p);
    assert_eq!(
        upstream_requests(&after),
        upstream_requests(&before),
        "the second run asked the mirror:\nbefore {before:#}\nafter {after:#}"
    );
    assert!(
        after["counters"]["hits"].as_u64() > before["counters"]["hits"].as_u64(),
        "{after:#}"
    );

    // A new dependency while the mirror is unreachable (the host's proxy
    // variable points at a closed port): what is cached is still served,
    // the missing package is a test-bed failure that names it.
    write_files(
        &p.repo,
        &[(
            ".buildkit.toml",
            &std::fs::read_to_string(p.repo.join(".buildkit.toml"))
                .expect("config")
                .replace(
                    r#"depends = ["jq", "bc"]"#,
                    r#"depends = ["jq", "bc", "tree"]"#,
                ),
            false,
        )],
    );
    p.sb.commit(&p.repo, "2026-01-03T10:00:00Z", "needs tree");
    p.sb.tag(&p.repo, "2026-01-03T10:00:00Z", "v1.1.0");
    p.bk(&["-q", "pipeline", "v1.1.0"]).ok();
    let run = p.sb.bk_env(
        &p.repo,
        &["vm-test", "v1.1.0"],
        &[
            ("http_proxy", "http://127.0.0.1:9"),
            ("https_proxy", "http://127.0.0.1:9"),
        ],
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("could not fetch tree"),
        "the fault should name the package:\n{}",
        run.stderr
    );
}

#[test]
fn recommends_false_installs_only_what_the_packages_depend_on() {
    // jq is a dependency (so the guest reaches Debian), bc only recommended:
    // with `recommends = false` apt leaves bc out, as autopkgtest does for
    // test dependencies; by default it installs it, as for users.
    let p = VmProject::new(
        "depends = [\"jq\"]\nrecommends = [\"bc\"]",
        "[vm]\nrecommends = false\nsmoke = [\"jq --version\", \"! command -v bc\"]\n",
        &[],
    );
    let _vm = vm_slot();
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "passed", "{verdict:#}");

    let config = std::fs::read_to_string(p.repo.join(".buildkit.toml")).expect("config");
    let config = config
        .replace("recommends = false\n", "")
        .replace("\"! command -v bc\"", "\"command -v bc\"");
    write_files(&p.repo, &[(".buildkit.toml", &config, false)]);
    p.sb.commit(&p.repo, "2026-01-03T10:00:00Z", "with its Recommends");
    p.sb.tag(&p.repo, "2026-01-03T10:00:00Z", "v1.1.0");
    p.bk(&["-q", "pipeline", "v1.1.0"]).ok();
    let run = p.bk(&["vm-test", "v1.1.0", "--json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn debian_false_closes_the_guest_to_debian() {
    let p = VmProject::new(
        r#"depends = ["jq"]"#,
        "[vm]\ndebian = false\nsmoke = [\"true\"]\n",
        &[],
    );
    let _vm = vm_slot();
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "testbed-failed", "{verdict:#}");
    assert!(!run.stderr.contains("10.0.2.101"), "{}", run.stderr);
}

#[test]
fn vm_create_offline_builds_from_the_cache_alone_and_names_what_is_missing() {
    // The default image's build filled the shared cache (on a fresh
    // machine, in this very run): its recipe builds again offline.
    let _vm = vm_slot();
    let sb = Sandbox::new();
    let vm = sb.path("vm");
    let vm = vm.to_str().expect("utf8");
    let empty = sb.path("empty-cache");
    let run = sb.bk_env(
        &sb.path(""),
        &["vm", "create", "offline", "--offline"],
        &[
            ("BUILDKIT_VM_CACHE", vm),
            ("BUILDKIT_APT_CACHE", empty.to_str().expect("utf8")),
        ],
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("not in the cache (offline): ") && run.stderr.contains("InRelease"),
        "{}",
        run.stderr
    );

    let status = |sb: &Sandbox| -> Value {
        let run = sb.bk(&sb.path(""), &["cache", "status", "--json"]).ok();
        serde_json::from_str(&run.stdout).expect("cache status JSON")
    };
    let before = status(&sb);
    let run = sb.bk_env(
        &sb.path(""),
        &["vm", "create", "offline", "--offline", "--json"],
        &[("BUILDKIT_VM_CACHE", vm)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let image: Value = serde_json::from_str(&run.stdout).expect("image JSON");
    assert!(
        image["manifest"]["packages"]
            .as_array()
            .is_some_and(|p| p.iter().any(|n| n == "systemd")),
        "{image:#}"
    );
    let after = status(&sb);
    assert_eq!(
        upstream_requests(&after),
        upstream_requests(&before),
        "an offline build asked the mirror"
    );
}

//! The `debian-service` built-in template (issue 15): a project made by
//! `new` releases on its first tag with no edit. The tag hook's pipeline
//! runs the project's tests, packages (lintian-clean, the `.tera` unit and
//! script rendered with the tag's version), publishes to staging, boots a
//! full systemd guest whose smoke commands and DEP-8 test connect to the
//! socket-activated service and read its greeting, and promotes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{assert_lintian_clean, dir_names, vm_slot, Sandbox};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// `jobs --json` in `dir` once every job has ended (5 min at most: the job
/// boots a systemd guest under software emulation), with the logs of the
/// jobs in the panic message otherwise.
fn ended_jobs(sb: &Sandbox, dir: &Path) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let jobs = json(&sb.bk(dir, &["jobs", "--json"]).ok().stdout);
        let jobs = jobs.as_array().expect("array").clone();
        let ended = |j: &Value| j["state"] == "succeeded" || j["state"] == "failed";
        if !jobs.is_empty() && jobs.iter().all(ended) {
            return jobs;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = jobs
                .iter()
                .map(|j| {
                    std::fs::read_to_string(j["log"].as_str().unwrap_or("")).unwrap_or_default()
                })
                .collect();
            panic!(
                "the jobs did not end: {jobs:#?}\nlogs:\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The files of `deb`, unpacked under `<sandbox>/unpacked`.
fn unpack(sb: &Sandbox, deb: &Path) -> PathBuf {
    let out = sb.path("unpacked");
    let (deb, out_str) = (deb.to_str().expect("utf8"), out.to_str().expect("utf8"));
    sb.run(&sb.path(""), "dpkg-deb", &["-x", deb, out_str]).ok();
    sb.run(
        &sb.path(""),
        "dpkg-deb",
        &["-e", deb, &format!("{out_str}/DEBIAN")],
    )
    .ok();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn debian_service_releases_on_its_first_tag_and_answers_on_its_port_in_a_systemd_vm() {
    let sb = Sandbox::new();
    let dir = sb.path("hellod");
    let dir_str = dir.to_str().expect("utf8");
    sb.bk(
        &sb.path(""),
        &[
            "-q",
            "new",
            "debian-service",
            dir_str,
            "--set",
            "name=hellod",
            "--set",
            "author=Jane Doe <jane@example.com>",
            "--set",
            "port=8123",
        ],
    )
    .ok();
    sb.generate_key(&dir, "Hellod Packages", "ops@example.com");

    // The release, as a user types it: the tag hook starts the pipeline.
    sb.bk(&dir, &["-q", "release", "start", "0.1.0"]).ok();
    let _vm = vm_slot();
    sb.bk(&dir, &["-q", "release", "finish", "-m", "0.1.0"])
        .ok();
    let jobs = ended_jobs(&sb, &dir);
    let jobs: Vec<(&str, &str)> = jobs
        .iter()
        .map(|j| {
            (
                j["tag"].as_str().unwrap_or(""),
                j["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(jobs, [("v0.1.0", "succeeded")]);

    let record = json(&sb.bk(&dir, &["show", "v0.1.0", "--json"]).ok().stdout);
    let stages: Vec<(&str, &str)> = record["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("package", "succeeded"),
            ("publish", "succeeded"),
            ("vm-test", "succeeded"),
            ("promote", "succeeded"),
        ],
        "{record:#}"
    );
    // Four smoke commands and the DEP-8 test `answers`, in a systemd guest.
    let vm = &record["vm"];
    assert_eq!(
        (
            vm["verdict"].as_str(),
            vm["mode"].as_str(),
            vm["passed"].as_u64(),
            vm["failed"].as_u64(),
            vm["skipped"].as_u64(),
        ),
        (Some("passed"), Some("systemd"), Some(5), Some(0), Some(0)),
        "{vm:#}"
    );
    assert_eq!(
        (
            record["promotion"]["to"].as_str(),
            record["promotion"]["packages"].clone()
        ),
        (Some("stable"), serde_json::json!(["hellod=0.1.0-1"]))
    );

    // The package the pipeline built: lintian-clean, its `.tera` files
    // rendered with the tag's version, its conffile and maintainer scripts.
    let dist = dir.join(".git/buildkit/dist/v0.1.0");
    assert_eq!(dir_names(&dist), ["hellod_0.1.0-1_all.deb"]);
    let deb = dist.join("hellod_0.1.0-1_all.deb");
    assert_lintian_clean(&sb, &dir, deb.to_str().expect("utf8"));
    let root = unpack(&sb, &deb);
    assert_eq!(
        read(&root.join("lib/systemd/system/hellod.socket")),
        "[Unit]\nDescription=hellod 0.1.0: small network service that answers with a greeting\n\
         Documentation=file:/usr/share/doc/hellod/README.md\n\n[Socket]\n\
         ListenStream=127.0.0.1:8123\nAccept=yes\n\
         # Connections at once; more wait in the listen queue.\nMaxConnections=64\n\n\
         [Install]\nWantedBy=sockets.target\n"
    );
    let script = read(&root.join("usr/libexec/hellod/hellod"));
    assert!(script.lines().any(|l| l == "VERSION=\"0.1.0\""), "{script}");
    assert_eq!(
        read(&root.join("etc/hellod/hellod.conf")),
        "# hellod: read at each connection, so an edit needs no restart.\n\
         # The port (127.0.0.1:8123) is the socket's: `systemctl edit hellod.socket`.\n\
         greeting=Hello from hellod\n"
    );
    assert_eq!(
        read(&root.join("DEBIAN/conffiles")),
        "/etc/hellod/hellod.conf\n"
    );
    assert_eq!(
        dir_names(&root.join("DEBIAN")),
        [
            "conffiles",
            "control",
            "md5sums",
            "postinst",
            "postrm",
            "prerm"
        ]
    );
    let postinst = read(&root.join("DEBIAN/postinst"));
    let user = postinst.find("adduser --system").expect("adduser");
    let start = postinst
        .find("deb-systemd-invoke $_dh_action 'hellod.socket'")
        .expect("the socket's start");
    assert!(
        user < start,
        "the user must exist before the socket starts:\n{postinst}"
    );
}

//! The `debian-service` built-in template (issue 15): a project made by
//! `new` releases on its first tag with no edit. The tag hook's pipeline
//! runs the project's tests, packages (lintian-clean, the `.tera` unit and
//! script rendered with the tag's version), publishes to staging, boots a
//! full systemd guest whose smoke commands and DEP-8 test connect to the
//! socket-activated service and read its greeting, and promotes.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{assert_lintian_clean, dir_names, vm_slot, Sandbox};
use crate::templates::{assert_gated_run_passed, generate, release};

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
    let (sb, dir) = generate(
        "debian-service",
        &[
            "name=hellod",
            "author=Jane Doe <jane@example.com>",
            "port=8123",
        ],
    );
    // The release, as a user types it: the tag hook starts the pipeline.
    let _vm = vm_slot();
    let record = release(&sb, &dir);
    assert_gated_run_passed(&record);
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

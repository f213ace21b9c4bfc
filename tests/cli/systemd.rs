//! A package that ships a systemd unit gets dh_installsystemd's
//! maintainer-script snippets (issue 12, item 5), byte for byte as debhelper
//! 13 writes them from its autoscripts (libdebhelper-perl), merged into the
//! project's own scripts at `#DEBHELPER#`; a hostile unit name is refused.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{assert_lintian_clean, dir_names, Sandbox};

/// The unit: sleeps until stopped.
pub const SLEEPER: &str = "[Unit]\nDescription=Sleeps until stopped\n\n[Service]\n\
                           ExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n";

/// The package's table, `extra` lines appended.
pub fn sleeper_config(dest: &str, extra: &str) -> String {
    format!(
        "[[package]]\nname = \"sleeper\"\ndescription = \"sleeps as a service\\nA package whose only \
         service sleeps until it is stopped.\"\nmaintainer = \"T <t@example.com>\"\n\
         assets = [{{ src = \"sleeper.service\", dest = \"{dest}\" }}]\n\
         maintainer-scripts = \"debian\"\n{extra}"
    )
}

/// The project's postinst, with the token.
const POSTINST: &str = "#!/bin/sh\nset -e\n#DEBHELPER#\nexit 0\n";

/// A repository with the unit and the postinst, `config` at v0.9.0 and an
/// empty second release v1.0.0 (a first release warns in lintian).
fn project(sb: &Sandbox, config: &str) -> PathBuf {
    let repo = sb.repo(
        "sleeper",
        &[
            ("COPYING", "Public domain.\n", false),
            ("sleeper.service", SLEEPER, false),
            ("debian/postinst", POSTINST, true),
            (".buildkit.toml", config, false),
        ],
    );
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v0.9.0");
    sb.git_at(
        &repo,
        "2026-01-03T10:00:00Z",
        &["commit", "-q", "--allow-empty", "-m", "Second release"],
    );
    sb.tag(&repo, "2026-01-03T10:00:00Z", "v1.0.0");
    repo
}

/// debhelper's autoscript `name` with its tokens replaced, between markers.
fn autoscript(name: &str, replace: &[(&str, &str)]) -> String {
    let path = Path::new("/usr/share/debhelper/autoscripts").join(name);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (install libdebhelper-perl)", path.display()));
    for (token, value) in replace {
        text = text.replace(token, value);
    }
    format!("# Automatically added by git-buildkit\n{text}# End automatically added section\n")
}

/// The control members of `deb`, extracted.
fn control(sb: &Sandbox, deb: &Path) -> PathBuf {
    let out = sb.path("control");
    let _ = std::fs::remove_dir_all(&out);
    sb.run(
        &sb.path(""),
        "dpkg-deb",
        &[
            "-e",
            deb.to_str().expect("utf8"),
            out.to_str().expect("utf8"),
        ],
    )
    .ok();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_unit_gets_dh_installsystemds_snippets() {
    let sb = Sandbox::new();
    let repo = project(
        &sb,
        &sleeper_config("/lib/systemd/system/sleeper.service", ""),
    );
    let dist = sb.path("dist");
    sb.bk(
        &repo,
        &["package", "v1.0.0", "-o", dist.to_str().expect("utf8")],
    )
    .ok();
    let deb = dist.join("sleeper_1.0.0-1_all.deb");
    let dir = control(&sb, &deb);
    let unit = [
        ("#UNITFILE#", "'sleeper.service'"),
        ("#UNITFILES#", "'sleeper.service'"),
    ];
    let header = "#!/bin/sh\nset -e\n";
    let postinst = format!(
        "{header}{}{}\nexit 0\n",
        autoscript("postinst-systemd-enable", &unit),
        autoscript(
            "postinst-systemd-restart",
            &[("#RESTART_ACTION#", "restart"), unit[1]]
        ),
    );
    assert_eq!(read(&dir.join("postinst")), postinst);
    assert_eq!(
        read(&dir.join("prerm")),
        format!("{header}{}", autoscript("prerm-systemd-restart", &unit))
    );
    assert_eq!(
        read(&dir.join("postrm")),
        format!(
            "{header}{}{}",
            autoscript("postrm-systemd-reload-only", &unit),
            autoscript("postrm-systemd", &unit)
        )
    );
    assert!(!dir.join("preinst").exists());
    let deb = deb.to_str().expect("utf8");
    assert_lintian_clean(&sb, &repo, deb);
}

#[test]
fn enable_false_gives_no_enable_snippet() {
    let sb = Sandbox::new();
    let config = sleeper_config(
        "/usr/lib/systemd/system/sleeper.service",
        "systemd = { units = { \"sleeper.service\" = { enable = false } } }\n",
    );
    let repo = project(&sb, &config);
    let dist = sb.path("dist");
    sb.bk(
        &repo,
        &["package", "v1.0.0", "-o", dist.to_str().expect("utf8")],
    )
    .ok();
    let dir = control(&sb, &dist.join("sleeper_1.0.0-1_all.deb"));
    let unit = [
        ("#UNITFILE#", "'sleeper.service'"),
        ("#UNITFILES#", "'sleeper.service'"),
    ];
    let postinst = read(&dir.join("postinst"));
    assert!(postinst.contains(&autoscript("postinst-systemd-dont-enable", &unit)));
    assert!(!postinst.contains(&autoscript("postinst-systemd-enable", &unit)));
    assert!(postinst.contains("_dh_action=restart"));
}

#[test]
fn a_hostile_unit_name_is_refused() {
    let sb = Sandbox::new();
    let dest = "/lib/systemd/system/x';reboot;'.service";
    let repo = project(&sb, &sleeper_config(dest, ""));
    let dist = sb.path("dist");
    let run = sb.bk(
        &repo,
        &[
            "-q",
            "package",
            "v1.0.0",
            "-o",
            dist.to_str().expect("utf8"),
        ],
    );
    assert_eq!(
        (run.code, run.stderr.lines().next().unwrap_or_default()),
        (
            2,
            "error: package sleeper: systemd unit /lib/systemd/system/x';reboot;'.service: \
             \"x';reboot;'.service\" is not a unit name: use letters, digits and : - _ . \\ (and one @ for a template)"
        )
    );
    assert_eq!(dir_names(&dist), Vec::<String>::new());
}

//! dh_installsystemd's snippets at work in a real systemd guest (issue 12,
//! item 5): a packaged unit is enabled and running right after the install
//! with no smoke command starting it, restarted (a new main PID) when the
//! next version is installed, and gone after a purge. One VM boot: the
//! smoke commands upgrade and purge with apt themselves.

use crate::common::vm_slot;
use crate::vm::{owned, results, VmProject};

const SMOKE: &str = r#"[vm]
mode = "systemd"
timeout = "5m"
smoke = [
  'systemctl is-active sleeper.service && systemctl is-enabled sleeper.service',
  'systemctl show -p MainPID --value sleeper.service > /root/pid && test "$(cat /root/pid)" -gt 0',
  'apt-get -q install -y greet=1.0.1-1 2>&1 && dpkg-query -W -f "\${Version}" greet | grep -qx 1.0.1-1',
  'systemctl is-active sleeper.service && test "$(systemctl show -p MainPID --value sleeper.service)" != "$(cat /root/pid)"',
  'apt-get -q purge -y greet 2>&1 && ! dpkg-query -W greet 2>/dev/null | grep -q .',
  '! systemctl is-enabled sleeper.service && ! systemctl is-active sleeper.service',
  'test -z "$(find /var/lib/systemd/deb-systemd-helper-enabled /etc/systemd/system -name "sleeper*")"',
  'test ! -e /lib/systemd/system/sleeper.service',
]
"#;

#[test]
fn a_unit_is_started_on_install_restarted_on_upgrade_and_gone_after_purge() {
    let p = VmProject::with_apt_at(
        "apt",
        "",
        r#"{ src = "sleeper.service", dest = "/lib/systemd/system/sleeper.service" },"#,
        SMOKE,
        &[("sleeper.service", crate::systemd::SLEEPER, false)],
    );
    // The next version in the same repository, for the upgrade.
    p.sb.git_at(
        &p.repo,
        "2026-01-03T10:00:00Z",
        &["commit", "-q", "--allow-empty", "-m", "Next release"],
    );
    p.sb.tag(&p.repo, "2026-01-03T10:00:00Z", "v1.0.1");
    p.bk(&["-q", "pipeline", "v1.0.1"]).ok();
    let _vm = vm_slot();
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 0, "{}\n{verdict:#}", run.stderr);
    assert_eq!(verdict["mode"], "systemd", "{verdict:#}");
    let want: Vec<(String, &str, &str)> =
        (1..=8).map(|n| (format!("smoke{n}"), "pass", "")).collect();
    let want: Vec<(&str, &str, &str)> = want.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    assert_eq!(results(&verdict), owned(&want), "{}", run.stderr);
}

//! The maintainer-script snippets of a package's systemd units, as
//! `dh_installsystemd` (debhelper 13.11, compat 13) writes them.
//!
//! The units are the regular files directly in `/lib/systemd/system` or
//! `/usr/lib/systemd/system`; a symlink there is an alias and gets nothing
//! of its own (its target does). Units named in an `Also=` line are handled
//! too, templates and instances (a name with `@`) are not. A unit with an
//! `[Install]` section is enabled on install (`deb-systemd-helper`) and
//! purged from the enablement state on purge; every unit is started on
//! install, restarted after an upgrade (`--restart-after-upgrade`, the
//! compat-13 default: no stop in the preinst), stopped on remove. With
//! `start = false` a unit is not started, only `try-restart`ed after an
//! upgrade (`dh_installsystemd --no-start --restart-after-upgrade`), and
//! not stopped on remove; with `enable = false` it is enabled again on
//! upgrade only if the admin had enabled it (`--no-enable`).
//!
//! The package needs no dependency for this: `deb-systemd-helper` and
//! `deb-systemd-invoke` are in init-system-helpers, which is Essential, and
//! dh_installsystemd adds nothing to `${misc:Depends}`.
//!
//! A unit's name goes into shell scripts, so only names valid by systemd's
//! rules are accepted (those cannot hold a quote, space or `/`), and each is
//! single-quoted in the script, as debhelper does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use crate::config::SystemdConfig;
use crate::deb::{DataTree, EntryKind, FileSource};

/// The directories units are shipped in, without the leading `/`.
const UNIT_DIRS: &[&str] = &["lib/systemd/system/", "usr/lib/systemd/system/"];

/// The unit types systemd knows (`unit_type_from_string`).
const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// systemd's `UNIT_NAME_MAX` less its terminating NUL.
const NAME_MAX: usize = 255;

/// How much of a unit file is read: units are a few KiB.
const UNIT_READ_MAX: u64 = 1 << 20;

/// The marker lines around each snippet.
const BEGIN: &str = "# Automatically added by git-buildkit\n";
const END: &str = "# End automatically added section\n";

/// Why a package's units give no snippets.
#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    /// A file in a unit directory, or a name in `Also=`, is not a unit name.
    #[error("systemd unit {path}: {problem}")]
    BadName { path: String, problem: String },
    /// A unit's `Also=` names a unit the package does not ship.
    #[error("systemd unit {path} says Also={unit}, which the package does not install")]
    MissingAlso { path: String, unit: String },
    /// The configuration names a unit the package does not ship.
    #[error("systemd.units names {unit:?}, which the package does not install (it installs: {installed})")]
    UnknownUnit { unit: String, installed: String },
    /// A unit file could not be read.
    #[error("could not read systemd unit {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What one unit gets: the package's `systemd` settings with the unit's own over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitSettings {
    /// Enable on install (else only re-enable what the admin had enabled).
    pub enable: bool,
    /// Start on install, restart after upgrade, stop on remove (else only
    /// `try-restart` after upgrade).
    pub start: bool,
}

/// The snippets for each maintainer script; empty when there is nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snippets {
    /// For `preinst`.
    pub preinst: String,
    /// For `postinst`.
    pub postinst: String,
    /// For `prerm`.
    pub prerm: String,
    /// For `postrm`.
    pub postrm: String,
}

impl Snippets {
    /// The snippet for maintainer script `script` (`""` for others).
    pub fn of(&self, script: &str) -> &str {
        match script {
            "preinst" => &self.preinst,
            "postinst" => &self.postinst,
            "prerm" => &self.prerm,
            "postrm" => &self.postrm,
            _ => "",
        }
    }
}

/// Checks a unit name by systemd's rules (`unit_name_is_valid`): a prefix of
/// letters, digits and `:-_.\`, at most one `@` (a template `foo@.service` or
/// an instance `foo@bar.service`), a known type after the last dot, 255
/// bytes at most.
pub fn check_unit_name(name: &str) -> Result<(), String> {
    let quoted = format!("{name:?}");
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(format!(
            "{quoted} is not a unit name (1 to {NAME_MAX} bytes)"
        ));
    }
    let Some((stem, kind)) = name.rsplit_once('.') else {
        return Err(format!(
            "{quoted} is not a unit name: it has no .service, .socket, ... suffix"
        ));
    };
    if !UNIT_TYPES.contains(&kind) {
        return Err(format!(
            "{quoted} is not a unit name: .{kind} is not a unit type ({})",
            UNIT_TYPES.join(", ")
        ));
    }
    let valid = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\".contains(&b))
    };
    let ok = match stem.split_once('@') {
        None => !stem.is_empty() && valid(stem),
        Some((prefix, instance)) => !prefix.is_empty() && valid(prefix) && valid(instance),
    };
    if !ok {
        return Err(format!(
            "{quoted} is not a unit name: use letters, digits and : - _ . \\ (and one @ for a template)"
        ));
    }
    Ok(())
}

/// Alias names (symlinks in a unit directory) with the unit each names.
type Aliases = BTreeMap<String, String>;

/// One unit file the package ships.
struct UnitFile {
    /// Where, for messages (`/lib/systemd/system/foo.service`).
    path: String,
    /// Its `[Install]` section is there.
    install: bool,
    /// Its `Also=` names.
    also: Vec<String>,
}

/// The snippets dh_installsystemd would write for the units in `data`, with
/// `config` (the package's `systemd` key) choosing per unit what is done.
pub fn snippets(data: &DataTree, config: Option<&SystemdConfig>) -> Result<Snippets, SystemdError> {
    let (files, aliases) = unit_files(data)?;
    if let Some(config) = config {
        for unit in config.units.keys() {
            let unit = unit.get_ref();
            if !files.contains_key(unit) && !aliases.contains_key(unit) {
                let installed: Vec<&str> = files.keys().map(String::as_str).collect();
                return Err(SystemdError::UnknownUnit {
                    unit: unit.clone(),
                    installed: if installed.is_empty() {
                        "no units".into()
                    } else {
                        installed.join(", ")
                    },
                });
            }
        }
    }
    // dh_installsystemd's worklist: every unit file, then what Also= adds.
    let mut queue: Vec<String> = files.keys().cloned().collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut handled: BTreeSet<String> = BTreeSet::new();
    let mut enable_units = BTreeSet::new();
    let mut start_units = BTreeSet::new();
    let mut index = 0;
    while let Some(name) = queue.get(index).cloned() {
        index += 1;
        // An alias named in Also= is its target's unit, not a second one.
        let name = aliases.get(&name).cloned().unwrap_or(name);
        let Some(file) = files.get(&name) else {
            continue;
        };
        if name.contains('@') || !handled.insert(name.clone()) {
            continue;
        }
        for also in &file.also {
            check_unit_name(also).map_err(|problem| SystemdError::BadName {
                path: file.path.clone(),
                problem: format!("Also={also}: {problem}"),
            })?;
            if !files.contains_key(also) && !aliases.contains_key(also) {
                return Err(SystemdError::MissingAlso {
                    path: file.path.clone(),
                    unit: also.clone(),
                });
            }
            if seen.insert(also.clone()) {
                queue.push(also.clone());
            }
        }
        start_units.insert(name.clone());
        if file.install {
            enable_units.insert(name);
        }
    }
    let settings = |unit: &str| settings_of(config, unit, &aliases);
    Ok(write(&enable_units, &start_units, &settings))
}

/// The settings of `unit`: the package's, with the unit's own (or its
/// alias's) over them; enable and start by default.
fn settings_of(
    config: Option<&SystemdConfig>,
    unit: &str,
    aliases: &BTreeMap<String, String>,
) -> UnitSettings {
    let mut settings = UnitSettings {
        enable: config.and_then(|c| c.enable).unwrap_or(true),
        start: config.and_then(|c| c.start).unwrap_or(true),
    };
    for (name, own) in config.iter().flat_map(|c| &c.units) {
        let name = name.get_ref();
        if name == unit || aliases.get(name).is_some_and(|t| t == unit) {
            settings.enable = own.enable.unwrap_or(settings.enable);
            settings.start = own.start.unwrap_or(settings.start);
        }
    }
    settings
}

/// The unit files of `data` by name, and its aliases (symlinks in a unit
/// directory) with the unit each names.
fn unit_files(data: &DataTree) -> Result<(BTreeMap<String, UnitFile>, Aliases), SystemdError> {
    let mut files = BTreeMap::new();
    let mut aliases = BTreeMap::new();
    for (path, entry) in data.ordered() {
        let Some(name) = UNIT_DIRS
            .iter()
            .find_map(|dir| path.strip_prefix(dir))
            .filter(|name| !name.is_empty() && !name.contains('/'))
        else {
            continue;
        };
        let shown = format!("/{path}");
        match &entry.kind {
            EntryKind::Symlink { target } => {
                let target = target.rsplit('/').next().unwrap_or_default();
                aliases.insert(name.to_owned(), target.to_owned());
            }
            EntryKind::File { source, .. } => {
                check_unit_name(name).map_err(|problem| SystemdError::BadName {
                    path: shown.clone(),
                    problem,
                })?;
                if files.contains_key(name) {
                    continue;
                }
                let text = read_unit(source).map_err(|source| SystemdError::Io {
                    path: shown.clone(),
                    source,
                })?;
                let unit = UnitFile {
                    path: shown,
                    install: has_install_section(&text),
                    also: key_values(&text, "Also"),
                };
                files.insert(name.to_owned(), unit);
            }
            EntryKind::Dir => {}
        }
    }
    Ok((files, aliases))
}

fn read_unit(source: &FileSource) -> std::io::Result<String> {
    let bytes = match source {
        FileSource::Bytes(bytes) => bytes.clone(),
        FileSource::Path(path) => {
            let mut bytes = Vec::new();
            std::fs::File::open(path)?
                .take(UNIT_READ_MAX)
                .read_to_end(&mut bytes)?;
            bytes
        }
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Perl's `\s`.
fn is_space(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\x0b'
}

/// dh's `contains_install_section`: a line `^\s*\[Install\]$`, any case.
fn has_install_section(text: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start_matches(is_space)
            .eq_ignore_ascii_case("[Install]")
    })
}

/// dh's `extract_key`: the whitespace-separated values of every `Key=` line
/// (key in any case), a pair of matching quotes around a value removed.
fn key_values(text: &str, key: &str) -> Vec<String> {
    let mut values = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches(is_space);
        let Some(rest) = line
            .get(..key.len())
            .filter(|head| head.eq_ignore_ascii_case(key))
            .and_then(|_| line.get(key.len()..))
            .and_then(|rest| rest.strip_prefix('='))
        else {
            continue;
        };
        for value in rest.split(is_space).filter(|v| !v.is_empty()) {
            let unquoted = ["\"", "'"]
                .iter()
                .find_map(|q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q)));
            values.push(unquoted.unwrap_or(value).to_owned());
        }
    }
    values
}

/// `'name'`: unit names hold no quote (checked), so this is safe.
fn quote(name: &str) -> String {
    format!("'{name}'")
}

fn section(body: &str) -> String {
    format!("{BEGIN}{body}{END}")
}

/// Writes the snippets in dh_installsystemd's order: per unit (sorted) its
/// enable snippet, then the start/restart one, in the postinst; the stop in
/// the prerm; the daemon-reload, then the purge, in the postrm (snippets
/// of the removal scripts are prepended, so they run in reverse).
fn write(
    enable_units: &BTreeSet<String>,
    start_units: &BTreeSet<String>,
    settings: &dyn Fn(&str) -> UnitSettings,
) -> Snippets {
    let mut out = Snippets::default();
    for unit in enable_units {
        let template = if settings(unit).enable {
            POSTINST_ENABLE
        } else {
            POSTINST_DONT_ENABLE
        };
        out.postinst
            .push_str(&section(&template.replace("#UNITFILE#", &quote(unit))));
    }
    let list = |start: bool| -> String {
        start_units
            .iter()
            .filter(|u| settings(u).start == start)
            .map(|u| quote(u))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (started, not_started) = (list(true), list(false));
    if !started.is_empty() {
        out.postinst.push_str(&section(
            &POSTINST_RESTART
                .replace("#RESTART_ACTION#", "restart")
                .replace("#UNITFILES#", &started),
        ));
        out.prerm
            .push_str(&section(&PRERM_STOP.replace("#UNITFILES#", &started)));
    }
    if !not_started.is_empty() {
        out.postinst.push_str(&section(
            &POSTINST_RESTART_NO_START
                .replace("#RESTART_ACTION#", "try-restart")
                .replace("#UNITFILES#", &not_started),
        ));
    }
    if !start_units.is_empty() {
        out.postrm.push_str(&section(POSTRM_RELOAD));
    }
    if !enable_units.is_empty() {
        let all: Vec<String> = enable_units.iter().map(|u| quote(u)).collect();
        out.postrm.push_str(&section(
            &POSTRM_PURGE.replace("#UNITFILES#", &all.join(" ")),
        ));
    }
    out
}

// The autoscripts of debhelper 13.11.4 (/usr/share/debhelper/autoscripts),
// byte for byte.

const POSTINST_ENABLE: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# The following line should be removed in trixie or trixie+1
	deb-systemd-helper unmask #UNITFILE# >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled #UNITFILE#; then
		# Enables the unit on first installation, creates new
		# symlinks on upgrades if the unit file has changed.
		deb-systemd-helper enable #UNITFILE# >/dev/null || true
	else
		# Update the statefile to add new symlinks (if any), which need to be
		# cleaned up on purge. Also remove old symlinks.
		deb-systemd-helper update-state #UNITFILE# >/dev/null || true
	fi
fi
"#;

const POSTINST_DONT_ENABLE: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if deb-systemd-helper debian-installed #UNITFILE#; then
		# The following line should be removed in trixie or trixie+1
		deb-systemd-helper unmask #UNITFILE# >/dev/null || true

		if deb-systemd-helper --quiet was-enabled #UNITFILE#; then
			# Create new symlinks, if any.
			deb-systemd-helper enable #UNITFILE# >/dev/null || true
		fi
	fi

	# Update the statefile to add new symlinks (if any), which need to be cleaned
	# up on purge. Also remove old symlinks.
	deb-systemd-helper update-state #UNITFILE# >/dev/null || true
fi
"#;

const POSTINST_RESTART: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=#RESTART_ACTION#
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action #UNITFILES# >/dev/null || true
	fi
fi
"#;

const POSTINST_RESTART_NO_START: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			deb-systemd-invoke #RESTART_ACTION# #UNITFILES# >/dev/null || true
		fi
	fi
fi
"#;

const PRERM_STOP: &str = r#"if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	deb-systemd-invoke stop #UNITFILES# >/dev/null || true
fi
"#;

const POSTRM_RELOAD: &str = r#"if [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	systemctl --system daemon-reload >/dev/null || true
fi
"#;

const POSTRM_PURGE: &str = r#"if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge #UNITFILES# >/dev/null || true
	fi
fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str =
        "[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n";

    fn tree(files: &[(&str, &str)]) -> DataTree {
        let mut data = DataTree::new();
        for (path, text) in files {
            match text.strip_prefix("->") {
                Some(target) => data.add_symlink(path, target).expect("symlink"),
                None => data
                    .add_bytes(path, text.as_bytes().to_vec(), 0o644)
                    .expect("file"),
            }
        }
        data
    }

    fn config(text: &str) -> SystemdConfig {
        let full = format!(
            "[[package]]\nname = \"hello\"\ndescription = \"d\"\nmaintainer = \"A <a@b.c>\"\nsystemd = {text}\n"
        );
        let parsed = crate::config::Config::parse(&full, "t").expect("parses");
        parsed.packages[0].systemd.clone().expect("systemd")
    }

    #[test]
    fn unit_names_follow_systemds_rules() {
        for good in [
            "a.service",
            "foo@.service",
            "foo@bar.socket",
            "x-y_z:1\\x2d.timer",
            "..service",
        ] {
            assert_eq!(check_unit_name(good), Ok(()), "{good}");
        }
        let long = format!("{}.service", "a".repeat(250));
        for bad in [
            "",
            ".service",
            "a.conf",
            "a",
            "a b.service",
            "a'b.service",
            "$(reboot).service",
            "a;b.service",
            "@.service",
            "a@b@c.service",
            "a\n.service",
            "a/b.service",
            &long,
        ] {
            assert!(check_unit_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_hostile_file_name_is_refused_naming_the_file() {
        let data = tree(&[("/lib/systemd/system/x';reboot;'.service", SERVICE)]);
        let err = snippets(&data, None).expect_err("refused").to_string();
        assert!(
            err.starts_with("systemd unit /lib/systemd/system/x';reboot;'.service: "),
            "{err}"
        );
        let data = tree(&[(
            "/usr/lib/systemd/system/a.service",
            "[Unit]\nAlso=$(id).service\n",
        )]);
        let err = snippets(&data, None).expect_err("refused").to_string();
        assert_eq!(
            err,
            "systemd unit /usr/lib/systemd/system/a.service: Also=$(id).service: \"$(id).service\" is not a unit name: use letters, digits and : - _ . \\ (and one @ for a template)"
        );
    }

    #[test]
    fn units_are_found_in_both_directories_sorted_and_quoted() {
        let data = tree(&[
            ("/usr/lib/systemd/system/b.service", SERVICE),
            (
                "/lib/systemd/system/a.socket",
                "[Socket]\nListenStream=1\n[install]\nWantedBy=sockets.target\n",
            ),
            ("/lib/systemd/system/c.timer", "[Timer]\nOnCalendar=daily\n"),
            ("/lib/systemd/system/t@.service", SERVICE),
            ("/lib/systemd/system/nested/d.service", SERVICE),
        ]);
        let out = snippets(&data, None).expect("snippets");
        let enables: Vec<&str> = out
            .postinst
            .lines()
            .filter(|l| l.contains("deb-systemd-helper enable"))
            .collect();
        assert_eq!(enables.len(), 2, "{}", out.postinst);
        assert!(enables[0].contains("'a.socket'") && enables[1].contains("'b.service'"));
        assert!(out.postinst.contains(
            "deb-systemd-invoke $_dh_action 'a.socket' 'b.service' 'c.timer' >/dev/null"
        ));
        assert!(out
            .prerm
            .contains("deb-systemd-invoke stop 'a.socket' 'b.service' 'c.timer' "));
        assert!(out
            .postrm
            .contains("deb-systemd-helper purge 'a.socket' 'b.service' >/dev/null"));
        assert!(!out.postinst.contains("t@") && out.preinst.is_empty());
        assert_eq!(out.postinst.matches(BEGIN).count(), 3);
        assert_eq!(out.postinst.matches(END).count(), 3);
        let reload = out.postrm.find("daemon-reload").expect("reload");
        assert!(reload < out.postrm.find("purge").expect("purge"));
    }

    #[test]
    fn also_adds_units_and_an_alias_is_not_enabled_twice() {
        let data = tree(&[
            (
                "/lib/systemd/system/a.service",
                "[Install]\nAlso='a.socket' b.service\nAlias=x.service\n",
            ),
            (
                "/lib/systemd/system/a.socket",
                "[Install]\nWantedBy=sockets.target\n",
            ),
            (
                "/lib/systemd/system/b.service",
                "->/lib/systemd/system/a.service",
            ),
            ("/lib/systemd/system/x.service", "->a.service"),
        ]);
        let out = snippets(&data, None).expect("snippets");
        assert_eq!(out.postinst.matches("deb-systemd-helper enable").count(), 2);
        assert!(
            out.postrm.contains("purge 'a.service' 'a.socket' >"),
            "{}",
            out.postrm
        );
        let data = tree(&[("/lib/systemd/system/a.service", "Also=gone.service\n")]);
        let err = snippets(&data, None).expect_err("missing").to_string();
        assert_eq!(
            err,
            "systemd unit /lib/systemd/system/a.service says Also=gone.service, which the package does not install"
        );
    }

    #[test]
    fn odd_unit_text_is_read_without_panicking() {
        let text = "Als\u{e9}=x\nAlso\nALSO= \"a.service\"\t'b.socket'  \"c\nalso=\n\u{feff}[Install]\n\x00\u{fffd}";
        assert_eq!(key_values(text, "Also"), ["a.service", "b.socket", "\"c"]);
        assert!(!has_install_section(text));
        assert!(has_install_section(" \t[INSTALL]\r\n"));
        let mut data = DataTree::new();
        let bytes = [b"[Install]\n".as_slice(), &[0xff; 3 << 20]].concat();
        data.add_bytes("/lib/systemd/system/big.service", bytes, 0o644)
            .expect("file");
        let out = snippets(&data, None).expect("snippets");
        assert_eq!(out.postinst.matches("deb-systemd-helper enable").count(), 1);
    }

    #[test]
    fn settings_choose_the_snippets() {
        let data = tree(&[
            ("/lib/systemd/system/a.service", SERVICE),
            ("/lib/systemd/system/b.service", SERVICE),
        ]);
        let out = snippets(&data, Some(&config("{ enable = false }"))).expect("snippets");
        assert_eq!(out.postinst.matches("debian-installed").count(), 2);
        assert!(out.postinst.contains("_dh_action=restart"));
        let out = snippets(
            &data,
            Some(&config(
                "{ units = { \"b.service\" = { start = false, enable = false } } }",
            )),
        )
        .expect("snippets");
        assert_eq!(out.postinst.matches("debian-installed").count(), 1);
        assert!(out
            .postinst
            .contains("deb-systemd-invoke $_dh_action 'a.service' >"));
        assert!(out
            .postinst
            .contains("deb-systemd-invoke try-restart 'b.service' >"));
        assert!(out.prerm.contains("stop 'a.service' >"));
        assert!(out.postrm.contains("purge 'a.service' 'b.service' >"));
        let err = snippets(&data, Some(&config("{ units = { \"c.service\" = {} } }")))
            .expect_err("unknown")
            .to_string();
        assert_eq!(
            err,
            "systemd.units names \"c.service\", which the package does not install (it installs: a.service, b.service)"
        );
        assert_eq!(
            snippets(&tree(&[]), None).expect("none"),
            Snippets::default()
        );
    }
}

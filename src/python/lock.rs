//! Lock files: pinned `requirements.txt` (with `--hash`) and `pylock.toml`
//! (PEP 751). Anything that is not an exact pin is refused: a lock that
//! leaves a choice to the resolver does not repeat a build.
use super::names::normalize;
use super::PythonError;

/// One pinned distribution.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pin {
    /// The distribution, PEP 503-normalised.
    pub name: String,
    /// The exact version.
    pub version: String,
    /// Accepted SHA-256 digests (hex), possibly none.
    pub sha256: Vec<String>,
    /// A marker kept for evaluation on the target, as written.
    pub marker: Option<String>,
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

// Long function: a line reader with continuations, then each check of a
// pin with the message that names it.
/// `name==version [--hash=sha256:...]...` lines with `\` continuations.
pub fn parse_requirements_lock(text: &str, origin: &str) -> Result<Vec<Pin>, PythonError> {
    let mut pins: Vec<Pin> = Vec::new();
    let mut logical = String::new();
    let mut first_line = 0;
    for (n, line) in text.lines().enumerate() {
        if logical.is_empty() {
            first_line = n + 1;
        }
        let line = match line.find(" #") {
            Some(i) => &line[..i],
            None if line.trim_start().starts_with('#') => "",
            None => line,
        };
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        if entry.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| PythonError::Lock {
            origin: origin.to_owned(),
            line: first_line,
            reason,
        };
        if !entry.is_ascii() {
            return Err(bad("a pin is ASCII only".into()));
        }
        let mut words = entry.split_whitespace().peekable();
        let mut requirement = String::new();
        while let Some(w) = words.peek() {
            if w.starts_with("--") {
                break;
            }
            requirement.push_str(w);
            requirement.push(' ');
            words.next();
        }
        let mut sha256 = Vec::new();
        for w in words {
            match w.strip_prefix("--hash=sha256:") {
                Some(h) if is_hex64(h) => sha256.push(h.to_ascii_lowercase()),
                _ => {
                    return Err(bad(format!(
                        "{w:?}: only --hash=sha256:<64 hex digits> may follow a pin"
                    )))
                }
            }
        }
        let (spec, marker) = match requirement.split_once(';') {
            Some((s, m)) => (s.trim(), Some(m.trim().to_owned())),
            None => (requirement.trim(), None),
        };
        let Some((name, version)) = spec.split_once("==") else {
            return Err(bad(format!("{spec:?} is not an exact pin (name==version)")));
        };
        let name = name.split_once('[').map_or(name, |(n, _)| n).trim();
        let version = version.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || version.starts_with('=')
            || version.contains([',', '*', ' '])
            || version.parse::<pep440_rs::Version>().is_err()
        {
            return Err(bad(format!("{spec:?} is not an exact pin (name==version)")));
        }
        let name = normalize(name);
        if pins.iter().any(|p| p.name == name) {
            return Err(bad(format!("{name} is pinned twice")));
        }
        pins.push(Pin {
            name,
            version: version.to_owned(),
            sha256,
            marker,
        });
    }
    Ok(pins)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PyLock {
    lock_version: String,
    #[serde(default)]
    packages: Vec<PyLockPackage>,
}

#[derive(serde::Deserialize)]
struct PyLockPackage {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    #[serde(default)]
    wheels: Vec<PyLockWheel>,
}

#[derive(serde::Deserialize)]
struct PyLockWheel {
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

/// A `pylock.toml` (lock-version 1.x): every package needs a version.
pub fn parse_pylock(text: &str, origin: &str) -> Result<Vec<Pin>, PythonError> {
    let bad = |line: usize, reason: String| PythonError::Lock {
        origin: origin.to_owned(),
        line,
        reason,
    };
    let lock: PyLock = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].lines().count().max(1)
        });
        bad(line, e.message().to_owned())
    })?;
    if lock.lock_version.split('.').next() != Some("1") {
        return Err(bad(
            1,
            format!("lock-version {} is not 1.x", lock.lock_version),
        ));
    }
    let mut pins: Vec<Pin> = Vec::new();
    for p in lock.packages {
        let version = p
            .version
            .ok_or_else(|| bad(0, format!("package {} has no version", p.name)))?;
        let mut sha256 = Vec::new();
        for w in &p.wheels {
            if let Some(h) = w.hashes.get("sha256") {
                if !is_hex64(h) {
                    return Err(bad(
                        0,
                        format!("package {}: a sha256 of {} characters", p.name, h.len()),
                    ));
                }
                sha256.push(h.to_ascii_lowercase());
            }
        }
        let text = format!("{} {version} {}", p.name, p.marker.as_deref().unwrap_or(""));
        let name_ok = !p.name.is_empty()
            && p.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !text.is_ascii()
            || text.chars().any(|c| c.is_ascii_control())
            || !name_ok
            || version.parse::<pep440_rs::Version>().is_err()
        {
            return Err(bad(
                0,
                format!(
                    "package {:?}: not an ASCII name and PEP 440 version",
                    p.name
                ),
            ));
        }
        let name = normalize(&p.name);
        if pins.iter().any(|q| q.name == name) {
            return Err(bad(0, format!("{name} is locked twice")));
        }
        pins.push(Pin {
            name,
            version,
            sha256,
            marker: p.marker,
        });
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "2a0d60c1cae8b6c8e2ef7a4a1c4c1b58ce93b2b8e9dcb7f2e0c4fa1e58a878e0";

    #[test]
    fn a_hashed_requirements_lock_is_read() {
        let text = format!(
            "# pinned\nrequests==2.34.2 \\\n    --hash=sha256:{H}\nPySocks[x]==1.7.1 ; extra == 'socks'\n"
        );
        let pins = parse_requirements_lock(&text, "req.lock").expect("parses");
        assert_eq!(pins.len(), 2);
        assert_eq!(pins[0].sha256, [H]);
        assert_eq!(pins[1].name, "pysocks");
        assert!(pins[1].marker.is_some());
    }

    #[test]
    fn anything_but_exact_pins_is_refused_with_its_line() {
        for bad in [
            "requests>=2",
            "-r other.txt",
            "-e .",
            "https://x/y.whl",
            "requests==2.*",
            "requests===2",
            "requests==2 --hash=md5:abc",
            "a==1\na==2",
        ] {
            let e = parse_requirements_lock(bad, "l").expect_err(bad);
            assert!(e.to_string().starts_with("l:"), "{e}");
        }
    }

    #[test]
    fn a_pylock_is_read() {
        let text = format!(
            "lock-version = \"1.0\"\n[[packages]]\nname = \"Requests\"\nversion = \"2.34.2\"\n[[packages.wheels]]\nname = \"requests-2.34.2-py3-none-any.whl\"\nhashes = {{ sha256 = \"{H}\" }}\n"
        );
        let pins = parse_pylock(&text, "pylock.toml").expect("parses");
        assert_eq!(pins[0].name, "requests");
        assert_eq!(pins[0].sha256, [H]);
        assert!(parse_pylock("lock-version = \"2.0\"\n", "p").is_err());
        assert!(parse_pylock("lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\n", "p").is_err());
    }
}

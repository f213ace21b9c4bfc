//! PEP 508 markers evaluated for the target Python.
use std::str::FromStr;

/// The Python a package set is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `(3, 11)`.
    pub python: (u32, u32),
    /// `3.11.2`.
    pub python_full: String,
    /// The Debian architecture (`amd64`).
    pub arch: String,
    /// The glibc the target has, `(2, 36)` for bookworm.
    pub glibc: (u32, u32),
}

/// The machine name Python reports on a Debian architecture.
pub fn machine(arch: &str) -> &str {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "i386" => "i686",
        "armhf" => "armv7l",
        "ppc64el" => "ppc64le",
        other => other,
    }
}

/// The marker environment of `target`.
pub fn environment(target: &Target) -> pep508_rs::MarkerEnvironment {
    let version = format!("{}.{}", target.python.0, target.python.1);
    // Both strings are PEP 440 versions (the full one falls back to X.Y),
    // the only thing the conversion checks.
    let full = if pep440_rs::Version::from_str(&target.python_full).is_ok() {
        target.python_full.as_str()
    } else {
        version.as_str()
    };
    let builder = pep508_rs::MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: full,
        os_name: "posix",
        platform_machine: machine(&target.arch),
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: full,
        python_version: &version,
        sys_platform: "linux",
    };
    pep508_rs::MarkerEnvironment::try_from(builder).expect("X.Y and a checked version parse")
}

/// Whether `req` applies on `env` with `extras` requested.
pub fn applies(
    req: &pep508_rs::Requirement,
    env: &pep508_rs::MarkerEnvironment,
    extras: &[String],
) -> bool {
    let extras: Vec<pep508_rs::ExtraName> = extras
        .iter()
        .filter_map(|e| pep508_rs::ExtraName::from_str(e).ok())
        .collect();
    req.marker.evaluate(env, &extras)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_evaluated_for_the_target() {
        let target = Target {
            python: (3, 11),
            python_full: "3.11.2".into(),
            arch: "amd64".into(),
            glibc: (2, 36),
        };
        let env = environment(&target);
        let req = |s: &str| pep508_rs::Requirement::from_str(s).expect("requirement");
        assert!(applies(&req("a; python_version >= '3.8'"), &env, &[]));
        assert!(!applies(&req("a; python_version < '3.8'"), &env, &[]));
        assert!(!applies(&req("PySocks; extra == 'socks'"), &env, &[]));
        assert!(applies(
            &req("PySocks; extra == 'socks'"),
            &env,
            &["socks".into()]
        ));
        assert!(applies(&req("a; platform_machine == 'x86_64'"), &env, &[]));
        assert!(!applies(&req("a; sys_platform == 'win32'"), &env, &[]));
    }
}

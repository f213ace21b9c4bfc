//! Wheel file names (PEP 427, with the compressed tag sets of PEP 425).
use super::PythonError;

/// The parts of a wheel's file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    /// The distribution, as written in the name.
    pub dist: String,
    /// The version, as written in the name.
    pub version: String,
    /// The optional build tag.
    pub build: Option<String>,
    /// Python tags (`py3`, `cp311`).
    pub python: Vec<String>,
    /// ABI tags (`none`, `abi3`, `cp311`).
    pub abi: Vec<String>,
    /// Platform tags (`any`, `manylinux_2_17_x86_64`).
    pub platform: Vec<String>,
}

/// The CPython ABI a binary wheel is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyAbi {
    /// One minor version only (`cp311`).
    Cp(u32, u32),
    /// The stable ABI from this version on (`abi3` with `cp38`).
    Abi3(u32, u32),
}

/// The Debian architecture of a wheel platform's machine name.
fn debian_of_machine(machine: &str) -> Option<&'static str> {
    Some(match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" => "i386",
        "armv7l" => "armhf",
        "ppc64le" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        _ => return None,
    })
}

/// The glibc version and the machine of a Linux platform tag.
fn linux_platform(tag: &str) -> Option<((u32, u32), &str)> {
    for (legacy, glibc) in [
        ("manylinux2014_", (2, 17)),
        ("manylinux2010_", (2, 12)),
        ("manylinux1_", (2, 5)),
    ] {
        if let Some(machine) = tag.strip_prefix(legacy) {
            return Some((glibc, machine));
        }
    }
    let rest = tag.strip_prefix("manylinux_")?;
    let mut parts = rest.splitn(3, '_');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some(((major, minor), parts.next()?))
}

/// `cpXY` as (X, Y).
fn cpython(tag: &str) -> Option<(u32, u32)> {
    let digits = tag.strip_prefix("cp")?;
    let (major, minor) = digits.split_at_checked(1)?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

impl WheelName {
    /// Parses `{dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
    pub fn parse(file_name: &str) -> Result<Self, PythonError> {
        let bad = |reason: &str| PythonError::WheelName {
            name: file_name.to_owned(),
            reason: reason.to_owned(),
        };
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or_else(|| bad("it does not end in .whl"))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (dist, version, build, tags) = match parts[..] {
            [d, v, p, a, f] => (d, v, None, [p, a, f]),
            [d, v, b, p, a, f] => (d, v, Some(b), [p, a, f]),
            _ => return Err(bad("it needs 5 or 6 dash-separated parts")),
        };
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '!'))
        };
        if ![dist, version].iter().chain(tags.iter()).all(|s| ok(s)) || !build.is_none_or(ok) {
            return Err(bad(
                "a part is empty or has characters a wheel name cannot have",
            ));
        }
        let split = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
        Ok(Self {
            dist: dist.to_owned(),
            version: version.to_owned(),
            build: build.map(str::to_owned),
            python: split(tags[0]),
            abi: split(tags[1]),
            platform: split(tags[2]),
        })
    }

    /// True for `py*-none-any` wheels.
    pub fn is_pure(&self) -> bool {
        self.platform.iter().all(|p| p == "any") && self.abi.iter().all(|a| a == "none")
    }

    /// The Debian architecture: `all` for pure wheels.
    pub fn debian_arch(&self) -> Result<&'static str, PythonError> {
        if self.is_pure() {
            return Ok("all");
        }
        let mut arch = None;
        for tag in &self.platform {
            let machine = linux_platform(tag)
                .map(|(_, m)| m)
                .or_else(|| tag.strip_prefix("linux_"));
            let Some(debian) = machine.and_then(debian_of_machine) else {
                continue;
            };
            if arch.is_some_and(|a| a != debian) {
                return Err(self.incompatible("its platform tags name two architectures"));
            }
            arch = Some(debian);
        }
        arch.ok_or_else(|| self.incompatible("no platform tag is a glibc Linux one"))
    }

    /// The oldest glibc the platform tags promise to run on.
    pub fn min_glibc(&self) -> Option<(u32, u32)> {
        self.platform
            .iter()
            .filter_map(|t| linux_platform(t).map(|(g, _)| g))
            .min()
    }

    /// The CPython ABI, for binary wheels.
    pub fn cpython_abi(&self) -> Option<PyAbi> {
        let python = self.python.iter().filter_map(|t| cpython(t)).min()?;
        if self.abi.iter().any(|a| a == "abi3") {
            return Some(PyAbi::Abi3(python.0, python.1));
        }
        self.abi
            .iter()
            .find_map(|a| cpython(a.trim_end_matches(['d', 'm', 'u'])))
            .map(|(x, y)| PyAbi::Cp(x, y))
    }

    fn incompatible(&self, reason: &str) -> PythonError {
        PythonError::Incompatible {
            wheel: format!("{}-{}", self.dist, self.version),
            reason: reason.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manylinux_wheel_name_gives_its_arch_glibc_and_abi() {
        let n = WheelName::parse(
            "charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
        )
        .expect("parses");
        assert!(!n.is_pure());
        assert_eq!(n.debian_arch().expect("arch"), "amd64");
        assert_eq!(n.min_glibc(), Some((2, 5)));
        assert_eq!(n.cpython_abi(), Some(PyAbi::Cp(3, 11)));
        let p = WheelName::parse("requests-2.34.2-py3-none-any.whl").expect("parses");
        assert!(p.is_pure());
        assert_eq!(p.debian_arch().expect("arch"), "all");
        let a = WheelName::parse("x-1.0-1b-cp38-abi3-manylinux2014_aarch64.whl").expect("parses");
        assert_eq!(a.build.as_deref(), Some("1b"));
        assert_eq!(a.cpython_abi(), Some(PyAbi::Abi3(3, 8)));
        assert_eq!(a.debian_arch().expect("arch"), "arm64");
    }

    #[test]
    fn malformed_names_are_errors() {
        for bad in [
            "x.whl",
            "x-1.0-py3-none-any.zip",
            "../x-1.0-py3-none-any.whl",
            "x-1.0--none-any.whl",
            "a-b-c-d-e-f-g.whl",
        ] {
            assert!(WheelName::parse(bad).is_err(), "{bad}");
        }
        let musl = WheelName::parse("x-1.0-cp311-cp311-musllinux_1_1_x86_64.whl").expect("name");
        assert!(musl.debian_arch().is_err());
    }
}

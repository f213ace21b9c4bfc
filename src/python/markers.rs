//! PEP 508 markers evaluated for the target Python. (helper A)

/// The Python a package set is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `(3, 11)`.
    pub python: (u32, u32),
    /// `3.11.2`.
    pub python_full: String,
    /// The Debian architecture (`amd64`).
    pub arch: String,
    /// The oldest glibc the target has, `(2, 36)` for bookworm.
    pub glibc: (u32, u32),
}

/// The marker environment of `target`.
pub fn environment(target: &Target) -> pep508_rs::MarkerEnvironment {
    todo!("A: {target:?}")
}

/// Whether `req` applies on `env` with `extras` requested.
pub fn applies(
    req: &pep508_rs::Requirement,
    env: &pep508_rs::MarkerEnvironment,
    extras: &[String],
) -> bool {
    todo!("A: {req} {env:?} {extras:?}")
}

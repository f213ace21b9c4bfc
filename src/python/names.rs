//! Names: PEP 503 normalisation of distribution names and the Debian
//! package name of a dependency, `<app>-python-<dist>`.
//!
//! Not `python3-<dist>`: that is Debian's namespace, and real names collide
//! (`python3-requests` is Debian's). With the application's name in front,
//! two applications never share a package, a file or a version constraint.
use super::PythonError;

/// PEP 503: lowercase, every run of `-`, `_` and `.` becomes one `-`.
pub fn normalize(dist: &str) -> String {
    let mut out = String::with_capacity(dist.len());
    let mut sep = false;
    for c in dist.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The Debian package of distribution `dist` inside application `app`.
pub fn package_name(app: &str, dist: &str) -> Result<String, PythonError> {
    let name = format!("{app}-python-{}", normalize(dist));
    crate::deb::check_package_name(&name).map_err(|e| PythonError::Name {
        name: name.clone(),
        reason: e.to_string(),
    })?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_as_pep_503_says() {
        assert_eq!(normalize("Charset_Normalizer"), "charset-normalizer");
        assert_eq!(normalize("A_B.c--d"), "a-b-c-d");
        assert_eq!(
            package_name("myapp", "PySocks").expect("valid"),
            "myapp-python-pysocks"
        );
        assert!(package_name("myapp", "bad name!").is_err());
    }
}

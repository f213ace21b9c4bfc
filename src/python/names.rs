//! Names: PEP 503 normalisation of distribution names and the Debian
//! package name of a dependency (`<app>-python-<dist>`). (helper A)
use super::PythonError;

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize(dist: &str) -> String {
    todo!("A: {dist}")
}

/// The Debian package of distribution `dist` inside application `app`.
pub fn package_name(app: &str, dist: &str) -> Result<String, PythonError> {
    todo!("A: {app} {dist}")
}

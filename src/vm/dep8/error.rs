//! Why a `debian/tests/control` file is refused: what autopkgtest would
//! call a broken file, each case naming the file and the line.

/// Why a `debian/tests/control` file was refused. Each variant names the
/// file (`origin`) and the 1-based line where the offending stanza or field
/// starts.
#[derive(Debug, thiserror::Error)]
pub enum Dep8Error {
    /// A stanza has neither `Tests` nor `Test-Command`.
    #[error("{origin}:{line}: a stanza needs Tests or Test-Command")]
    NoTest {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// A stanza has both `Tests` and `Test-Command`.
    #[error("{origin}:{line}: a stanza may have Tests or Test-Command, not both")]
    TestsAndCommand {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// `Tests` names no test.
    #[error("{origin}:{line}: the Tests field names no test")]
    EmptyTests {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// `Test-Command` is empty.
    #[error("{origin}:{line}: the Test-Command field is empty")]
    EmptyCommand {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// A continuation line (starting with whitespace) comes before any field.
    #[error("{origin}:{line}: a continuation line comes before any field")]
    OrphanContinuation {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// A line is neither a field, a continuation, a comment nor blank.
    #[error("{origin}:{line}: not a field (no colon): {text:?}")]
    NotAField {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The line as written.
        text: String,
    },
    /// A field name uses characters deb822 does not allow.
    #[error("{origin}:{line}: invalid field name {name:?}")]
    BadFieldName {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The field name as written.
        name: String,
    },
    /// A field appears twice in one stanza (names compare case-insensitively).
    #[error("{origin}:{line}: field {name} appears twice in the stanza")]
    DuplicateField {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The second spelling of the field name.
        name: String,
    },
    /// A test name would not be a plain file name in the tests directory.
    #[error("{origin}:{line}: test name {name:?} is not a safe file name: {reason}")]
    UnsafeTestName {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The test name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `Tests-Directory` is not a relative path inside the source tree.
    #[error("{origin}:{line}: Tests-Directory {path:?} {reason}")]
    BadTestsDirectory {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The value as written.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The `test-name` feature is misused.
    #[error("{origin}:{line}: invalid test-name feature: {reason}")]
    BadTestNameFeature {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

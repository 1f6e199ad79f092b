//! The outcomes a lookup can end in, kept apart so that only the protocol layers decide
//! how each one is shown.

use std::fmt;

/// The exact text Docker and skopeo treat as "no credentials here, go on anonymously".
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// Why a request could not be answered with credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not an ECR registry (or an anonymous public one): "try the next", no network was used.
    NotOurs,
    /// The caller's input is wrong (empty server URL, bad JSON, ...). The text is exact.
    Input(String),
    /// A real failure the user must see and can fix.
    Failed(Failure),
}

/// A failure, as one line: what was tried, what went wrong, what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was being done, e.g. `GetAuthorizationToken for 1234….dkr.ecr.….amazonaws.com`.
    pub what: String,
    /// The cause, e.g. the AWS error code and message.
    pub why: String,
    /// What the user should check or change; may be empty.
    pub hint: String,
}

impl Error {
    /// Builds a [`Error::Failed`].
    pub fn failed(
        what: impl Into<String>,
        why: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Failed(Failure {
            what: what.into(),
            why: why.into(),
            hint: hint.into(),
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ecr-xacct: {}: {}", self.what, self.why)?;
        if !self.hint.is_empty() {
            write!(f, " ({})", self.hint)?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    /// One line, never a secret: all parts are built from names, codes and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotOurs => f.write_str(NOT_FOUND),
            Error::Input(text) => f.write_str(text),
            Error::Failed(failure) => {
                // Keep it to one line whatever the AWS message holds.
                let line = failure.to_string().replace(['\n', '\r'], " ");
                f.write_str(&line)
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_is_one_line() {
        let e = Error::failed("GetAuthorizationToken", "AccessDenied:\nno", "allow it");
        assert_eq!(
            e.to_string(),
            "ecr-xacct: GetAuthorizationToken: AccessDenied: no (allow it)"
        );
    }

    #[test]
    fn not_ours_is_the_exact_docker_text() {
        assert_eq!(
            Error::NotOurs.to_string(),
            "credentials not found in native keychain"
        );
    }
}

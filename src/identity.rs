//! Which AWS identity answers for a registry, and a fingerprint of it that needs no AWS call:
//! the cache key. Two identities never share a fingerprint; an access key id only enters
//! it hashed.

use crate::config::{Config, Entry};
use crate::registry::Registry;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

/// Default role session name.
pub const DEFAULT_SESSION_NAME: &str = "ecr-xacct";

/// The identity chosen for one registry: the matching config entry, or the default chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// 1-based position of the config entry that matched, if any.
    pub entry: Option<usize>,
    /// That entry's `match`, for messages.
    pub pattern: Option<String>,
    /// Profile from the entry (else the SDK uses `AWS_PROFILE` or `default`).
    pub profile: Option<String>,
    /// Role to assume first.
    pub role_arn: Option<String>,
    /// External id for the role.
    pub external_id: Option<String>,
    /// Session name for the role.
    pub session_name: Option<String>,
}

/// Environment variables that change which credentials or which endpoint the SDK would use.
const IDENTITY_ENV: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ECR",
    "AWS_ENDPOINT_URL_ECR_PUBLIC",
    "AWS_ENDPOINT_URL_STS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
];

impl Identity {
    /// The identity the config selects for `registry`.
    pub fn select(config: &Config, registry: &Registry) -> Identity {
        match config.entry_for(registry) {
            Some((n, entry)) => Identity::from_entry(n, entry),
            None => Identity::default(),
        }
    }

    fn from_entry(n: usize, e: &Entry) -> Identity {
        Identity {
            entry: Some(n),
            pattern: Some(e.pattern.clone()),
            profile: e.profile.clone(),
            role_arn: e.role_arn.clone(),
            external_id: e.external_id.clone(),
            session_name: e.session_name.clone(),
        }
    }

    /// The profile the SDK will start from, if any is named.
    pub fn effective_profile(&self) -> Option<String> {
        self.profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
    }

    /// A human description for messages, e.g. `profile "images" then role arn:…`.
    pub fn describe(&self) -> String {
        let mut s = match self.effective_profile() {
            Some(p) => format!("profile \"{p}\""),
            None => "the default credential chain".to_string(),
        };
        if let Some(role) = &self.role_arn {
            let _ = write!(s, " then role {role}");
        }
        if let (Some(n), Some(p)) = (self.entry, &self.pattern) {
            let _ = write!(s, " (config entry #{n}, match = \"{p}\")");
        }
        s
    }

    /// The cache key: a hash of everything that decides who answers, for `registry`'s scope.
    pub fn fingerprint(&self, registry: &Registry) -> String {
        let mut text = String::from("v1\n");
        let _ = writeln!(text, "scope={}", registry.scope());
        for (name, value) in [
            ("profile", &self.profile),
            ("role_arn", &self.role_arn),
            ("external_id", &self.external_id),
            ("session_name", &self.session_name),
        ] {
            let _ = writeln!(text, "{name}={}", value.as_deref().unwrap_or(""));
        }
        for name in IDENTITY_ENV {
            let value = std::env::var_os(name).unwrap_or_default();
            let _ = writeln!(text, "{name}={}", value.to_string_lossy());
        }
        // Editing the AWS files may change who a profile is; one stat each notices it.
        for path in aws_files() {
            let mtime = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let _ = writeln!(text, "file={}@{mtime}", path.display());
        }
        let digest = Sha256::digest(text.as_bytes());
        digest[..16]
            .iter()
            .fold(String::with_capacity(32), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

/// The shared AWS config and credentials files, where the SDK would look for them.
fn aws_files() -> Vec<PathBuf> {
    let home = dirs::home_dir().unwrap_or_default();
    [
        ("AWS_CONFIG_FILE", ".aws/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
    ]
    .iter()
    .map(|(var, default)| match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => home.join(default),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_separates_identities_and_scopes() {
        let east = Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let east2 = Registry::parse("210987654321.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let west = Registry::parse("123456789012.dkr.ecr.us-west-2.amazonaws.com").unwrap();
        let default = Identity::default();
        let role = Identity {
            role_arn: Some("arn:aws:iam::123456789012:role/x".into()),
            ..Identity::default()
        };
        let other_ext = Identity {
            external_id: Some("e".into()),
            ..role.clone()
        };
        let fp = default.fingerprint(&east);
        assert_eq!(fp.len(), 32);
        assert_eq!(fp, default.fingerprint(&east), "stable");
        assert_eq!(fp, default.fingerprint(&east2), "owners share a scope");
        assert_ne!(fp, default.fingerprint(&west));
        assert_ne!(fp, role.fingerprint(&east));
        assert_ne!(role.fingerprint(&east), other_ext.fingerprint(&east));
    }

    #[test]
    fn describe_names_profile_role_and_entry() {
        let id = Identity {
            entry: Some(2),
            pattern: Some("123456789012".into()),
            profile: Some("images".into()),
            role_arn: Some("arn:aws:iam::123456789012:role/pull".into()),
            ..Identity::default()
        };
        assert_eq!(
            id.describe(),
            "profile \"images\" then role arn:aws:iam::123456789012:role/pull (config entry #2, match = \"123456789012\")"
        );
    }
}

//! The user's config file: which AWS identity answers for which registry.
//! Plain synchronous code with no AWS types, so that a cache hit can afford it.

use crate::error::Error;
use crate::registry::{self, Registry};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "ECR_XACCT_CONFIG";

/// The parsed config file. A missing file is an empty config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Upper bound, in seconds, for everything a miss does on the network.
    pub timeout_seconds: Option<u64>,
    /// Registry entries, tried in order; the first match wins.
    #[serde(default)]
    pub registry: Vec<Entry>,
    /// Where the config came from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// One `[[registry]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// An owner account id, a host name, or a host glob (`*.dkr.ecr.eu-*.amazonaws.com`).
    #[serde(rename = "match")]
    pub pattern: String,
    /// The AWS profile to start from.
    pub profile: Option<String>,
    /// A role to assume (in the owner account, typically) before asking for the token.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// The role session name; default `ecr-xacct`.
    pub session_name: Option<String>,
    /// For a custom host name (CNAME, proxy): the owner account it stands for.
    pub account: Option<String>,
    /// For a custom host name: the owner's region.
    pub region: Option<String>,
}

impl Config {
    /// The config file's path: `$ECR_XACCT_CONFIG`, else `<config dir>/ecr-xacct/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        match std::env::var_os(CONFIG_ENV) {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => dirs::config_dir().map(|d| d.join("ecr-xacct").join("config.toml")),
        }
    }

    /// Loads the default config file; missing is fine, anything malformed is an error.
    pub fn load_default() -> Result<Config, Error> {
        match Config::default_path() {
            Some(path) => Config::load(&path),
            None => Ok(Config::default()),
        }
    }

    /// Loads one config file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config {
                    path: path.to_path_buf(),
                    ..Config::default()
                })
            }
            Err(e) => return Err(bad(path, format!("cannot read it: {e}"))),
        };
        Config::parse(&text, path)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| bad(path, e.to_string().trim_end().to_string()))?;
        config.path = path.to_path_buf();
        for (i, entry) in config.registry.iter().enumerate() {
            entry.validate().map_err(|why| {
                bad(
                    path,
                    format!(
                        "[[registry]] #{} (match = {:?}): {why}",
                        i + 1,
                        entry.pattern
                    ),
                )
            })?;
        }
        if config.timeout_seconds == Some(0) {
            return Err(bad(path, "timeout_seconds must be at least 1".into()));
        }
        Ok(config)
    }

    /// The registry a server URL names: a real ECR host, or a custom host from this config.
    pub fn registry_for(&self, server_url: &str) -> Option<Registry> {
        let host = registry::host_of(server_url)?;
        if let Some(r) = Registry::from_host(&host) {
            return Some(r);
        }
        self.registry
            .iter()
            .find_map(|e| match (&e.account, &e.region) {
                (Some(account), Some(region)) if e.matches_host(&host) => {
                    Some(Registry::custom(&host, account, region))
                }
                _ => None,
            })
    }

    /// The first entry that matches the registry, with its 1-based position.
    pub fn entry_for(&self, registry: &Registry) -> Option<(usize, &Entry)> {
        self.registry
            .iter()
            .enumerate()
            .find(|(_, e)| e.matches(registry))
            .map(|(i, e)| (i + 1, e))
    }
}

impl Entry {
    /// Whether this entry selects the identity for `registry`.
    pub fn matches(&self, registry: &Registry) -> bool {
        if registry::is_account_id(&self.pattern) {
            return registry.account.as_deref() == Some(self.pattern.as_str());
        }
        self.matches_host(&registry.host)
    }

    fn matches_host(&self, host: &str) -> bool {
        let pattern = self.pattern.to_ascii_lowercase();
        if pattern.contains(['*', '?', '[']) {
            glob::Pattern::new(&pattern).is_ok_and(|p| p.matches(host))
        } else {
            registry::host_of(&pattern).as_deref() == Some(host)
        }
    }

    fn validate(&self) -> Result<(), String> {
        let p = &self.pattern;
        if p.trim().is_empty() {
            return Err("`match` is empty".into());
        }
        if p.bytes().all(|b| b.is_ascii_digit()) && !registry::is_account_id(p) {
            return Err("an account id in `match` must have exactly 12 digits".into());
        }
        if p.contains(['*', '?', '[']) {
            glob::Pattern::new(&p.to_ascii_lowercase())
                .map_err(|e| format!("bad glob in `match`: {e}"))?;
        } else if !registry::is_account_id(p) && registry::host_of(p).is_none() {
            return Err("`match` must be a 12-digit account id, a host name or a host glob".into());
        }
        if let Some(arn) = &self.role_arn {
            if !is_role_arn(arn) {
                return Err(format!("role_arn {arn:?} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"));
            }
        }
        if self.profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err("profile is empty".into());
        }
        if let Some(name) = &self.session_name {
            let ok = (2..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"=,.@-_".contains(&b));
            if !ok {
                return Err(format!(
                    "session_name {name:?} must be 2-64 characters of [A-Za-z0-9=,.@_-]"
                ));
            }
        }
        match (&self.account, &self.region) {
            (None, None) => Ok(()),
            (Some(account), Some(region)) => {
                if !registry::is_account_id(account) {
                    Err(format!("account {account:?} is not a 12-digit account id"))
                } else if !registry::is_region(region) {
                    Err(format!("region {region:?} is not an AWS region"))
                } else if registry::is_account_id(p) {
                    Err(
                        "a custom-host entry (with account and region) must match a host name"
                            .into(),
                    )
                } else {
                    Ok(())
                }
            }
            _ => Err(
                "`account` and `region` go together (they map a custom host name to an owner)"
                    .into(),
            ),
        }
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if registry::is_partition_name(partition) && registry::is_account_id(account)
            && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()))
}

fn bad(path: &Path, why: String) -> Error {
    Error::failed(
        format!("config file {}", path.display()),
        why,
        "fix or remove the file; see the README's config section",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Error> {
        Config::parse(text, Path::new("/x/config.toml"))
    }

    fn reg(host: &str) -> Registry {
        Registry::parse(host).unwrap()
    }

    const SAMPLE: &str = r#"
        timeout_seconds = 7

        [[registry]]
        match = "123456789012"
        profile = "images"
        role_arn = "arn:aws:iam::123456789012:role/ecr-pull"
        external_id = "xyz"

        [[registry]]
        match = "*.dkr.ecr.eu-*.amazonaws.com"
        profile = "europe"

        [[registry]]
        match = "210987654321.dkr.ecr.us-west-2.amazonaws.com"
        session_name = "ci-pull"

        [[registry]]
        match = "images.example.com"
        account = "555555555555"
        region = "eu-central-1"
    "#;

    #[test]
    fn first_match_wins() {
        let c = parse(SAMPLE).unwrap();
        assert_eq!(c.timeout_seconds, Some(7));
        let (n, e) = c
            .entry_for(&reg("123456789012.dkr.ecr.eu-west-1.amazonaws.com"))
            .unwrap();
        assert_eq!((n, e.profile.as_deref()), (1, Some("images")));
        let (n, e) = c
            .entry_for(&reg("999999999999.dkr.ecr.eu-west-1.amazonaws.com"))
            .unwrap();
        assert_eq!((n, e.profile.as_deref()), (2, Some("europe")));
        let (n, _) = c
            .entry_for(&reg(
                "https://210987654321.DKR.ecr.us-west-2.amazonaws.com/v2/",
            ))
            .unwrap();
        assert_eq!(n, 3);
        assert!(c
            .entry_for(&reg("999999999999.dkr.ecr.us-east-1.amazonaws.com"))
            .is_none());
    }

    #[test]
    fn custom_hosts_only_from_config() {
        let c = parse(SAMPLE).unwrap();
        let r = c.registry_for("https://images.example.com/v2/app").unwrap();
        assert_eq!(r.account.as_deref(), Some("555555555555"));
        assert_eq!(r.region, "eu-central-1");
        assert_eq!(c.entry_for(&r).map(|(n, _)| n), Some(4));
        assert!(c.registry_for("other.example.com").is_none());
        assert!(c.registry_for("images.example.com.evil").is_none());
        assert!(Config::default()
            .registry_for("images.example.com")
            .is_none());
    }

    #[test]
    fn errors_name_file_entry_and_problem() {
        let cases = [
            ("[[registry]]\nmatch = \"1\"\n", "#1"),
            ("[[registry]]\nmatch = \"123456789012\"\nprofle = \"x\"\n", "profle"),
            ("[[registry]]\nmatch = \"123456789012\"\nrole_arn = \"arn:aws:iam::1:role/x\"\n", "role_arn"),
            ("[[registry]]\nmatch = \"x.example.com\"\naccount = \"123456789012\"\n", "go together"),
            ("[[registry]]\nmatch = \"123456789012\"\naccount = \"123456789012\"\nregion = \"us-east-1\"\n", "host name"),
            ("[[registry]]\nmatch = \"[\"\n", "glob"),
            ("timeout_seconds = 0\n", "at least 1"),
            ("this is not toml", "config.toml"),
            ("unknown = 1\n", "unknown"),
        ];
        for (text, needle) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains("/x/config.toml"), "{e}");
            assert!(e.contains(needle), "{text:?} -> {e}");
        }
    }

    #[test]
    fn missing_file_is_empty() {
        let c = Config::load(Path::new("/nonexistent/ecr-xacct.toml")).unwrap();
        assert!(c.registry.is_empty());
    }

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/x"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/x"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/x"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:role/"));
        assert!(!is_role_arn("arn:aws:sts::123456789012:role/x"));
        assert!(!is_role_arn("arn:awsx:iam::123456789012:role/x"));
    }
}

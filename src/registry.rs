//! Registry host names: which ECR registry (owner account, region, partition) a server URL
//! names. Strict on purpose: anything that is not exactly an ECR host is not ours.

use std::fmt;

/// The DNS suffixes of the AWS partitions that serve ECR.
pub const DOMAINS: &[&str] = &[
    "amazonaws.com",
    "amazonaws.com.cn",
    "amazonaws.eu",
    "on.aws",
    "on.amazonwebservices.com.cn",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
];

/// The ECR Public registry hosts.
pub const PUBLIC_HOSTS: &[&str] = &["public.ecr.aws", "ecr-public.aws.com"];

/// The region ECR Public tokens come from.
pub const PUBLIC_REGION: &str = "us-east-1";

/// An ECR registry, as named by a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The host, lower case, without port or path.
    pub host: String,
    /// The owner account (12 digits); `None` for ECR Public.
    pub account: Option<String>,
    /// The region whose API issues the token.
    pub region: String,
    /// The partition's DNS suffix, e.g. `amazonaws.com`.
    pub domain: String,
    /// A `-fips` host: use the FIPS API endpoint.
    pub fips: bool,
    /// A `dkr-ecr` host: use the dual-stack API endpoint.
    pub dual_stack: bool,
    /// ECR Public (`public.ecr.aws`).
    pub public: bool,
}

impl Registry {
    /// Parses what a client sent (`host`, `host:port`, `https://host/path`, ...).
    /// `None` when it does not name an ECR registry.
    pub fn parse(server_url: &str) -> Option<Registry> {
        Registry::from_host(&host_of(server_url)?)
    }

    /// Parses a bare, already lower-cased host name.
    pub fn from_host(host: &str) -> Option<Registry> {
        if PUBLIC_HOSTS.contains(&host) {
            return Some(Registry {
                host: host.to_string(),
                account: None,
                region: PUBLIC_REGION.to_string(),
                domain: "amazonaws.com".to_string(),
                fips: false,
                dual_stack: false,
                public: true,
            });
        }
        let (account, rest) = host.split_once('.')?;
        if !is_account_id(account) {
            return None;
        }
        let (dual_stack, service, rest) = match rest.strip_prefix("dkr.") {
            Some(rest) => {
                let (service, rest) = rest.split_once('.')?;
                (false, service, rest)
            }
            None => {
                let (service, rest) = rest.split_once('.')?;
                (true, service.strip_prefix("dkr-")?, rest)
            }
        };
        let fips = match service {
            "ecr" => false,
            "ecr-fips" => true,
            _ => return None,
        };
        let (region, domain) = rest.split_once('.')?;
        if !is_region(region) || !DOMAINS.contains(&domain) {
            return None;
        }
        Some(Registry {
            host: host.to_string(),
            account: Some(account.to_string()),
            region: region.to_string(),
            domain: domain.to_string(),
            fips,
            dual_stack,
            public: false,
        })
    }

    /// A custom host (a CNAME, proxy or pull-through name) that the config maps to an owner.
    pub fn custom(host: &str, account: &str, region: &str) -> Registry {
        Registry {
            host: host.to_string(),
            account: Some(account.to_string()),
            region: region.to_string(),
            domain: partition_of_region(region).domain.to_string(),
            fips: false,
            dual_stack: false,
            public: false,
        }
    }

    /// What a token is valid for: partition, region, endpoint variant, private or public.
    /// Tokens are shared within one scope (for one identity), never across scopes.
    pub fn scope(&self) -> String {
        let kind = if self.public { "public" } else { "private" };
        let fips = if self.fips { "+fips" } else { "" };
        let dual = if self.dual_stack { "+dualstack" } else { "" };
        format!("{kind}/{}/{}{fips}{dual}", self.domain, self.region)
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)
    }
}

/// The lower-cased host of a server URL: scheme, path and port removed.
/// `None` for input that cannot be a plain host (userinfo, bad port, odd characters).
pub fn host_of(server_url: &str) -> Option<String> {
    authority_of(server_url).map(|(host, _)| host)
}

/// The lower-cased `host[:port]` of a server URL, as Docker keys `credHelpers` and `auths`.
pub fn server_key(server_url: &str) -> Option<String> {
    authority_of(server_url).map(|(host, port)| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Host and port of a server URL, both checked.
fn authority_of(server_url: &str) -> Option<(String, Option<String>)> {
    let lower = server_url.trim().to_ascii_lowercase();
    let s = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .unwrap_or(&lower);
    let authority = s.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => {
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (host, Some(port.to_string()))
        }
        None => (authority, None),
    };
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    valid.then(|| (host.to_string(), port))
}

/// Exactly 12 ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Looks like an AWS region: lower-case letters, digits and single hyphens, starting with
/// a letter and ending in a number, e.g. `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`.
pub fn is_region(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1].is_ascii_digit()
        && s.contains('-')
        && !s.contains("--")
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// An AWS partition: the name ARNs use and the DNS suffix hosts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// As in ARNs, e.g. `aws-cn`.
    pub name: &'static str,
    /// As in host names, e.g. `amazonaws.com.cn`.
    pub domain: &'static str,
}

/// The commercial partition, for every region no prefix below claims.
pub const AWS: Partition = partition("aws", "amazonaws.com");

/// The other partitions, by region prefix (the first match wins).
const PARTITIONS_BY_REGION: &[(&str, Partition)] = &[
    ("cn-", partition("aws-cn", "amazonaws.com.cn")),
    ("us-gov-", partition("aws-us-gov", "amazonaws.com")),
    ("eusc-", partition("aws-eusc", "amazonaws.eu")),
    ("us-isob-", partition("aws-iso-b", "sc2s.sgov.gov")),
    ("us-isof-", partition("aws-iso-f", "csp.hci.ic.gov")),
    ("us-iso-", partition("aws-iso", "c2s.ic.gov")),
    ("eu-isoe-", partition("aws-iso-e", "cloud.adc-e.uk")),
];

const fn partition(name: &'static str, domain: &'static str) -> Partition {
    Partition { name, domain }
}

/// The partition a region belongs to.
pub fn partition_of_region(region: &str) -> Partition {
    PARTITIONS_BY_REGION
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or(AWS, |(_, p)| *p)
}

/// Whether `name` is a partition an ARN may name.
pub fn is_partition_name(name: &str) -> bool {
    name == AWS.name || PARTITIONS_BY_REGION.iter().any(|(_, p)| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(
        host: &str,
        account: &str,
        region: &str,
        domain: &str,
        fips: bool,
        dual: bool,
    ) -> Registry {
        Registry {
            host: host.into(),
            account: Some(account.into()),
            region: region.into(),
            domain: domain.into(),
            fips,
            dual_stack: dual,
            public: false,
        }
    }

    #[test]
    fn real_forms() {
        let table = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                private(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                    "123456789012",
                    "us-east-1",
                    "amazonaws.com",
                    false,
                    false,
                ),
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                private(
                    "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                    "123456789012",
                    "us-gov-west-1",
                    "amazonaws.com",
                    true,
                    false,
                ),
            ),
            (
                "123456789012.dkr-ecr.eu-west-1.on.aws",
                private(
                    "123456789012.dkr-ecr.eu-west-1.on.aws",
                    "123456789012",
                    "eu-west-1",
                    "on.aws",
                    false,
                    true,
                ),
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-2.on.aws",
                private(
                    "123456789012.dkr-ecr-fips.us-east-2.on.aws",
                    "123456789012",
                    "us-east-2",
                    "on.aws",
                    true,
                    true,
                ),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                private(
                    "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                    "123456789012",
                    "cn-north-1",
                    "amazonaws.com.cn",
                    false,
                    false,
                ),
            ),
            (
                "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                private(
                    "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                    "123456789012",
                    "cn-northwest-1",
                    "on.amazonwebservices.com.cn",
                    false,
                    true,
                ),
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                private(
                    "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                    "123456789012",
                    "eusc-de-east-1",
                    "amazonaws.eu",
                    false,
                    false,
                ),
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                private(
                    "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                    "123456789012",
                    "us-iso-east-1",
                    "c2s.ic.gov",
                    false,
                    false,
                ),
            ),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                private(
                    "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                    "123456789012",
                    "us-isob-east-1",
                    "sc2s.sgov.gov",
                    false,
                    false,
                ),
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                private(
                    "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                    "123456789012",
                    "eu-isoe-west-1",
                    "cloud.adc-e.uk",
                    false,
                    false,
                ),
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                private(
                    "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                    "123456789012",
                    "us-isof-south-1",
                    "csp.hci.ic.gov",
                    false,
                    false,
                ),
            ),
        ];
        for (input, want) in table {
            assert_eq!(Registry::parse(input).as_ref(), Some(&want), "{input}");
        }
    }

    #[test]
    fn what_clients_send() {
        let want = Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        for input in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\n",
            "  123456789012.dkr.ecr.us-east-1.amazonaws.com  ",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/app/web",
            "HTTPS://123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM",
            "http://123456789012.dkr.ecr.us-east-1.amazonaws.com:5000/x",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web",
        ] {
            assert_eq!(Registry::parse(input).as_ref(), Some(&want), "{input:?}");
        }
    }

    #[test]
    fn public() {
        for host in [
            "public.ecr.aws",
            "https://public.ecr.aws/nginx/nginx",
            "ECR-PUBLIC.aws.com",
        ] {
            let r = Registry::parse(host).unwrap();
            assert!(
                r.public && r.account.is_none() && r.region == "us-east-1",
                "{host}"
            );
        }
    }

    #[test]
    fn look_alikes_are_not_ours() {
        for input in [
            "",
            "docker.io",
            "registry-1.docker.io",
            "ghcr.io",
            "localhost:5000",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.",
            "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.co",
            "123456789012.dkr.ecr.us-east-1.evil.com",
            "123456789012.dkr.ecr.us-east.amazonaws.com",
            "123456789012.dkr.ecr.1-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us--east-1.amazonaws.com",
            "123456789012.dkr.ecr..amazonaws.com",
            "123456789012.dkr.ecrx.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr-fipsx.us-east-1.amazonaws.com",
            "123456789012.dkr-ecrx.us-east-1.on.aws",
            "123456789012.dkr.ecr.us-east-1.on.aws.evil",
            "123456789012.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.us-east-1.amazonaws.com",
            "user@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://user:pw@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:port",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:123456",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\0",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\0.evil.example",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com evil",
            "１２３456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonаws.com",
            "123456789012.dkr.ecr.us-east-1.xn--amazonaws-xyz.com",
            "public.ecr.aws.evil.example",
            "xpublic.ecr.aws",
            "ftp://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ] {
            assert_eq!(Registry::parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn server_keys_keep_the_port() {
        assert_eq!(
            server_key("HTTPS://Images.Example.com:6443/v2/x").as_deref(),
            Some("images.example.com:6443")
        );
        assert_eq!(
            server_key("images.example.com").as_deref(),
            Some("images.example.com")
        );
        assert_eq!(server_key("user@images.example.com"), None);
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "ap-southeast-10",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "-us-east-1",
            "us-east-1-",
            "US-EAST-1",
            "1us-east-1",
            "us_east_1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn partitions() {
        let of = partition_of_region;
        assert_eq!(
            (of("us-east-1").name, of("us-east-1").domain),
            ("aws", "amazonaws.com")
        );
        assert_eq!(
            (of("cn-north-1").name, of("cn-north-1").domain),
            ("aws-cn", "amazonaws.com.cn")
        );
        assert_eq!(
            (of("us-gov-west-1").name, of("us-gov-west-1").domain),
            ("aws-us-gov", "amazonaws.com")
        );
        assert_eq!(
            (of("us-isob-east-1").name, of("us-isob-east-1").domain),
            ("aws-iso-b", "sc2s.sgov.gov")
        );
        assert_eq!(
            (of("us-iso-east-1").name, of("us-iso-east-1").domain),
            ("aws-iso", "c2s.ic.gov")
        );
        assert!(is_partition_name("aws-iso-f") && is_partition_name("aws"));
        assert!(!is_partition_name("awsx") && !is_partition_name(""));
    }

    #[test]
    fn scope_separates_variants() {
        let a = Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let b = Registry::parse("210987654321.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let c = Registry::parse("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com").unwrap();
        let d = Registry::parse("public.ecr.aws").unwrap();
        assert_eq!(a.scope(), b.scope());
        assert_ne!(a.scope(), c.scope());
        assert_ne!(a.scope(), d.scope());
    }
}

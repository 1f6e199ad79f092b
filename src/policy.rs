//! `policy`: the two IAM documents a cross-account pull needs, as JSON ready to apply: the
//! owner's repository policy (who may pull) and the consumer's IAM policy (what it may call).
//! Pure code, shared with `doctor`; the only I/O is in [`run`].

use crate::error::Error;
use crate::registry;
use serde_json::{json, Value};
use std::io::Write;

/// What pulling an image takes on a repository.
pub const PULL_ACTIONS: [&str; 3] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];

/// What pushing takes on top of pulling.
pub const PUSH_ACTIONS: [&str; 4] = [
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
];

/// `policy`'s arguments (also its `--help`).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// The consumer: a 12-digit account id, or an IAM user/role ARN (an sts assumed-role ARN
    /// is turned into its role's ARN).
    #[arg(long)]
    pub consumer: String,
    /// Also allow pushing.
    #[arg(long)]
    pub push: bool,
    /// `owner`: the repository policy for the owner account (default); `consumer`: the IAM
    /// policy for the consumer's principal.
    #[arg(long, default_value = "owner", value_parser = ["owner", "consumer"])]
    pub side: String,
    /// Repository name for the consumer's policy (default: every repository of the owner).
    #[arg(long)]
    pub repository: Option<String>,
    /// The owner account id (required with --side consumer).
    #[arg(long)]
    pub owner: Option<String>,
    /// The owner's region (default for --side consumer: any region, `*`).
    #[arg(long)]
    pub region: Option<String>,
}

/// A validated consumer principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The ARN's partition; `None` for a bare account id.
    pub partition: Option<String>,
    /// The 12-digit account.
    pub account: String,
    /// The IAM resource: `root`, `user/<path/name>` or `role/<path/name>`.
    pub resource: String,
    /// The input was an sts assumed-role session ARN, turned into its role.
    pub from_session: bool,
}

impl Principal {
    /// The principal's IAM ARN; `partition` is used when the input named none (account id).
    pub fn arn(&self, partition: &str) -> String {
        let p = self.partition.as_deref().unwrap_or(partition);
        format!("arn:{p}:iam::{}:{}", self.account, self.resource)
    }
}

/// Parses `--consumer`: an account id or an IAM user, role, root or assumed-role ARN.
pub fn parse_principal(input: &str) -> Result<Principal, Error> {
    let s = input.trim();
    if registry::is_account_id(s) {
        return Ok(Principal {
            partition: None,
            account: s.to_string(),
            resource: "root".into(),
            from_session: false,
        });
    }
    parse_arn(s).ok_or_else(|| {
        Error::failed(
            format!("policy --consumer {input:?}"),
            "not a 12-digit account id nor an IAM principal ARN",
            "use e.g. 210987654321, arn:aws:iam::210987654321:role/NAME, arn:aws:iam::210987654321:user/NAME or arn:aws:sts::210987654321:assumed-role/ROLE/SESSION",
        )
    })
}

fn parse_arn(s: &str) -> Option<Principal> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ["arn", partition, service, "", account, resource] = parts.as_slice() else {
        return None;
    };
    if !registry::is_partition_name(partition) || !registry::is_account_id(account) {
        return None;
    }
    let (resource, from_session) = match *service {
        "iam" if *resource == "root" => (resource.to_string(), false),
        "iam" => {
            let (kind, path) = resource.split_once('/')?;
            let segments: Vec<&str> = path.split('/').collect();
            let ok = matches!(kind, "user" | "role") && segments.iter().all(|s| is_iam_name(s));
            (ok.then(|| resource.to_string())?, false)
        }
        "sts" => {
            let rest = resource.strip_prefix("assumed-role/")?;
            let (role, session) = rest.split_once('/')?;
            (is_iam_name(role) && is_iam_name(session)).then_some(())?;
            (format!("role/{role}"), true)
        }
        _ => return None,
    };
    Some(Principal {
        partition: Some(partition.to_string()),
        account: account.to_string(),
        resource,
        from_session,
    })
}

/// IAM name characters (user, role, path segment, session): `[A-Za-z0-9+=,.@_-]`, 1-128.
fn is_iam_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// An ECR repository name: lower-case components of `[a-z0-9]` joined by single `.`, `_` or
/// `-`, separated by `/`; 2-256 characters.
pub fn is_repository_name(s: &str) -> bool {
    let component = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(x))
            && !b
                .windows(2)
                .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric())
    };
    (2..=256).contains(&s.len()) && s.split('/').all(component)
}

fn actions(push: bool) -> Vec<&'static str> {
    let mut v = PULL_ACTIONS.to_vec();
    if push {
        v.extend(PUSH_ACTIONS);
    }
    v
}

/// The owner's repository policy letting `principal_arn` pull (and push). A repository
/// policy names no Resource: it is the repository it is set on.
pub fn owner_policy(principal_arn: &str, push: bool) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": if push { "EcrXacctPullPush" } else { "EcrXacctPull" },
            "Effect": "Allow",
            "Principal": {"AWS": principal_arn},
            "Action": actions(push),
        }]
    })
}

/// The repository ARN a consumer's policy names; `*` for an unknown region or repository.
pub fn repository_arn(
    partition: &str,
    owner: &str,
    region: Option<&str>,
    repository: Option<&str>,
) -> String {
    format!(
        "arn:{partition}:ecr:{}:{owner}:repository/{}",
        region.unwrap_or("*"),
        repository.unwrap_or("*")
    )
}

/// The consumer's IAM policy: a token from its own account, and the repository actions on
/// the owner's repository (or all of them).
pub fn consumer_policy(
    partition: &str,
    owner: &str,
    region: Option<&str>,
    repository: Option<&str>,
    push: bool,
) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EcrXacctToken",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": if push { "EcrXacctPullPush" } else { "EcrXacctPull" },
                "Effect": "Allow",
                "Action": actions(push),
                "Resource": repository_arn(partition, owner, region, repository),
            }
        ]
    })
}

/// Pretty JSON, two-space indented, ending in a newline.
pub fn render(policy: &Value) -> String {
    let mut s = serde_json::to_string_pretty(policy).expect("JSON values always serialize");
    s.push('\n');
    s
}

/// The policy `args` ask for, with an optional note for stderr.
pub fn generate(args: &Args) -> Result<(String, Option<String>), Error> {
    let principal = parse_principal(&args.consumer)?;
    let bad = |flag: &str, value: &str, why: &str, hint: &str| {
        Error::failed(format!("policy {flag} {value:?}"), why, hint)
    };
    if let Some(owner) = &args.owner {
        if !registry::is_account_id(owner) {
            return Err(bad(
                "--owner",
                owner,
                "not a 12-digit account id",
                "the owner is the account that holds the repository",
            ));
        }
    }
    if let Some(region) = &args.region {
        if !registry::is_region(region) {
            return Err(bad(
                "--region",
                region,
                "not an AWS region",
                "use e.g. us-east-1",
            ));
        }
    }
    if let Some(repository) = &args.repository {
        if !is_repository_name(repository) {
            return Err(bad(
                "--repository",
                repository,
                "not an ECR repository name",
                "lower-case letters, digits, . _ - and /, e.g. team/app",
            ));
        }
    }
    let region_partition = args
        .region
        .as_deref()
        .map(|r| registry::partition_of_region(r).name);
    let partition = match (&principal.partition, region_partition) {
        (Some(p), Some(r)) if p != r => {
            return Err(bad(
                "--region",
                args.region.as_deref().unwrap_or_default(),
                &format!("is in partition {r}, the consumer in {p}"),
                "a principal can only be granted access within its own partition",
            ))
        }
        (Some(p), _) => p.clone(),
        (None, r) => r.unwrap_or("aws").to_string(),
    };
    let note = principal.from_session.then(|| {
        format!(
            "ecr-xacct: note: {} is a role session; the policy names its role, {} (add the role's path if it has one)",
            args.consumer.trim(),
            principal.arn(&partition)
        )
    });
    let policy = if args.side == "consumer" {
        let owner = args.owner.as_deref().ok_or_else(|| {
            Error::failed(
                "policy --side consumer",
                "--owner is missing",
                "name the account that holds the repository: --owner 123456789012",
            )
        })?;
        consumer_policy(
            &partition,
            owner,
            args.region.as_deref(),
            args.repository.as_deref(),
            args.push,
        )
    } else {
        owner_policy(&principal.arn(&partition), args.push)
    };
    Ok((render(&policy), note))
}

/// Runs `policy`: the JSON on `out`, notes and errors on `err`; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match generate(args) {
        Ok((text, note)) => {
            if let Some(note) = note {
                let _ = writeln!(err, "{note}");
            }
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(consumer: &str) -> Args {
        Args {
            consumer: consumer.into(),
            side: "owner".into(),
            ..Args::default()
        }
    }

    #[test]
    fn owner_policy_for_an_account_is_exact() {
        let (text, note) = generate(&args("210987654321")).unwrap();
        assert_eq!(note, None);
        assert_eq!(
            text,
            r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EcrXacctPull",
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::210987654321:root"
      },
      "Action": [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability"
      ]
    }
  ]
}
"#
        );
    }

    #[test]
    fn owner_policy_with_push_for_a_role() {
        let a = Args {
            push: true,
            ..args("arn:aws:iam::210987654321:role/ci/builder")
        };
        let (text, _) = generate(&a).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "EcrXacctPullPush", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::210987654321:role/ci/builder"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability", "ecr:PutImage", "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"]}]})
        );
        assert!(
            v["Statement"][0].get("Resource").is_none(),
            "a repository policy has no Resource"
        );
    }

    #[test]
    fn consumer_policy_is_exact() {
        let a = Args {
            side: "consumer".into(),
            owner: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            repository: Some("app/web".into()),
            ..args("arn:aws:iam::210987654321:user/ci")
        };
        let (text, _) = generate(&a).unwrap();
        assert_eq!(
            text,
            r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EcrXacctToken",
      "Effect": "Allow",
      "Action": "ecr:GetAuthorizationToken",
      "Resource": "*"
    },
    {
      "Sid": "EcrXacctPull",
      "Effect": "Allow",
      "Action": [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability"
      ],
      "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/app/web"
    }
  ]
}
"#
        );
    }

    #[test]
    fn consumer_policy_defaults_to_any_region_and_repository() {
        let a = Args {
            side: "consumer".into(),
            owner: Some("123456789012".into()),
            ..args("210987654321")
        };
        let v: Value = serde_json::from_str(&generate(&a).unwrap().0).unwrap();
        assert_eq!(
            v["Statement"][1]["Resource"],
            "arn:aws:ecr:*:123456789012:repository/*"
        );
        let no_owner = Args {
            owner: None,
            ..a.clone()
        };
        let e = generate(&no_owner).unwrap_err().to_string();
        assert!(e.contains("--owner is missing"), "{e}");
    }

    #[test]
    fn partitions_follow_the_arn_or_the_region() {
        let a = Args {
            region: Some("cn-north-1".into()),
            ..args("210987654321")
        };
        let v: Value = serde_json::from_str(&generate(&a).unwrap().0).unwrap();
        assert_eq!(
            v["Statement"][0]["Principal"]["AWS"],
            "arn:aws-cn:iam::210987654321:root"
        );
        let gov = Args {
            side: "consumer".into(),
            owner: Some("123456789012".into()),
            ..args("arn:aws-us-gov:iam::210987654321:role/x")
        };
        let v: Value = serde_json::from_str(&generate(&gov).unwrap().0).unwrap();
        assert_eq!(
            v["Statement"][1]["Resource"],
            "arn:aws-us-gov:ecr:*:123456789012:repository/*"
        );
        let mixed = Args {
            region: Some("us-east-1".into()),
            ..args("arn:aws-cn:iam::210987654321:role/x")
        };
        let e = generate(&mixed).unwrap_err().to_string();
        assert!(e.contains("partition aws, the consumer in aws-cn"), "{e}");
    }

    #[test]
    fn assumed_role_becomes_its_role() {
        let (text, note) = generate(&args(
            "arn:aws:sts::210987654321:assumed-role/ecr-pull/ci-42",
        ))
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::210987654321:role/ecr-pull"
        );
        assert!(note.unwrap().contains("role session"));
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in [
            "",
            "21098765432",
            "2109876543210",
            "arn:aws:iam::21098765432:role/x",
            "arn:aws:iam::210987654321:role/",
            "arn:aws:iam::210987654321:group/x",
            "arn:aws:iam:us-east-1:210987654321:role/x",
            "arn:awsx:iam::210987654321:role/x",
            "arn:aws:s3::210987654321:role/x",
            "arn:aws:sts::210987654321:assumed-role/x",
            "arn:aws:iam::210987654321:role/a b",
            "arn:aws:iam::210987654321:user/x//y",
        ] {
            let e = generate(&args(bad)).unwrap_err().to_string();
            assert!(e.starts_with("ecr-xacct: policy --consumer"), "{bad}: {e}");
        }
        let cases = [
            (
                Args {
                    owner: Some("1234".into()),
                    ..args("210987654321")
                },
                "--owner",
            ),
            (
                Args {
                    region: Some("mars".into()),
                    ..args("210987654321")
                },
                "--region",
            ),
            (
                Args {
                    repository: Some("App/Web".into()),
                    ..args("210987654321")
                },
                "--repository",
            ),
        ];
        for (a, flag) in cases {
            let e = generate(&a).unwrap_err().to_string();
            assert!(e.contains(flag), "{e}");
        }
    }

    #[test]
    fn repository_names() {
        for ok in ["ab", "app/web", "team-a/app_x.y/web-1", "a1"] {
            assert!(is_repository_name(ok), "{ok}");
        }
        for bad in [
            "", "a", "App", "/app", "app/", "a//b", "a..b", "-a", "a-", "a b",
        ] {
            assert!(!is_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn run_writes_json_or_an_error() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args("210987654321"), &mut out, &mut err), 0);
        assert!(err.is_empty());
        assert!(String::from_utf8(out).unwrap().starts_with("{\n"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args("nope"), &mut out, &mut err), 1);
        assert!(out.is_empty());
        assert!(String::from_utf8(err).unwrap().contains("nope"));
    }
}

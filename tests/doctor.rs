//! The real binary's `doctor` against the in-process fake AWS: one pass/fail line per step,
//! the exit code, the probes the fake received, the policies printed on a denied pull, and
//! never a token.

mod common;
use common::*;

/// The output with the private HOME and every `YYYY-MM-DDTHH:MM:SSZ` time made stable.
fn normalise(out: &str, h: &Helper) -> String {
    let text = out.replace(h.home.path().to_str().unwrap(), "$HOME");
    let b = text.as_bytes();
    let mut s = String::new();
    let mut i = 0;
    while i < b.len() {
        let is_time = b.len() - i >= 20
            && b[i..i + 20].iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'Z',
                _ => c.is_ascii_digit(),
            });
        if is_time {
            s.push_str("<time>");
            i += 20;
        } else {
            let ch = text[i..].chars().next().unwrap();
            s.push(ch);
            i += ch.len_utf8();
        }
    }
    s
}

fn doctor(h: &Helper, reference: &str) -> Out {
    h.run(&["doctor", reference], "")
}

fn no_token_shown(out: &Out) {
    for pw in [
        password_for(OWNER, DEFAULT_KEY),
        password_for(OWNER, ROLE_KEY),
        password_for("555555555555", DEFAULT_KEY),
    ] {
        assert!(!out.stdout.contains(&pw) && !out.stderr.contains(&pw));
    }
    assert_no_secrets_printed(
        &[
            DEFAULT_KEY,
            DEFAULT_SECRET,
            ROLE_KEY,
            ROLE_SECRET,
            ROLE_SESSION,
        ],
        &[],
    );
}

const REGISTRY_LINE: &str = "[ok]   registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com: owner 123456789012, region us-east-1, partition domain amazonaws.com, fips no, dual-stack no, public no\n";

#[test]
fn all_good_with_an_image() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    fake.answer_ecr("BatchGetImage", image_found(OWNER, "app/web", "1.0"));
    let out = doctor(&h, &format!("{HOST}/app/web:1.0"));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.stderr, "");
    assert_eq!(
        normalise(&out.stdout, &h),
        format!(
            "ecr-xacct doctor {HOST}/app/web:1.0\n{REGISTRY_LINE}\
[ok]   config: $HOME/config.toml (absent): no entry matches; the default credential chain answers
[ok]   identity: arn:aws:iam::987654321098:user/tester (account 987654321098) via the default credential chain
[ok]   GetAuthorizationToken: a token was issued, valid until <time> (not shown, not cached)
[--]   cache: no token cached for this identity in $HOME/cache; the next get fetches one
[ok]   pull: allowed; app/web:1.0 exists in 123456789012
all checks passed
"
        )
    );
    let probe = fake.requests_for("BatchGetImage");
    assert_eq!(probe.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&probe[0].body).unwrap();
    assert_eq!(body["registryId"], OWNER);
    assert_eq!(body["repositoryName"], "app/web");
    assert_eq!(body["imageIds"], serde_json::json!([{"imageTag": "1.0"}]));
    assert_eq!(probe[0].region, "us-east-1");
    assert_eq!(fake.requests_for("GetCallerIdentity").len(), 1);
    assert!(h.cache_files().is_empty(), "doctor writes no cache");
    no_token_shown(&out);
}

#[test]
fn a_denied_pull_prints_both_sides_policies() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    fake.answer_ecr(
        "BatchGetImage",
        json_error(400, "AccessDeniedException", "User: arn:aws:iam::987654321098:user/tester is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app/web because no resource-based policy allows the ecr:BatchGetImage action"),
    );
    let out = doctor(&h, &format!("{HOST}/app/web@sha256:abcd"));
    assert_eq!(out.code, 1);
    let text = normalise(&out.stdout, &h);
    let (head, tail) = text.split_once("[FAIL] pull: ").expect(&text);
    assert!(head.contains("[ok]   GetAuthorizationToken"), "{head}");
    assert_eq!(
        tail,
        r#"AccessDeniedException: User: arn:aws:iam::987654321098:user/tester is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app/web because no resource-based policy allows the ecr:BatchGetImage action
       AWS says the owner's repository policy does not allow you: apply the owner's side below
       owner's side: a statement in repository app/web's policy in account 123456789012 (merge it into any existing policy; set-repository-policy replaces it):
         aws ecr set-repository-policy --registry-id 123456789012 --region us-east-1 --repository-name app/web --policy-text file://owner-policy.json
       {
         "Version": "2012-10-17",
         "Statement": [
           {
             "Sid": "EcrXacctPull",
             "Effect": "Allow",
             "Principal": {
               "AWS": "arn:aws:iam::987654321098:user/tester"
             },
             "Action": [
               "ecr:BatchGetImage",
               "ecr:GetDownloadUrlForLayer",
               "ecr:BatchCheckLayerAvailability"
             ]
           }
         ]
       }
       consumer's side: an IAM policy on arn:aws:iam::987654321098:user/tester:
         aws iam put-user-policy --user-name tester --policy-name ecr-xacct-pull --policy-document file://consumer-policy.json
       {
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
1 check failed
"#
    );
    let probe = fake.requests_for("BatchGetImage");
    let body: serde_json::Value = serde_json::from_str(&probe[0].body).unwrap();
    assert_eq!(
        body["imageIds"],
        serde_json::json!([{"imageDigest": "sha256:abcd"}])
    );
    no_token_shown(&out);
}

#[test]
fn an_assumed_role_is_named_by_its_role_arn() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    h.config(
        "[[registry]]\nmatch = \"123456789012\"\nrole_arn = \"arn:aws:iam::210987654321:role/puller\"\n",
    );
    fake.answer_caller(
        "210987654321",
        "arn:aws:sts::210987654321:assumed-role/puller/ecr-xacct",
    );
    fake.answer_ecr(
        "BatchCheckLayerAvailability",
        json_error(400, "AccessDeniedException", "User: arn:aws:sts::210987654321:assumed-role/puller/ecr-xacct is not authorized to perform: ecr:BatchCheckLayerAvailability on resource: arn:aws:ecr:us-east-1:123456789012:repository/app/web because no identity-based policy allows the ecr:BatchCheckLayerAvailability action"),
    );
    let out = doctor(&h, &format!("{HOST}/app/web"));
    assert_eq!(out.code, 1);
    let text = normalise(&out.stdout, &h);
    for line in [
        "[ok]   config: $HOME/config.toml: entry #1 matches (match = \"123456789012\")\n",
        "[ok]   identity: arn:aws:sts::210987654321:assumed-role/puller/ecr-xacct (account 210987654321) via the default credential chain then role arn:aws:iam::210987654321:role/puller (config entry #1, match = \"123456789012\")\n",
        "       AWS says your IAM policy does not allow it: apply the consumer's side below\n",
        "               \"AWS\": \"arn:aws:iam::210987654321:role/puller\"\n",
        "       consumer's side: an IAM policy on arn:aws:iam::210987654321:role/puller:\n",
        "         aws iam put-role-policy --role-name puller --policy-name ecr-xacct-pull --policy-document file://consumer-policy.json\n",
    ] {
        assert!(text.contains(line), "{line}\n---\n{text}");
    }
    assert!(
        !text.contains("assumed-role/puller/ecr-xacct\"\n"),
        "{text}"
    );
    // The identity is asked after the role assumption, with the role's keys; so is the probe.
    let sts = fake.requests_for("GetCallerIdentity");
    assert_eq!(sts.len(), 1);
    assert_eq!(sts[0].access_key, ROLE_KEY);
    assert_eq!(fake.requests_for("AssumeRole").len(), 1, "assumed once");
    let probe = fake.requests_for("BatchCheckLayerAvailability");
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].access_key, ROLE_KEY);
    let body: serde_json::Value = serde_json::from_str(&probe[0].body).unwrap();
    assert_eq!(body["registryId"], OWNER);
    assert_eq!(body["repositoryName"], "app/web");
    no_token_shown(&out);
}

#[test]
fn a_denied_token_is_explained_with_the_consumer_policy() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::access_denied("tester"));
    let h = Helper::new(&fake);
    let out = doctor(&h, &format!("{HOST}/app/web"));
    assert_eq!(out.code, 1);
    let text = normalise(&out.stdout, &h);
    let (_, failed) = text
        .split_once("[FAIL] GetAuthorizationToken: ")
        .expect(&text);
    let lines: Vec<&str> = failed.lines().take(4).collect();
    assert_eq!(lines[0], "AccessDeniedException: User: arn:aws:iam::987654321098:user/tester is not authorized to perform: ecr:GetAuthorizationToken (identity: the default credential chain)");
    // The helper's own hint, as `get` gives it.
    assert!(
        lines[1].starts_with("       hint: ") && lines[1].contains("ecr:GetAuthorizationToken"),
        "{text}"
    );
    assert_eq!(
        lines[2],
        "       ecr:GetAuthorizationToken is granted by the consumer's own IAM policy:"
    );
    assert_eq!(
        lines[3],
        "       consumer's side: an IAM policy on arn:aws:iam::987654321098:user/tester:"
    );
    // The standing error answers the probe too: denied as well.
    assert!(
        text.contains("[FAIL] pull: AccessDeniedException: "),
        "{text}"
    );
    assert!(text.ends_with("\n2 checks failed\n"), "{text}");
    no_token_shown(&out);
}

#[test]
fn missing_repository_and_missing_image_fail() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    fake.answer_ecr(
        "BatchGetImage",
        json_error(
            400,
            "RepositoryNotFoundException",
            "The repository with name 'app/nope' does not exist in the registry with id '123456789012'",
        ),
    );
    let out = doctor(&h, &format!("{HOST}/app/nope:1"));
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("[FAIL] pull: repository app/nope not found in 123456789012 (us-east-1): The repository with name 'app/nope' does not exist in the registry with id '123456789012'\n       hint: check the repository name"), "{}", out.stdout);

    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    fake.answer_ecr("BatchGetImage", image_not_found("2.0"));
    let out = doctor(&h, &format!("{HOST}/app/web:2.0"));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("[FAIL] pull: allowed, but app/web:2.0 is not in 123456789012: ImageNotFound: Requested image not found\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("\n1 check failed\n"), "{}", out.stdout);
}

#[test]
fn a_host_alone_skips_the_probe_and_shows_the_cache() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    assert_eq!(h.get(HOST).code, 0);
    let out = doctor(&h, HOST);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let text = normalise(&out.stdout, &h);
    assert!(
        text.contains("[ok]   cache: fresh token, valid until <time>, refreshed from <time>\n"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "[--]   pull: skipped (name a repository to probe it, e.g. {HOST}/app/web:1.0)\n"
    )));
    assert!(fake.requests_for("BatchGetImage").is_empty());
    assert!(fake.requests_for("BatchCheckLayerAvailability").is_empty());
    // The token request is made even with a fresh cache: doctor checks AWS itself.
    assert_eq!(fake.token_requests().len(), 2);

    h.env("ECR_XACCT_NO_CACHE", "1");
    let out = doctor(&h, HOST);
    assert!(
        out.stdout
            .contains("[--]   cache: turned off (ECR_XACCT_NO_CACHE or AWS_ECR_DISABLE_CACHE)\n"),
        "{}",
        out.stdout
    );
    no_token_shown(&out);
}

#[test]
fn not_ecr_and_bad_references_fail_offline() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let out = doctor(&h, "docker.io/library/nginx");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        "ecr-xacct doctor docker.io/library/nginx\n[FAIL] registry: docker.io is not an ECR registry host (nor a custom host in the config file)\n       hint: use <account>.dkr.ecr.<region>.amazonaws.com[/repository[:tag]], public.ecr.aws, or add a [[registry]] entry with match, account and region for a custom host\n1 check failed\n"
    );
    let out = doctor(&h, &format!("{HOST}/App"));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("[FAIL] reference: \"App\" is not an ECR repository name"),
        "{}",
        out.stdout
    );
    h.config("[[registry]]\nmatch = \"1\"\n");
    let out = doctor(&h, HOST);
    assert_eq!(out.code, 1);
    let text = normalise(&out.stdout, &h);
    assert!(text.contains(REGISTRY_LINE), "{text}");
    assert!(
        text.contains("[FAIL] config: config file $HOME/config.toml: [[registry]] #1 (match = \"1\"): an account id in `match` must have exactly 12 digits\n"),
        "{text}"
    );
    assert!(fake.seen().is_empty());
}

#[test]
fn no_credentials_fails_the_identity_and_skips_the_rest() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    h.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = doctor(&h, &format!("{HOST}/app/web"));
    assert_eq!(out.code, 1);
    let text = normalise(&out.stdout, &h);
    assert!(
        text.contains("[FAIL] identity: the default credential chain: no AWS credentials for the default credential chain"),
        "{text}"
    );
    assert!(text.contains("[--]   GetAuthorizationToken: skipped (no credentials)\n"));
    assert!(text.contains("[--]   pull: skipped (no credentials)\n"));
    assert!(text.ends_with("\n1 check failed\n"), "{text}");
    assert!(fake.seen().is_empty());
}

#[test]
fn each_aws_step_is_bounded_by_the_timeout() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::Slow {
        delay: std::time::Duration::from_secs(30),
    });
    let mut h = Helper::new(&fake);
    h.env("ECR_XACCT_TIMEOUT", "1");
    let out = doctor(&h, &format!("{HOST}/app/web"));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.elapsed < std::time::Duration::from_secs(15),
        "{:?}",
        out.elapsed
    );
    assert!(out.stdout.contains("[ok]   identity: "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("[FAIL] GetAuthorizationToken: no answer from AWS within 1 s"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("[FAIL] pull: no answer from AWS within 1 s"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_custom_host_is_probed_in_its_owner_and_region() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    h.config(
        "[[registry]]\nmatch = \"images.example.com\"\naccount = \"555555555555\"\nregion = \"eu-central-1\"\n",
    );
    fake.answer_ecr(
        "BatchGetImage",
        image_found("555555555555", "team/app", "v2"),
    );
    let out = doctor(&h, "images.example.com/team/app:v2");
    assert_eq!(out.code, 0, "{}", out.stdout);
    let text = normalise(&out.stdout, &h);
    assert!(text.contains("[ok]   registry: images.example.com (a custom host from the config file): owner 555555555555, region eu-central-1, partition domain amazonaws.com, fips no, dual-stack no, public no\n"), "{text}");
    assert!(
        text.contains(
            "[ok]   config: $HOME/config.toml: entry #1 matches (match = \"images.example.com\")\n"
        ),
        "{text}"
    );
    assert!(text.contains("[ok]   pull: allowed; team/app:v2 exists in 555555555555\n"));
    let token = fake.token_requests();
    assert_eq!(token[0].registry_ids(), vec!["555555555555".to_string()]);
    assert_eq!(token[0].region, "eu-central-1");
    let probe = fake.requests_for("BatchGetImage");
    assert_eq!(probe[0].region, "eu-central-1");
    let body: serde_json::Value = serde_json::from_str(&probe[0].body).unwrap();
    assert_eq!(body["registryId"], "555555555555");

    // Not listed: not ours, and nothing asked.
    let before = fake.seen().len();
    let out = doctor(&h, "other.example.com/team/app");
    assert_eq!(out.code, 1);
    assert!(out
        .stdout
        .contains("[FAIL] registry: other.example.com is not an ECR registry host"));
    assert_eq!(fake.seen().len(), before);
    no_token_shown(&out);
}

#[test]
fn ecr_public_is_checked_without_a_probe() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let out = doctor(&h, "public.ecr.aws/nginx/nginx:latest");
    assert_eq!(out.code, 0, "{}", out.stdout);
    let text = normalise(&out.stdout, &h);
    assert!(text.contains("[ok]   registry: public.ecr.aws: owner none (ECR Public), region us-east-1, partition domain amazonaws.com, fips no, dual-stack no, public yes\n"), "{text}");
    assert!(text.contains("[--]   pull: skipped (ECR Public repositories are public)\n"));
    let token = fake.token_requests();
    assert_eq!(
        token[0].operation,
        "SpencerFrontendService.GetAuthorizationToken"
    );
}

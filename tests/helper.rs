//! The real binary against the in-process fake AWS: the Docker protocol, cross-account
//! tokens, identities, the cache and install wiring, asserting on what the fake received.

mod common;
use common::*;
use std::fs;

const ALL_KEYS: &[&str] = &[
    DEFAULT_SECRET,
    ROLE_KEY,
    ROLE_SECRET,
    ROLE_SESSION,
    DEFAULT_KEY,
];

fn check_secrets() {
    let pw = [
        password_for(OWNER, DEFAULT_KEY),
        password_for("111122223333", ROLE_KEY),
    ];
    assert_no_secrets_printed(ALL_KEYS, &[&pw[0], &pw[1]]);
}

#[test]
fn get_fetches_the_owners_token_then_serves_it_from_cache() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let out = h.get(HOST);
    assert_eq!(
        out.stdout,
        answer(HOST, &password_for(OWNER, DEFAULT_KEY)),
        "{}",
        out.stderr
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let reqs = fake.token_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].operation,
        "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
    );
    assert_eq!(reqs[0].service, "ecr");
    assert_eq!(reqs[0].region, "us-east-1");
    assert_eq!(reqs[0].registry_ids(), vec![OWNER.to_string()]);
    assert_eq!(reqs[0].access_key, DEFAULT_KEY);

    // A second process: served from the cache, the input echoed as given.
    for input in [
        format!("https://{HOST}"),
        format!("{HOST}:443"),
        HOST.to_uppercase(),
    ] {
        let out = h.get(&input);
        assert_eq!(
            out.stdout,
            answer(&input, &password_for(OWNER, DEFAULT_KEY))
        );
    }
    assert_eq!(fake.token_requests().len(), 1, "cache hits make no request");

    // The cache: 0700 directory, 0600 file, no access key in clear.
    assert_eq!(mode(&h.cache_dir()), 0o700);
    let files = h.cache_files();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);
    let text = fs::read_to_string(&files[0]).unwrap();
    assert!(!text.contains(DEFAULT_KEY) && !text.contains(DEFAULT_SECRET));
    check_secrets();
}

#[test]
fn owners_in_one_region_share_a_token_other_regions_do_not() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    h.get(HOST);
    let other_owner = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
    let out = h.get(other_owner);
    assert_eq!(out.code, 0);
    // The token serves every registry the principal may reach in the region (AWS API docs).
    assert_eq!(
        out.stdout,
        answer(other_owner, &password_for(OWNER, DEFAULT_KEY))
    );
    assert_eq!(fake.token_requests().len(), 1);

    let west = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    assert_eq!(h.get(west).code, 0);
    let reqs = fake.token_requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].region, "eu-west-1");

    // list shows every host handed a cached token.
    let out = h.run(&["list"], "");
    assert_eq!(out.code, 0);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        list,
        serde_json::json!({
            format!("https://{HOST}"): "AWS",
            format!("https://{other_owner}"): "AWS",
            format!("https://{west}"): "AWS",
        })
    );
}

#[test]
fn past_expiry_is_answered_warned_and_not_cached() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::Token { expires_in: -3600 });
    let h = Helper::new(&fake);
    let out = h.get(HOST);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, answer(HOST, &password_for(OWNER, DEFAULT_KEY)));
    assert_eq!(out.stderr.matches("warning").count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("already past"), "{}", out.stderr);
    assert!(h.cache_files().is_empty());
    h.get(HOST);
    assert_eq!(
        fake.token_requests().len(),
        2,
        "not cached, so fetched again"
    );
    assert_eq!(h.run(&["list"], "").stdout, "{}\n");
}

#[test]
fn role_in_the_owner_account_is_assumed_first() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    h.config(
        r#"
        [[registry]]
        match = "111122223333"
        role_arn = "arn:aws:iam::111122223333:role/ecr-pull"
        external_id = "ext-42"
        session_name = "ci-pull"
        "#,
    );
    let host = "111122223333.dkr.ecr.us-west-2.amazonaws.com";
    let out = h.get(host);
    assert_eq!(
        out.stdout,
        answer(host, &password_for("111122223333", ROLE_KEY)),
        "{}",
        out.stderr
    );
    let sts = fake.sts_requests();
    assert_eq!(sts.len(), 1);
    assert_eq!(sts[0].operation, "AssumeRole");
    assert_eq!(
        sts[0].form("RoleArn").as_deref(),
        Some("arn:aws:iam::111122223333:role/ecr-pull")
    );
    assert_eq!(sts[0].form("ExternalId").as_deref(), Some("ext-42"));
    assert_eq!(sts[0].form("RoleSessionName").as_deref(), Some("ci-pull"));
    assert_eq!(
        sts[0].access_key, DEFAULT_KEY,
        "the consumer's keys assume the role"
    );
    let ecr = fake.token_requests();
    assert_eq!(ecr.len(), 1);
    assert_eq!(
        ecr[0].access_key, ROLE_KEY,
        "the role's keys ask for the token"
    );
    assert_eq!(ecr[0].region, "us-west-2");

    // Another owner is not matched by the entry: default identity, its own cache entry.
    let out = h.get("123456789012.dkr.ecr.us-west-2.amazonaws.com");
    assert!(
        out.stdout.contains(&password_for(OWNER, DEFAULT_KEY)),
        "{}",
        out.stdout
    );
    assert_eq!(fake.token_requests().len(), 2);
    assert_eq!(h.cache_files().len(), 2, "two identities, two entries");
    check_secrets();
}

#[test]
fn a_profile_from_the_aws_files_is_used() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    h.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    h.aws_files(
        "[profile images]\nregion = eu-central-1\n",
        "[images]\naws_access_key_id = AKIDPROFILE0000001\naws_secret_access_key = profileSECRET/abcdefghijklmnop\n",
    );
    h.config("[[registry]]\nmatch = \"*.dkr.ecr.us-east-1.amazonaws.com\"\nprofile = \"images\"\n");
    let out = h.get(HOST);
    assert_eq!(
        out.stdout,
        answer(HOST, &password_for(OWNER, "AKIDPROFILE0000001")),
        "{}",
        out.stderr
    );
    let reqs = fake.token_requests();
    assert_eq!(reqs[0].access_key, "AKIDPROFILE0000001");
    assert_eq!(
        reqs[0].region, "us-east-1",
        "the host's region wins over the profile's"
    );

    // AWS_PROFILE selects a profile too, and is part of the cache key.
    h.config("");
    h.env("AWS_PROFILE", "images");
    let out = h.get(HOST);
    assert_eq!(out.code, 0);
    assert_eq!(
        fake.token_requests().len(),
        2,
        "a different identity is a different entry"
    );

    // A profile that does not exist: a clear error naming it.
    h.env("AWS_PROFILE", "nope");
    let out = h.get(HOST);
    assert_eq!(out.code, 1);
    assert!(out.stdout.starts_with("ecr-xacct: "), "{}", out.stdout);
    assert!(out.stdout.contains("\"nope\""), "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 1);
    assert_no_secrets_printed(&["profileSECRET/abcdefghijklmnop"], &[]);
}

#[test]
fn not_ours_makes_no_request() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    for input in [
        "docker.io",
        "https://index.docker.io/v1/",
        "ghcr.io/owner/repo",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "user@123456789012.dkr.ecr.us-east-1.amazonaws.com",
    ] {
        let out = h.get(input);
        assert_eq!(
            out.stdout, "credentials not found in native keychain\n",
            "{input}"
        );
        assert_eq!(out.code, 1);
    }
    assert!(fake.seen().is_empty());
}

#[test]
fn access_denied_is_explained_and_not_cached() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::access_denied("ci"));
    let h = Helper::new(&fake);
    let out = h.get(HOST);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.starts_with(&format!("ecr-xacct: GetAuthorizationToken for {HOST}: AccessDeniedException: User: arn:aws:iam::987654321098:user/ci is not authorized")), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("identity: the default credential chain"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("ecr:GetAuthorizationToken"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("owner 123456789012's repository policy"),
        "{}",
        out.stdout
    );
    assert_ne!(out.stdout, "credentials not found in native keychain\n");
    assert_eq!(
        fake.token_requests().len(),
        1,
        "AccessDenied is not retried"
    );
    assert!(h.cache_files().is_empty());
    check_secrets();
}

#[test]
fn erase_drops_the_token_and_the_next_get_fetches_again() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    h.get(HOST);
    assert_eq!(
        h.run(&["list"], "").stdout,
        format!("{{\"https://{HOST}\":\"AWS\"}}\n")
    );
    let out = h.run(&["erase"], &format!("https://{HOST}"));
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert_eq!(h.run(&["list"], "").stdout, "{}\n");
    assert!(h.cache_files().is_empty());
    // Erasing what is not there is fine.
    assert_eq!(h.run(&["erase"], HOST).code, 0);
    assert_eq!(h.run(&["erase"], "docker.io").code, 0);
    h.get(HOST);
    assert_eq!(fake.token_requests().len(), 2);
}

#[test]
fn store_accepts_and_keeps_nothing() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let out = h.run(
        &["store"],
        &format!(r#"{{"ServerURL":"{HOST}","Username":"AWS","Secret":"given-pw"}}"#),
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert!(h.cache_files().is_empty());
    let out = h.run(
        &["store"],
        r#"{"ServerURL":"","Username":"AWS","Secret":"x"}"#,
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "no credentials server URL\n")
    );
    let out = h.run(
        &["store"],
        &format!(r#"{{"ServerURL":"{HOST}","Secret":"x"}}"#),
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "no credentials username\n")
    );
    assert!(fake.seen().is_empty());
}

#[test]
fn version_help_and_usage() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let want = format!(
        "docker-credential-ecr-xacct {}\n",
        env!("CARGO_PKG_VERSION")
    );
    for arg in ["version", "--version", "-v"] {
        let out = h.run(&[arg], "");
        assert_eq!((out.code, out.stdout.as_str()), (0, want.as_str()), "{arg}");
    }
    let out = h.run(&["--help"], "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("configure-docker"));
    let out = h.run(&["get", "--help"], "");
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("read a server URL on stdin"),
        "{}",
        out.stdout
    );
    for args in [&[][..], &["frobnicate"][..]] {
        let out = h.run(args, "");
        assert_eq!(out.code, 1, "{args:?}");
        assert!(
            out.stdout
                .starts_with("Usage: docker-credential-ecr-xacct <get|store|erase|list|version"),
            "{}",
            out.stdout
        );
    }
    let out = h.get("");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "no credentials server URL\n")
    );
}

#[test]
fn ecr_public_with_and_without_credentials() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    let out = h.get("public.ecr.aws");
    assert_eq!(
        out.stdout,
        answer("public.ecr.aws", &password_for("public", DEFAULT_KEY)),
        "{}",
        out.stderr
    );
    let reqs = fake.token_requests();
    assert_eq!(
        reqs[0].operation,
        "SpencerFrontendService.GetAuthorizationToken"
    );
    assert_eq!(
        (reqs[0].service.as_str(), reqs[0].region.as_str()),
        ("ecr-public", "us-east-1")
    );

    // No credentials at all: anonymous pulls must keep working.
    h.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    h.env("ECR_XACCT_NO_CACHE", "1");
    let out = h.get("public.ecr.aws");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "credentials not found in native keychain\n"),
        "{}",
        out.stderr
    );
    // ...but a private registry says what is missing.
    let out = h.get(HOST);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("no AWS credentials"), "{}", out.stdout);
    assert_eq!(fake.token_requests().len(), 1);
}

#[test]
fn fips_and_dual_stack_hosts_still_reach_an_explicit_endpoint() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    for host in [
        "123456789012.dkr.ecr-fips.us-east-2.amazonaws.com",
        "123456789012.dkr-ecr.eu-west-3.on.aws",
    ] {
        let out = h.get(host);
        assert_eq!(out.code, 0, "{host}: {}", out.stdout);
    }
    let regions: Vec<String> = fake
        .token_requests()
        .into_iter()
        .map(|s| s.region)
        .collect();
    assert_eq!(regions, ["us-east-2", "eu-west-3"]);
}

#[test]
fn the_cache_can_be_turned_off() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    h.env("AWS_ECR_DISABLE_CACHE", "true");
    h.get(HOST);
    h.get(HOST);
    assert_eq!(fake.token_requests().len(), 2);
    assert!(h.cache_files().is_empty());
    h.env_remove("AWS_ECR_DISABLE_CACHE")
        .env("ECR_XACCT_NO_CACHE", "1");
    h.get(HOST);
    assert_eq!(fake.token_requests().len(), 3);
    assert!(h.cache_files().is_empty());
}

#[test]
fn a_malformed_config_is_a_clear_error_but_spares_other_registries() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    h.config("[[registry]]\nmatch = \"123456789012\"\nrole = \"oops\"\n");
    let out = h.get(HOST);
    assert_eq!(out.code, 1);
    let config = h.home.path().join("config.toml");
    assert!(
        out.stdout
            .contains(&format!("config file {}", config.display())),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("role"), "{}", out.stdout);
    let out = h.get("docker.io");
    assert_eq!(out.stdout, "credentials not found in native keychain\n");
    let want = format!("ecr-xacct: warning: config file {}:", config.display());
    assert!(out.stderr.starts_with(&want), "{}", out.stderr);
    assert!(fake.seen().is_empty());
}

#[test]
fn debug_traces_go_to_stderr_without_secrets() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    h.env("ECR_XACCT_LOG", "debug");
    let out = h.get(HOST);
    assert_eq!(out.stdout, answer(HOST, &password_for(OWNER, DEFAULT_KEY)));
    assert!(out.stderr.contains("cache miss"), "{}", out.stderr);
    assert!(
        out.stderr.contains("GetAuthorizationToken"),
        "{}",
        out.stderr
    );
    let out = h.get(HOST);
    assert!(out.stderr.contains("cache hit"), "{}", out.stderr);
    check_secrets();
}

#[test]
fn configure_docker_merges_credhelpers() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let file = h.home.path().join("docker/config.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(
        &file,
        r#"{"auths":{"x.io":{}},"credHelpers":{"gcr.io":"gcloud"}}"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = h.run(
        &[
            "configure-docker",
            "--file",
            f,
            HOST,
            "https://public.ecr.aws",
        ],
        "",
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains(&format!("{HOST}: added")));
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"auths":{"x.io":{}},"credHelpers":{"gcr.io":"gcloud", HOST: "ecr-xacct", "public.ecr.aws": "ecr-xacct"}})
    );
    let out = h.run(&["configure-docker", "--file", f, HOST], "");
    assert!(out.stdout.contains("already set"));
    // A port is part of Docker's key and stays.
    let out = h.run(
        &[
            "configure-docker",
            "--file",
            f,
            &format!("https://{}:6443/v2/", HOST.to_uppercase()),
        ],
        "",
    );
    assert!(
        out.stdout.contains(&format!("{HOST}:6443: added")),
        "{}",
        out.stdout
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["credHelpers"][format!("{HOST}:6443")], "ecr-xacct");
    let out = h.run(&["configure-docker", "--file", f, "docker.io"], "");
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("not an ECR registry host"));
    // DOCKER_CONFIG is honoured without --file.
    let mut h2 = Helper::new(&fake);
    h2.env("DOCKER_CONFIG", h2.home.path().join("dc").to_str().unwrap());
    assert_eq!(h2.run(&["configure-docker", HOST], "").code, 0);
    assert!(h2.home.path().join("dc/config.json").exists());
}

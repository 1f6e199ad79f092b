//! The real binary as a kubelet image credential provider, against the in-process fake AWS:
//! exact CredentialProviderRequest/Response JSON, the shared cache, errors on stderr only,
//! and custom host names from the config file.

mod common;
use common::*;

const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";

fn request(api: &str, image: &str) -> String {
    format!(r#"{{"kind":"CredentialProviderRequest","apiVersion":"{api}","image":"{image}"}}"#)
}

fn response(api: &str, duration: &str, auth: Option<(&str, &str)>) -> String {
    let auth = auth.map_or(String::new(), |(key, pw)| {
        format!(r#","auth":{{"{key}":{{"username":"AWS","password":"{pw}"}}}}"#)
    });
    format!(
        r#"{{"kind":"CredentialProviderResponse","apiVersion":"{api}","cacheKeyType":"Registry","cacheDuration":"{duration}"{auth}}}"#
    ) + "\n"
}

/// The answer's cacheDuration, checked to be within a second of `secs` (the fake and the
/// helper read the clock at different moments); returns the answer with it pinned to `as_`.
fn pin_duration(stdout: &str, secs: u64, as_: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(stdout).expect(stdout);
    let d = v["cacheDuration"].as_str().unwrap().to_string();
    let allowed: Vec<String> = [secs - 1, secs, secs + 1].iter().map(|s| go(*s)).collect();
    assert!(
        allowed.contains(&d),
        "cacheDuration {d}, want about {secs} s"
    );
    stdout.replacen(
        &format!("\"cacheDuration\":\"{d}\""),
        &format!("\"cacheDuration\":\"{as_}\""),
        1,
    )
}

fn go(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn check_secrets() {
    assert_no_secrets_printed(
        &[
            DEFAULT_KEY,
            DEFAULT_SECRET,
            ROLE_KEY,
            ROLE_SECRET,
            ROLE_SESSION,
        ],
        &[
            &password_for(OWNER, DEFAULT_KEY),
            &password_for("555555555555", DEFAULT_KEY),
        ],
    );
}

#[test]
fn kubelet_gets_the_owners_token_and_shares_the_cache_with_docker() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let pw = password_for(OWNER, DEFAULT_KEY);
    let out = h.run(&["kubelet"], &request(V1, &format!("{HOST}/app/web")));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{}", out.stdout);
    // A 12-hour token is kept by the kubelet until the cache would refresh it: 8 h.
    assert_eq!(
        pin_duration(&out.stdout, 28_800, "8h0m0s"),
        response(V1, "8h0m0s", Some((HOST, &pw)))
    );
    let reqs = fake.token_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].registry_ids(), vec![OWNER.to_string()]);
    assert_eq!(reqs[0].region, "us-east-1");

    // v1beta1, with a port: answered in kind, keyed by host:port, from the cache.
    let with_port = format!("{HOST}:443");
    let out = h.run(
        &["kubelet"],
        &request(V1BETA1, &format!("{with_port}/app/web")),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        pin_duration(&out.stdout, 28_800, "8h0m0s"),
        response(V1BETA1, "8h0m0s", Some((&with_port, &pw)))
    );
    // Docker's get is served from the same cache entry.
    assert_eq!(h.get(HOST).stdout, answer(HOST, &pw));
    assert_eq!(fake.token_requests().len(), 1, "one token for all three");
    check_secrets();
}

#[test]
fn kubelet_does_not_cache_a_token_past_expiry() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::Token { expires_in: -3600 });
    let h = Helper::new(&fake);
    let out = h.run(&["kubelet"], &request(V1, HOST));
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        response(V1, "0s", Some((HOST, &password_for(OWNER, DEFAULT_KEY))))
    );
    assert!(out.stderr.contains("already past"), "{}", out.stderr);
}

#[test]
fn kubelet_without_the_cache_uses_the_cache_rule() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::Token { expires_in: 5400 });
    let mut h = Helper::new(&fake);
    h.env("ECR_XACCT_NO_CACHE", "1");
    let out = h.run(&["kubelet"], &request(V1, HOST));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // 90 minutes left, the one-hour floor: 30 minutes.
    assert_eq!(
        pin_duration(&out.stdout, 1800, "30m0s"),
        response(V1, "30m0s", Some((HOST, &password_for(OWNER, DEFAULT_KEY))))
    );
}

#[test]
fn kubelet_answers_other_images_without_auth_and_offline() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    for image in [
        "docker.io/library/nginx",
        "registry.example.com:5000/app",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
    ] {
        let out = h.run(&["kubelet"], &request(V1, image));
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, response(V1, "0s", None).as_str(), ""),
            "{image}"
        );
    }
    // A broken config spares images that are not ECR, with a warning.
    h.config("[[registry]]\nmatch = \"1\"\n");
    let out = h.run(&["kubelet"], &request(V1, "ghcr.io/owner/app"));
    assert_eq!((out.code, out.stdout), (0, response(V1, "0s", None)));
    assert!(out.stderr.contains("warning"), "{}", out.stderr);
    assert!(fake.seen().is_empty());
}

#[test]
fn kubelet_refuses_bad_requests_on_stderr_only() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let cases = [
        (
            request("credentialprovider.kubelet.k8s.io/v1alpha1", HOST),
            "ecr-xacct: kubelet: unsupported apiVersion \"credentialprovider.kubelet.k8s.io/v1alpha1\" (supported: credentialprovider.kubelet.k8s.io/v1, credentialprovider.kubelet.k8s.io/v1beta1); set apiVersion: credentialprovider.kubelet.k8s.io/v1 in the CredentialProviderConfig\n",
        ),
        (
            "{not json".to_string(),
            "ecr-xacct: kubelet: input is not a CredentialProviderRequest (key must be a string at line 1 column 2)\n",
        ),
        (
            String::new(),
            "ecr-xacct: kubelet: input is not a CredentialProviderRequest (EOF while parsing a value at line 1 column 0)\n",
        ),
        (
            r#"{"kind":"ExecCredential","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x"}"#.to_string(),
            "ecr-xacct: kubelet: kind \"ExecCredential\" is not CredentialProviderRequest\n",
        ),
        (
            request(V1, ""),
            "ecr-xacct: kubelet: the request names no image\n",
        ),
    ];
    for (input, stderr) in cases {
        let out = h.run(&["kubelet"], &input);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", stderr),
            "{input}"
        );
    }
    assert!(fake.seen().is_empty());
}

#[test]
fn kubelet_failure_is_a_reason_on_stderr_and_nothing_on_stdout() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::access_denied("ci"));
    let h = Helper::new(&fake);
    let out = h.run(&["kubelet"], &request(V1, &format!("{HOST}/app/web")));
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "ecr-xacct: GetAuthorizationToken for {HOST}: AccessDeniedException: "
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("policy"), "{}", out.stderr);
    check_secrets();
}

#[test]
fn custom_host_gets_the_owners_token_and_unlisted_hosts_stay_not_found() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    h.config(
        r#"
        [[registry]]
        match = "images.example.com"
        account = "555555555555"
        region = "eu-central-1"
        "#,
    );
    let pw = password_for("555555555555", DEFAULT_KEY);
    let out = h.run(&["kubelet"], &request(V1, "images.example.com/team/app"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        pin_duration(&out.stdout, 28_800, "8h0m0s"),
        response(V1, "8h0m0s", Some(("images.example.com", &pw)))
    );
    let reqs = fake.token_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].registry_ids(), vec!["555555555555".to_string()]);
    assert_eq!(reqs[0].region, "eu-central-1");
    // Docker's path: the same owner token for the custom host.
    assert_eq!(
        h.get("https://images.example.com").stdout,
        answer("https://images.example.com", &pw)
    );

    // A host the config does not list is not ours, on both paths, without a request.
    let out = h.run(&["kubelet"], &request(V1, "other.example.com/team/app"));
    assert_eq!((out.code, out.stdout), (0, response(V1, "0s", None)));
    let out = h.get("other.example.com");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "credentials not found in native keychain\n")
    );
    assert_eq!(fake.seen().len(), 1, "only the first token request");
    check_secrets();
}

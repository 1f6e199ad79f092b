//! Faults from AWS, against the real binary and the in-process fake (or raw TCP servers on
//! 127.0.0.1): for each, the exit code, the exact line on stdout, nothing cached, no secret
//! printed, the number of requests, and the time taken bounded.

mod common;
mod hardening;
use base64::Engine as _;
use common::*;
use hardening::*;
use std::time::Duration;
use wiremock::ResponseTemplate;

const PROFILE_KEY: &str = "AKIDPROFILE0000001";
const PROFILE_SECRET: &str = "profileSECRET/abcdefghijklmnop";
const KEYS: &[&str] = &[
    DEFAULT_KEY,
    DEFAULT_SECRET,
    ROLE_KEY,
    ROLE_SECRET,
    ROLE_SESSION,
    PROFILE_KEY,
    PROFILE_SECRET,
];
const API: &str = "the ECR API in us-east-1";
const DEFAULT_WHO: &str = "the default credential chain";

fn check_secrets() {
    let pw = [
        password_for(OWNER, DEFAULT_KEY),
        password_for(OWNER, ROLE_KEY),
        password_for(OWNER, PROFILE_KEY),
        "pw-without-expiry".to_string(),
        "STALE-cached-password".to_string(),
    ];
    let pw: Vec<&str> = pw.iter().map(String::as_str).collect();
    assert_no_secrets_printed(KEYS, &pw);
}

/// A helper with a bound of `timeout` seconds.
fn helper(fake: &FakeAws, timeout: &str) -> Helper {
    let mut h = Helper::new(fake);
    h.env("ECR_XACCT_TIMEOUT", timeout);
    h
}

/// A failed `get`: exit 1, exactly `line` on stdout, nothing on stderr, nothing cached.
fn assert_failed(h: &Helper, out: &Out, line: &str) {
    assert_eq!(out.stdout, format!("{line}\n"), "{out:?}");
    assert_eq!((out.code, out.stderr.as_str()), (1, ""), "{out:?}");
    assert!(!out.stdout.contains("-token-for-"), "{out:?}");
    assert!(h.cache_files().is_empty(), "nothing cached");
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn ok_body(token: &str, expires: Option<i64>) -> String {
    let mut data = serde_json::json!({"authorizationToken": token});
    if let Some(t) = expires {
        data["expiresAt"] = t.into();
    }
    serde_json::json!({ "authorizationData": [data] }).to_string()
}

fn raw(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

#[test]
fn server_errors_and_throttling_are_retried_three_times_then_explained() {
    let fake = FakeAws::start();
    let server_side = format!("{API} failed on the server side after 3 attempts; try again later");
    let html_error = "HTTP 503: service error: unhandled error: Error at offset 0: unexpected token '<'. Expected one of '{', '[', '\"', 'null', 'true', 'false', <number>";
    let cases = [
        (
            aws_error(500, "InternalServerError", "We encountered an internal error."),
            format!("InternalServerError: We encountered an internal error. (identity: {DEFAULT_WHO}) ({server_side})"),
        ),
        (
            aws_error(503, "ServiceUnavailableException", "Service is unavailable."),
            format!("ServiceUnavailableException: Service is unavailable. (identity: {DEFAULT_WHO}) ({server_side})"),
        ),
        (
            raw(503, "<html><body>503 Service Temporarily Unavailable</body></html>"),
            format!("{html_error} (identity: {DEFAULT_WHO}) ({server_side})"),
        ),
        (
            aws_error(400, "ThrottlingException", "Rate exceeded"),
            format!("ThrottlingException: Rate exceeded (identity: {DEFAULT_WHO}) (AWS throttled all 3 attempts; try again shortly)"),
        ),
    ];
    let mut all_gaps = Vec::new();
    for (template, why) in cases {
        fake.reset_log();
        let h = helper(&fake, "5");
        let script = fake.script_next(u64::MAX, template);
        let out = h.get(HOST);
        assert_failed(
            &h,
            &out,
            &format!("ecr-xacct: GetAuthorizationToken for {HOST}: {why}"),
        );
        assert_eq!(fake.token_requests().len(), 3, "MAX_ATTEMPTS in all");
        assert_eq!(script.arrivals().len(), 3);
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
        let gaps = script.gaps();
        // Exponential backoff with full jitter from 200 ms: each wait is below 2^n x 200 ms
        // (plus slack for a loaded machine).
        assert!(gaps[0] < Duration::from_millis(200 * 2 + 500), "{gaps:?}");
        assert!(gaps[1] < Duration::from_millis(200 * 4 + 500), "{gaps:?}");
        all_gaps.extend(gaps);
    }
    // Jitter may make one wait short, but not eight of them: there is a backoff.
    let total: Duration = all_gaps.iter().sum();
    assert!(total > Duration::from_millis(100), "{all_gaps:?}");
    check_secrets();
}

#[test]
fn a_retry_that_succeeds_is_answered_and_cached() {
    let fake = FakeAws::start();
    for (failures, status, code) in [
        (2, 500, "InternalServerError"),
        (2, 503, "ServiceUnavailableException"),
        (2, 400, "ThrottlingException"),
        (1, 503, "ServiceUnavailableException"),
    ] {
        fake.reset_log();
        let h = helper(&fake, "5");
        let script = fake.fail_next(failures, status, code, "try again");
        let out = h.get(HOST);
        assert_eq!(out.stdout, answer(HOST, &password_for(OWNER, DEFAULT_KEY)));
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
        assert_eq!(script.arrivals().len(), failures as usize);
        assert_eq!(fake.token_requests().len(), failures as usize + 1);
        assert_eq!(h.cache_files().len(), 1, "the good answer is cached");
        assert_eq!(h.get(HOST).code, 0);
        assert_eq!(
            fake.token_requests().len(),
            failures as usize + 1,
            "then hits"
        );
    }
    check_secrets();
}

#[test]
fn credential_errors_are_not_retried_and_name_the_identity() {
    let fake = FakeAws::start();
    let role_who = "profile \"images\" then role arn:aws:iam::123456789012:role/ecr-pull (config entry #1, match = \"123456789012\")";
    let cases = [
        ("AccessDeniedException", "User: arn:aws:iam::987654321098:user/ci is not authorized to perform: ecr:GetAuthorizationToken on resource: *",
         "the consumer's IAM policy must allow ecr:GetAuthorizationToken, and owner 123456789012's repository policy must allow your principal to pull; `docker-credential-ecr-xacct policy` prints both"),
        ("UnrecognizedClientException", "The security token included in the request is invalid.",
         "AWS does not know the access key: check the credentials of that profile or environment"),
        ("ExpiredTokenException", "The security token included in the request is expired",
         "the session credentials have expired: renew them (e.g. aws sso login, or fresh STS keys)"),
        ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.",
         "the secret key does not match the access key id, or this machine's clock is off"),
    ];
    let mut runs = 0;
    for (code, message, hint) in cases {
        for with_role in [false, true] {
            fake.reset_log();
            let mut h = helper(&fake, "5");
            let who = if with_role {
                h.env_remove("AWS_ACCESS_KEY_ID")
                    .env_remove("AWS_SECRET_ACCESS_KEY");
                h.aws_files(
                    "[profile images]\nregion = eu-central-1\n",
                    &format!("[images]\naws_access_key_id = {PROFILE_KEY}\naws_secret_access_key = {PROFILE_SECRET}\n"),
                );
                h.config("[[registry]]\nmatch = \"123456789012\"\nprofile = \"images\"\nrole_arn = \"arn:aws:iam::123456789012:role/ecr-pull\"\n");
                role_who
            } else {
                DEFAULT_WHO
            };
            fake.set_ecr(EcrBehaviour::Error {
                status: 400,
                code: code.into(),
                message: message.into(),
            });
            let out = h.get(HOST);
            assert_failed(
                &h,
                &out,
                &format!("ecr-xacct: GetAuthorizationToken for {HOST}: {code}: {message} (identity: {who}) ({hint})"),
            );
            let reqs = fake.token_requests();
            assert_eq!(reqs.len(), 1, "{code} is not retried");
            let key = if with_role { ROLE_KEY } else { DEFAULT_KEY };
            assert_eq!(reqs[0].access_key, key);
            assert_eq!(fake.sts_requests().len(), usize::from(with_role));
            assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
            runs += 1;
        }
    }
    assert_eq!(runs, 8);
    check_secrets();
}

#[test]
fn connection_refused_is_given_up_quickly() {
    let fake = FakeAws::start();
    let mut h = helper(&fake, "3");
    let closed = closed_port_uri();
    h.env("AWS_ENDPOINT_URL", &closed);
    let out = h.get(HOST);
    let port = closed.rsplit(':').next().unwrap();
    assert!(!port.is_empty());
    assert_failed(
        &h,
        &out,
        &format!("ecr-xacct: GetAuthorizationToken for {HOST}: dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (identity: {DEFAULT_WHO}) (cannot reach {API}: check the network, proxy (HTTPS_PROXY) and any AWS_ENDPOINT_URL* override)"),
    );
    assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
    check_secrets();
}

fn timed_out_line(secs: u32) -> String {
    format!("ecr-xacct: getting a token for {HOST}: no answer from AWS within {secs} s (identity: {DEFAULT_WHO}) (check the network or proxy (HTTPS_PROXY) to {API}; raise ECR_XACCT_TIMEOUT if the link is slow)")
}

#[test]
fn a_server_that_never_answers_is_given_up_within_the_bound() {
    let fake = FakeAws::start();
    let server = RawServer::start(Misbehaviour::Silent);
    let mut h = helper(&fake, "2");
    h.env("AWS_ENDPOINT_URL", &server.uri());
    let out = h.get(HOST);
    assert_failed(&h, &out, &timed_out_line(2));
    assert_took(&out, 2, 5);
    assert!(server.connections.load(std::sync::atomic::Ordering::SeqCst) >= 1);

    // The bound from the config file, when the environment sets none.
    h.env_remove("ECR_XACCT_TIMEOUT");
    h.config("timeout_seconds = 3\n");
    let out = h.get(HOST);
    assert_failed(&h, &out, &timed_out_line(3));
    assert_took(&out, 3, 6);
    check_secrets();
}

#[test]
fn a_server_that_trickles_its_answer_is_given_up_within_the_bound() {
    let fake = FakeAws::start();
    let server = RawServer::start(Misbehaviour::Trickle {
        every: Duration::from_millis(100),
    });
    let mut h = helper(&fake, "2");
    h.env("AWS_ENDPOINT_URL", &server.uri());
    let out = h.get(HOST);
    assert_failed(&h, &out, &timed_out_line(2));
    assert_took(&out, 2, 5);
    let sent = server.bytes_sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(sent >= 5, "the server was answering ({sent} bytes)");
    check_secrets();
}

#[test]
fn the_default_bound_is_twenty_seconds() {
    let fake = FakeAws::start();
    let server = RawServer::start(Misbehaviour::Silent);
    let mut h = Helper::new(&fake);
    h.env_remove("ECR_XACCT_TIMEOUT")
        .env("AWS_ENDPOINT_URL", &server.uri());
    let out = h.get(HOST);
    assert_failed(&h, &out, &timed_out_line(20));
    assert_took(&out, 20, 23);
}

#[test]
fn malformed_answers_are_clear_errors_and_not_cached() {
    let fake = FakeAws::start();
    let future = now() + 43_200;
    let unusable = |why: &str| {
        format!("ecr-xacct: GetAuthorizationToken for {HOST}: unusable answer from {API}: {why} (if an endpoint override (AWS_ENDPOINT_URL*) is set, check that it points at ECR)")
    };
    let not_ecr = format!("(identity: {DEFAULT_WHO}) (the answer is not what {API} sends: if an endpoint override (AWS_ENDPOINT_URL*) is set, check that it points at ECR)");
    let cases = [
        (
            "<html>Welcome to nginx!</html>".to_string(),
            format!("ecr-xacct: GetAuthorizationToken for {HOST}: HTTP 200: service error: unhandled error: Error at offset 0: unexpected token '<'. Expected one of '{{', '[', '\"', 'null', 'true', 'false', <number> {not_ecr}"),
        ),
        (
            "{\"authorizationData\": \"nope\"}".to_string(),
            format!("ecr-xacct: GetAuthorizationToken for {HOST}: HTTP 200: service error: unhandled error: failed to parse JSON: expected start array or null {not_ecr}"),
        ),
        (String::new(), unusable("the answer held no authorization token")),
        ("{}".to_string(), unusable("the answer held no authorization token")),
        (
            "{\"authorizationData\":[]}".to_string(),
            unusable("the answer held no authorization token"),
        ),
        (
            ok_body("", Some(future)),
            unusable("the answer held no authorization token"),
        ),
        (
            ok_body("!!! not base64 !!!", Some(future)),
            unusable("the authorization token is not valid base64"),
        ),
        (
            ok_body(&b64("AWSpasswordwithoutcolon"), Some(future)),
            unusable("the decoded authorization token has no ':' between user and password"),
        ),
        (
            ok_body(&b64("AWS:"), Some(future)),
            unusable("the decoded authorization token has an empty user or password"),
        ),
        (
            ok_body(&b64(":password"), Some(future)),
            unusable("the decoded authorization token has an empty user or password"),
        ),
        (
            ok_body("/w==", Some(future)),
            unusable("the decoded authorization token is not text"),
        ),
    ];
    let n = cases.len();
    for (body, line) in cases {
        fake.reset_log();
        fake.set_ecr(EcrBehaviour::Raw { status: 200, body });
        let h = helper(&fake, "5");
        let out = h.get(HOST);
        assert_failed(&h, &out, &line);
        assert_eq!(fake.token_requests().len(), 1, "not retried: {line}");
        assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
    }
    assert_eq!(n, 11);
    check_secrets();
}

#[test]
fn a_token_without_expiry_or_already_expired_is_answered_once_warned_not_cached() {
    let fake = FakeAws::start();
    let h = helper(&fake, "5");
    fake.set_ecr(EcrBehaviour::Raw {
        status: 200,
        body: ok_body(&b64("AWS:pw-without-expiry"), None),
    });
    let out = h.get(HOST);
    assert_eq!(out.stdout, answer(HOST, "pw-without-expiry"));
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        format!("ecr-xacct: warning: the token for {HOST} came without an expiry; using it once, not caching it\n")
    );
    assert!(h.cache_files().is_empty());
    assert_eq!(h.get(HOST).code, 0);
    assert_eq!(fake.token_requests().len(), 2, "fetched again: not cached");

    fake.reset_log();
    fake.set_ecr(EcrBehaviour::Token { expires_in: -60 });
    let out = h.get(HOST);
    assert_eq!(out.stdout, answer(HOST, &password_for(OWNER, DEFAULT_KEY)));
    assert_eq!(out.code, 0);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "ecr-xacct: warning: the token for {HOST} expires at "
        )) && out.stderr.ends_with("(Unix time), which is already past: this machine's clock is off or AWS is a stand-in; using it once, not caching it\n"),
        "{}",
        out.stderr
    );
    assert!(h.cache_files().is_empty());
    check_secrets();
}

/// Makes the helper cache a token through `front`, then marks the entry as due for refresh
/// with `expires_in` seconds left and a recognisable password.
fn seed_due_entry(h: &Helper, expires_in: i64) {
    let out = h.get(HOST);
    assert_eq!(out.code, 0, "{out:?}");
    let files = h.cache_files();
    assert_eq!(files.len(), 1);
    edit_entry(&files[0], |v| {
        v["fetched_at"] = (now() - 40_000).into();
        v["expires_at"] = (now() + expires_in).into();
        v["password"] = "STALE-cached-password".into();
    });
    assert_eq!(mode(&files[0]), 0o600);
}

#[test]
fn a_cached_token_due_for_refresh_is_served_with_a_warning_when_aws_is_unreachable() {
    let fake = FakeAws::start();
    let front = Front::new(&fake.uri());
    let mut h = helper(&fake, "3");
    h.env("AWS_ENDPOINT_URL", &front.uri());
    seed_due_entry(&h, 2000);
    let before = std::fs::read(&h.cache_files()[0]).unwrap();
    front.down();
    let out = h.get(HOST);
    assert_eq!(out.stdout, answer(HOST, "STALE-cached-password"));
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        format!("ecr-xacct: warning: GetAuthorizationToken for {HOST}: dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (identity: {DEFAULT_WHO}) (cannot reach {API}: check the network, proxy (HTTPS_PROXY) and any AWS_ENDPOINT_URL* override); serving the cached token, valid for 33 more minutes\n"),
    );
    assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
    assert_eq!(std::fs::read(&h.cache_files()[0]).unwrap(), before, "kept");

    // AWS failing on its side is the same: served, warned.
    front.up();
    fake.reset_log();
    let script = fake.fail_next(u64::MAX, 503, "ServiceUnavailableException", "down");
    let out = h.get(HOST);
    assert_eq!(out.stdout, answer(HOST, "STALE-cached-password"));
    assert!(out
        .stderr
        .starts_with("ecr-xacct: warning: GetAuthorizationToken for "));
    assert!(out
        .stderr
        .contains("; serving the cached token, valid for 33 more minutes"));
    assert_eq!(script.arrivals().len(), 3);
    check_secrets();
}

#[test]
fn an_expired_cached_token_is_never_served() {
    let fake = FakeAws::start();
    let front = Front::new(&fake.uri());
    for expires_in in [-10, 100] {
        // Expired, or inside the last 5 minutes (STALE_MARGIN_SECS).
        front.up_if_down();
        let mut h = helper(&fake, "3");
        h.env("AWS_ENDPOINT_URL", &front.uri());
        seed_due_entry(&h, expires_in);
        front.down();
        let out = h.get(HOST);
        assert_eq!(out.code, 1);
        assert_eq!(out.stdout, format!("ecr-xacct: GetAuthorizationToken for {HOST}: dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (identity: {DEFAULT_WHO}) (cannot reach {API}: check the network, proxy (HTTPS_PROXY) and any AWS_ENDPOINT_URL* override)\n"));
        assert_eq!(out.stderr, "");
        assert!(!out.stdout.contains("STALE"));
    }
    check_secrets();
}

#[test]
fn a_burst_against_a_silent_server_is_bounded_too() {
    let fake = FakeAws::start();
    let server = RawServer::start(Misbehaviour::Silent);
    let mut h = helper(&fake, "2");
    h.env("AWS_ENDPOINT_URL", &server.uri());
    let runs: Vec<_> = (0..6)
        .map(|_| (&h, vec!["get".to_string()], HOST.as_bytes().to_vec()))
        .collect();
    let outs = burst(&runs, Duration::from_secs(60));
    // One helper fetches for 2 s while the others wait for its lock; they then try with
    // what is left of their own 2 s (at least 1 s): all are done within the bound + 1 s.
    let mut waited = 0;
    for out in &outs {
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stdout.starts_with(&format!(
                "ecr-xacct: getting a token for {HOST}: no answer from AWS within "
            )),
            "{out:?}"
        );
        waited += usize::from(
            out.stdout
                .contains(" s waiting for another helper's attempt"),
        );
        assert!(
            out.elapsed < Duration::from_millis(4500),
            "{:?}",
            out.elapsed
        );
    }
    assert!(waited >= 1, "{outs:?}");
    assert!(h.cache_files().is_empty());
}

/// The run took at least `min` and less than `max` seconds: the bound held, and was waited out.
fn assert_took(out: &Out, min: u64, max: u64) {
    let (min, max) = (Duration::from_secs(min), Duration::from_secs(max));
    assert!(out.elapsed >= min && out.elapsed < max, "{:?}", out.elapsed);
}

//! Secrets: never on stderr, in traces at any level, in error lines (even when AWS echoes
//! a key back), or in clear on disk; cache files born 0600 in a 0700 directory whatever
//! the umask.

mod common;
mod hardening;
use common::*;
use hardening::*;

use std::path::PathBuf;

const PROFILE_KEY: &str = "AKIDPROFILE0000003";
const PROFILE_SECRET: &str = "profileSECRET/secrets0123456789ab";
const STORE_SECRET: &str = "store-handed-SECRET-0123456789";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ecr-pull";
const KEYS: &[&str] = &[
    DEFAULT_KEY,
    DEFAULT_SECRET,
    ROLE_KEY,
    ROLE_SECRET,
    ROLE_SESSION,
    PROFILE_KEY,
    PROFILE_SECRET,
    STORE_SECRET,
];

fn passwords() -> Vec<String> {
    let mut v = Vec::new();
    for owner in [OWNER, "210987654321"] {
        for key in [DEFAULT_KEY, ROLE_KEY, PROFILE_KEY] {
            v.push(password_for(owner, key));
        }
    }
    v.push("STALE-secret-password".into());
    v
}

fn check_secrets() -> usize {
    let pw = passwords();
    let pw: Vec<&str> = pw.iter().map(String::as_str).collect();
    assert_no_secrets_printed(KEYS, &pw)
}

/// A helper whose config maps OWNER to a role assumed from the "images" profile; other
/// owners use the environment keys.
fn role_helper(fake: &FakeAws) -> Helper {
    let h = Helper::new(fake);
    h.aws_files(
        "[profile images]\nregion = eu-central-1\n",
        &format!(
            "[images]\naws_access_key_id = {PROFILE_KEY}\naws_secret_access_key = {PROFILE_SECRET}\n"
        ),
    );
    h.config(&format!(
        "[[registry]]\nmatch = \"{OWNER}\"\nprofile = \"images\"\nrole_arn = \"{ROLE_ARN}\"\n"
    ));
    h
}

/// Every kind of run, at one trace level: misses, hits, each verb, AWS errors that echo
/// keys back, a stale token served with a warning. Returns the runs' stderr joined.
fn every_kind_of_run(fake: &FakeAws, level: Option<&str>) -> String {
    fake.reset_log();
    fake.set_ecr(EcrBehaviour::Token { expires_in: 43_200 });
    let mut h = role_helper(fake);
    if let Some(level) = level {
        h.env("ECR_XACCT_LOG", level);
    }
    let other = "210987654321.dkr.ecr.us-west-2.amazonaws.com";
    let mut stderr = String::new();
    let mut run = |out: Out, stdout_may_hold: Option<&str>| {
        for pw in passwords() {
            if stdout_may_hold != Some(pw.as_str()) {
                assert!(!out.stdout.contains(&pw), "{pw} on stdout: {out:?}");
            }
        }
        stderr.push_str(&out.stderr);
        out
    };
    let role_pw = password_for(OWNER, ROLE_KEY);
    let env_pw = password_for("210987654321", DEFAULT_KEY);
    // Misses and hits, for a role and for the environment keys.
    let out = run(h.get(HOST), Some(&role_pw));
    assert_eq!(out.stdout, answer(HOST, &role_pw), "{out:?}");
    run(h.get(HOST), Some(&role_pw));
    let out = run(h.get(other), Some(&env_pw));
    assert_eq!(out.stdout, answer(other, &env_pw), "{out:?}");
    // The other verbs.
    run(h.run(&["list"], ""), None);
    run(
        h.run(
            &["store"],
            &format!(r#"{{"ServerURL":"{HOST}","Username":"AWS","Secret":"{STORE_SECRET}"}}"#),
        ),
        None,
    );
    run(
        h.run(
            &["store"],
            &format!(r#"{{"ServerURL":5,"Username":"AWS","Secret":"{STORE_SECRET}"}}"#),
        ),
        None,
    );
    run(h.run(&["erase"], HOST), None);
    run(h.run(&["erase"], other), None);
    // AWS errors whose messages echo the caller's keys back (as SignatureDoesNotMatch's
    // string-to-sign does): the line names the error, never the keys.
    let echo = format!(
        "Credential={ROLE_KEY}/20260101/us-east-1/ecr/aws4_request, X-Amz-Security-Token={ROLE_SESSION} ({DEFAULT_KEY})"
    );
    let script = fake.fail_next(1, 400, "InvalidSignatureException", &echo);
    let out = run(h.get(HOST), None);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("InvalidSignatureException"), "{out:?}");
    assert!(out.stdout.contains("REDACTED"), "{out:?}");
    assert_eq!(script.arrivals().len(), 1);
    // The same from STS, when the role is assumed.
    let echo = format!(
        "The request signature we calculated does not match. Credential={PROFILE_KEY}/20260101/us-east-1/sts/aws4_request"
    );
    let script = fake.script_assume_role(1, sts_error(403, "SignatureDoesNotMatch", &echo));
    let out = run(h.get(HOST), None);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("SignatureDoesNotMatch"), "{out:?}");
    assert!(out.stdout.contains(ROLE_ARN), "names the role: {out:?}");
    assert_eq!(script.arrivals().len(), 1);
    // A stale token served with a warning while AWS fails.
    run(h.get(HOST), Some(&role_pw));
    let entry = h
        .cache_files()
        .into_iter()
        .next()
        .expect("the role's entry");
    edit_entry(&entry, |v| {
        v["fetched_at"] = (now() - 40_000).into();
        v["expires_at"] = (now() + 2000).into();
        v["password"] = "STALE-secret-password".into();
    });
    let script = fake.fail_next(3, 503, "ServiceUnavailableException", "down");
    let out = run(h.get(HOST), Some("STALE-secret-password"));
    assert_eq!(out.stdout, answer(HOST, "STALE-secret-password"), "{out:?}");
    assert!(out.stderr.contains("serving the cached token"), "{out:?}");
    assert_eq!(script.arrivals().len(), 3);
    stderr
}

#[test]
fn no_secret_in_any_output_at_any_trace_level() {
    let fake = FakeAws::start();
    for level in [
        None,
        Some("error"),
        Some("warn"),
        Some("info"),
        Some("debug"),
        Some("trace"),
    ] {
        let stderr = every_kind_of_run(&fake, level);
        // The traces are really on at the verbose levels (else this proves nothing).
        match level {
            Some("debug" | "trace") => {
                assert!(stderr.contains("cache miss"), "{level:?}: {stderr}");
                assert!(stderr.contains("cache hit"), "{level:?}: {stderr}");
                assert!(stderr.contains("GetAuthorizationToken for"), "{stderr}");
            }
            Some("info") => assert!(stderr.contains("credentials for"), "{stderr}"),
            _ => assert!(!stderr.contains("cache miss"), "{level:?}: {stderr}"),
        }
    }
    let runs = check_secrets();
    eprintln!(
        "{runs} runs checked for {} secrets",
        KEYS.len() + passwords().len()
    );
    assert!(runs >= 6 * 13, "{runs}");
}

#[test]
fn no_key_in_clear_on_disk() {
    let fake = FakeAws::start();
    let h = role_helper(&fake);
    for host in [
        HOST,
        "210987654321.dkr.ecr.us-west-2.amazonaws.com",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "public.ecr.aws",
    ] {
        assert_eq!(h.get(host).code, 0);
    }
    let files = all_files(&h.cache_dir());
    assert!(files.len() >= 4, "{files:?}");
    let mut passwords_seen = 0;
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        let name = path.file_name().unwrap().to_string_lossy();
        for k in KEYS {
            assert!(!text.contains(k), "{k} in {}", path.display());
            assert!(!name.contains(k), "{k} in a file name");
        }
        passwords_seen += usize::from(text.contains("-token-for-"));
    }
    assert!(passwords_seen >= 3, "the grep did look at the entries");
    check_secrets();
}

/// `sh -c 'umask 000; ...; exec helper get'` for HOST.
fn under_shell(h: &Helper, prelude: &str) -> Out {
    let cmd = h.command(&[]);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-ecr-xacct"));
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("{prelude}; exec \"$0\" get"))
        .arg(bin)
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(cmd.get_current_dir().unwrap());
    run_command(sh, HOST.as_bytes())
}

#[test]
fn cache_files_are_born_0600_in_a_0700_directory_whatever_the_umask() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    let nested = h.home.path().join("a/b/cache");
    h.env("ECR_XACCT_CACHE_DIR", nested.to_str().unwrap());
    // Stop the helper at its first byte written to a regular file (RLIMIT_FSIZE = 0, so
    // SIGXFSZ): the temp file it was writing stays behind as it was created.
    let out = under_shell(&h, "umask 000; ulimit -c 0; ulimit -f 0");
    assert_eq!(out.code, -1, "killed by SIGXFSZ: {out:?}");
    let files = all_files(&nested);
    let tmp: Vec<_> = files
        .iter()
        .filter(|(p, _)| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    assert_eq!(tmp.len(), 1, "{files:?}");
    assert!(tmp[0].1.is_empty(), "stopped at its first byte");
    assert_eq!(mode(&tmp[0].0), 0o600, "the temp file is born 0600");
    for dir in [
        h.home.path().join("a"),
        h.home.path().join("a/b"),
        nested.clone(),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for (p, _) in &files {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }
    assert!(
        h.cache_files().is_empty(),
        "no entry: the write never finished"
    );

    // A normal run under umask 000: the leftover is ignored, the entry is 0600.
    let out = under_shell(&h, "umask 000");
    assert_eq!(
        out.stdout,
        answer(HOST, &password_for(OWNER, DEFAULT_KEY)),
        "{out:?}"
    );
    let entries = h.cache_files();
    assert_eq!(entries.len(), 1);
    assert_eq!(mode(&entries[0]), 0o600);
    for (p, _) in all_files(&nested) {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    assert_eq!(mode(&nested), 0o700);
    // A hit under umask 000 changes nothing.
    let out = under_shell(&h, "umask 000");
    assert_eq!(out.code, 0);
    assert_eq!(fake.token_requests().len(), 2);
    check_secrets();
}

#[test]
fn every_type_that_holds_a_token_prints_it_redacted() {
    use ecr_xacct::secret::Secret;
    let pw = "hunter2-token-value";
    let token = ecr_xacct::token::Token {
        username: "AWS".into(),
        password: Secret::new(pw.into()),
        expires_at: Some(1),
    };
    let entry = ecr_xacct::cache::Entry {
        version: 1,
        username: "AWS".into(),
        password: Secret::new(pw.into()),
        expires_at: 1,
        fetched_at: 0,
        scope: "s".into(),
        hosts: vec![HOST.into()],
    };
    let creds = ecr_xacct::lookup::Credentials {
        registry: ecr_xacct::registry::Registry::parse(HOST).unwrap(),
        username: "AWS".into(),
        password: Secret::new(pw.into()),
        expires_at: None,
        keep_until: None,
    };
    for shown in [
        format!("{token:?}"),
        format!("{token:#?}"),
        format!("{entry:?}"),
        format!("{creds:?}"),
        format!("{:?}", Some(&creds)),
    ] {
        assert!(!shown.contains(pw), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
}

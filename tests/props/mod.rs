//! Properties shared by the fuzz targets (`fuzz/`, cargo fuzz) and their short replay in
//! `cargo test` (`tests/fuzz_replay.rs`, proptest + the committed seed corpus).
//! Each `check_*` takes arbitrary bytes and panics when a property does not hold.
#![allow(dead_code)]

use ecr_xacct::config::Config;
use ecr_xacct::error::NOT_FOUND;
use ecr_xacct::protocol::{self, Verb, MAX_INPUT, NO_SERVER_URL, NO_USERNAME};
use ecr_xacct::registry::{self, Registry, DOMAINS, PUBLIC_HOSTS};
use std::path::{Path, PathBuf};
use std::sync::Once;

/// The config the protocol target runs with: a custom host, a glob entry naming a profile
/// that does not exist, an account entry. No role entries: those would call STS.
pub const CONFIG: &str = r#"
[[registry]]
match = "images.example.com"
account = "555555555555"
region = "eu-central-1"

[[registry]]
match = "*.dkr.ecr.eu-*.amazonaws.com"
profile = "fuzz-no-such-profile"

[[registry]]
match = "210987654321"
session_name = "fuzz"
"#;

static SETUP: Once = Once::new();

/// Where [`setup_offline`] put its files.
pub fn work_dir() -> PathBuf {
    std::env::temp_dir().join(format!("ecr-xacct-props-{}", std::process::id()))
}

/// Sets this process's environment so that the whole protocol runs offline: no credentials
/// anywhere (so a `get` for an ECR host stops at "no credentials", before any request), no
/// cache, an endpoint override to a closed local port and a 1 s bound as a second fence.
/// Call it first in every test of a binary that uses it (it sets the environment once,
/// while other threads wait on the `Once`).
pub fn setup_offline() {
    SETUP.call_once(|| {
        let dir = work_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.toml");
        std::fs::write(&config, CONFIG).unwrap();
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT_URL_ECR",
            "AWS_ENDPOINT_URL_ECR_PUBLIC",
            "AWS_ENDPOINT_URL_STS",
            "ECR_XACCT_LOG",
            "AWS_ECR_DISABLE_CACHE",
        ] {
            std::env::remove_var(name);
        }
        for (name, value) in [
            ("HOME", dir.to_str().unwrap()),
            ("ECR_XACCT_CONFIG", config.to_str().unwrap()),
            ("ECR_XACCT_CACHE_DIR", dir.join("cache").to_str().unwrap()),
            ("ECR_XACCT_NO_CACHE", "1"),
            ("ECR_XACCT_TIMEOUT", "1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            (
                "AWS_CONFIG_FILE",
                dir.join("no-aws-config").to_str().unwrap(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.join("no-aws-credentials").to_str().unwrap(),
            ),
        ] {
            std::env::set_var(name, value);
        }
    });
}

fn config() -> Config {
    Config::parse(CONFIG, Path::new("/props/config.toml")).unwrap()
}

/// The host parser: strict, total, idempotent, case-blind, and what it accepts is exactly
/// `<12 digits>.<dkr.ecr|dkr.ecr-fips|dkr-ecr|dkr-ecr-fips>.<region>.<partition domain>` or a
/// public host, whatever surrounds it (scheme, port, path).
pub fn check_host(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let host = registry::host_of(&s);
    let parsed = Registry::parse(&s);
    assert_eq!(
        parsed,
        host.as_deref().and_then(Registry::from_host),
        "parse = host_of + from_host"
    );
    if let Some(h) = &host {
        assert!(!h.is_empty() && h.len() <= 253, "{h:?}");
        assert!(
            h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'),
            "{h:?}"
        );
        assert_eq!(registry::host_of(h).as_ref(), Some(h), "host_of idempotent");
        // The host is what follows an optional scheme, up to an optional port and path:
        // no userinfo, no bytes dropped or folded on the way.
        let lower = s.trim().to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .unwrap_or(&lower);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let port = authority
            .strip_prefix(h.as_str())
            .expect("host is a prefix");
        assert!(
            port.is_empty()
                || (port.len() <= 6
                    && port.len() >= 2
                    && port[1..].bytes().all(|b| b.is_ascii_digit())
                    && port.starts_with(':')),
            "{s:?} -> {h:?} + {port:?}"
        );
    }
    // ASCII case never matters; nothing else is folded.
    assert_eq!(
        Registry::parse(&s.to_ascii_uppercase()),
        parsed,
        "upper case: {s:?}"
    );
    let Some(r) = parsed else { return };
    assert_eq!(Some(&r.host), host.as_ref());
    if r.public {
        assert!(PUBLIC_HOSTS.contains(&r.host.as_str()), "{r:?}");
        assert!(r.account.is_none());
    } else {
        let account = r.account.as_deref().unwrap();
        assert!(registry::is_account_id(account), "{r:?}");
        assert!(registry::is_region(&r.region), "{r:?}");
        assert!(DOMAINS.contains(&r.domain.as_str()), "{r:?}");
        let service = match (r.dual_stack, r.fips) {
            (false, false) => "dkr.ecr",
            (false, true) => "dkr.ecr-fips",
            (true, false) => "dkr-ecr",
            (true, true) => "dkr-ecr-fips",
        };
        assert_eq!(
            r.host,
            format!("{account}.{service}.{}.{}", r.region, r.domain),
            "accepted host is exactly the ECR form"
        );
    }
    for form in [
        r.host.clone(),
        format!("https://{}/v2/", r.host),
        format!("{}:443", r.host),
        r.host.to_ascii_uppercase(),
    ] {
        assert_eq!(Registry::parse(&form).as_ref(), Some(&r), "{form:?}");
    }
}

/// The whole stdin handling of every verb (first byte picks the verb, the rest is stdin):
/// exit code 0 or 1, at most one line out, the exact Docker texts where they apply, no network
/// attempt, and never a secret handed in on stdin echoed back. Needs [`setup_offline`].
pub fn check_protocol(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let verb = [Verb::Get, Verb::Store, Verb::Erase, Verb::List][selector as usize % 4];
    check_verb(verb, input);
}

/// [`check_protocol`] for one verb.
pub fn check_verb(verb: Verb, input: &[u8]) {
    setup_offline();
    let mut out = Vec::new();
    let code = protocol::run(verb, &mut &input[..], &mut out);
    let out = String::from_utf8(out).expect("output is UTF-8");
    assert!(code == 0 || code == 1, "exit code {code}");
    if !out.is_empty() {
        assert!(out.ends_with('\n'), "{out:?}");
        assert_eq!(out.matches('\n').count(), 1, "one line: {out:?}");
        assert!(!out.contains('\r'), "{out:?}");
    }
    let line = out.trim_end_matches('\n');
    if input.len() as u64 > MAX_INPUT {
        assert_eq!(
            (code, line),
            (
                1,
                format!("ecr-xacct: input longer than {MAX_INPUT} bytes").as_str()
            )
        );
        return;
    }
    let text = String::from_utf8_lossy(input);
    let trimmed = text.trim();
    match verb {
        Verb::Get => {
            assert_eq!(code, 1, "no credentials: never an answer: {line}");
            if trimmed.is_empty() {
                assert_eq!(line, NO_SERVER_URL);
                return;
            }
            match config().registry_for(trimmed) {
                None => assert_eq!(line, NOT_FOUND, "not ours: {trimmed:?}"),
                Some(r) => {
                    if line != NOT_FOUND {
                        assert!(line.starts_with("ecr-xacct: "), "{line}");
                        assert!(line.contains(&r.host), "names the registry: {line}");
                    }
                    for fence in ["cannot reach", "no answer from AWS", "127.0.0.1:9"] {
                        assert!(!line.contains(fence), "went to the network: {line}");
                    }
                }
            }
        }
        Verb::Store => {
            let v: Option<serde_json::Value> = serde_json::from_str(trimmed).ok();
            if code == 0 {
                assert_eq!(line, "");
                assert!(v.is_some(), "accepted non-JSON: {trimmed:?}");
            } else {
                assert!(
                    line == NO_SERVER_URL
                        || line == NO_USERNAME
                        || line.starts_with("ecr-xacct: store: input is not credentials JSON ("),
                    "{line}"
                );
            }
            // The Secret handed in never shapes the answer: the same input with another
            // Secret of the same length gives the same line, byte for byte.
            if let Some(mut obj) = v.as_ref().and_then(|v| v.as_object()).cloned() {
                if let Some(secret) = obj.get("Secret").and_then(|s| s.as_str()) {
                    let len = serde_json::to_string(secret).unwrap().len() - 2;
                    let fill = if secret.starts_with('x') { "y" } else { "x" };
                    let original = serde_json::to_string(&obj).unwrap();
                    obj.insert("Secret".into(), fill.repeat(len).into());
                    let other = serde_json::to_string(&obj).unwrap();
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    let ca = protocol::run(Verb::Store, &mut original.as_bytes(), &mut a);
                    let cb = protocol::run(Verb::Store, &mut other.as_bytes(), &mut b);
                    assert_eq!((ca, a), (cb, b), "the Secret shaped the answer");
                }
            }
        }
        Verb::Erase => {
            if trimmed.is_empty() {
                assert_eq!((code, line), (1, NO_SERVER_URL));
            } else {
                assert_eq!((code, line), (0, ""), "erase without a cache");
            }
        }
        Verb::List => assert_eq!((code, line), (0, "{}")),
    }
}

/// The config parser: any text is a config or one clear line naming the file.
pub fn check_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/props/config.toml");
    match Config::parse(&text, path) {
        Ok(config) => {
            for host in [
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "images.example.com",
                "public.ecr.aws",
            ] {
                if let Some(r) = config.registry_for(host) {
                    let _ = config.entry_for(&r);
                }
            }
            for e in &config.registry {
                if let Some(arn) = &e.role_arn {
                    assert!(ecr_xacct::config::is_role_arn(arn), "{arn:?}");
                }
            }
        }
        Err(e) => {
            let line = e.to_string();
            assert!(
                line.starts_with("ecr-xacct: config file /props/config.toml: "),
                "{line}"
            );
            assert!(!line.contains(['\n', '\r']), "{line:?}");
        }
    }
}

/// The token decoder: total, never echoes the token in an error, and round-trips.
pub fn check_token(data: &[u8]) {
    use base64::Engine as _;
    let s = String::from_utf8_lossy(data);
    match ecr_xacct::token::decode(&s, Some(1)) {
        Ok(t) => {
            assert!(!t.username.is_empty() && !t.password.expose().is_empty());
            assert!(!t.username.contains(':'));
            assert_eq!(format!("{:?}", t.password), "REDACTED");
            let again = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                t.username,
                t.password.expose()
            ));
            assert_eq!(ecr_xacct::token::decode(&again, Some(1)), Ok(t));
        }
        Err(e) => {
            // The message is one of a fixed few: nothing of the token is in it.
            use ecr_xacct::token::DecodeError::*;
            let fixed = [Missing, NotBase64, NotText, NoColon, Empty].map(|e| e.to_string());
            assert!(fixed.contains(&e.to_string()), "{e}");
        }
    }
}

/// A cache file with arbitrary bytes: a miss or a well-formed entry, never a panic; what is
/// read can be written back and read again unchanged.
pub fn check_cache_file(data: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let dir = work_dir()
        .join(format!("cache-file-{:?}", std::thread::current().id()))
        .to_string_lossy()
        .replace(['(', ')'], "");
    let cache = ecr_xacct::cache::Cache::new(&dir);
    cache.prepare().unwrap();
    let path = Path::new(&dir).join("k.json");
    std::fs::write(&path, data).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    if let Some(entry) = cache.read("k") {
        assert_eq!(entry.version, ecr_xacct::cache::FORMAT_VERSION);
        cache.write("k2", &entry).unwrap();
        assert_eq!(cache.read("k2"), Some(entry));
    }
}

//! The fuzz properties (tests/props/mod.rs) in `cargo test`: the committed seeds of each
//! cargo fuzz target (fuzz/seeds/<target>/ and the minimised corpus of the long runs,
//! fuzz/seeds/<target>.corpus), then a few thousand proptest cases each, from generators
//! that aim at the interesting shapes.
//! Everything here runs in-process and offline (see `props::setup_offline`).

#[path = "props/mod.rs"]
mod props;

use ecr_xacct::protocol::Verb;
use proptest::prelude::*;
use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    props::setup_offline();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(result.is_ok(), "{} fails its property", path.display());
        n += 1;
    }
    // The minimised corpus of the long runs: one base64 line per input.
    let packed = dir.with_extension("corpus");
    if let Ok(text) = std::fs::read_to_string(&packed) {
        use base64::Engine as _;
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let data = base64::engine::general_purpose::STANDARD
                .decode(line)
                .unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{} line {} fails", packed.display(), i + 1);
            n += 1;
        }
    }
    assert!(n > 0, "no seeds in {}", dir.display());
    n
}

#[test]
fn seed_corpus_replays_clean() {
    let mut total = 0;
    for (target, check) in [
        ("host", props::check_host as fn(&[u8])),
        ("protocol", props::check_protocol),
        ("config", props::check_config),
        ("token", props::check_token),
        ("cache_file", props::check_cache_file),
    ] {
        total += replay(target, check);
    }
    eprintln!("{total} seeds replayed");
}

/// Pieces that ECR hosts and their look-alikes are made of.
fn host_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("123456789012".to_string()),
        Just("12345678901".to_string()),
        Just("1234567890123".to_string()),
        Just(".".to_string()),
        Just("dkr".to_string()),
        Just("dkr-ecr".to_string()),
        Just("ecr".to_string()),
        Just("ecr-fips".to_string()),
        Just("us-east-1".to_string()),
        Just("us-gov-west-1".to_string()),
        Just("cn-north-1".to_string()),
        Just("amazonaws.com".to_string()),
        Just("amazonaws.com.cn".to_string()),
        Just("on.aws".to_string()),
        Just("public.ecr.aws".to_string()),
        Just("evil.example".to_string()),
        Just("images.example.com".to_string()),
        Just("https://".to_string()),
        Just("http://".to_string()),
        Just(":443".to_string()),
        Just("/v2/".to_string()),
        Just("@".to_string()),
        Just("\0".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("１".to_string()),
        Just("а".to_string()),
        Just("\u{212A}".to_string()),
        Just("DKR.ECR.US-EAST-1".to_string()),
        "[a-z0-9.:/@-]{0,6}",
        ".{0,3}",
    ]
}

fn hostish() -> impl Strategy<Value = String> {
    prop_oneof![
        // Well-formed hosts with one piece changed, and free concatenations.
        (
            prop::sample::select(vec![
                "123456789012",
                "12345678901",
                "210987654321",
                "1a3456789012"
            ]),
            prop::sample::select(vec![
                "dkr.ecr",
                "dkr.ecr-fips",
                "dkr-ecr",
                "dkr-ecr-fips",
                "dkr.ecrx",
                "dkr"
            ]),
            prop::sample::select(vec![
                "us-east-1",
                "eu-west-3",
                "us-gov-west-1",
                "us-east",
                "US-EAST-1",
                "us--east-1"
            ]),
            prop::sample::select(vec![
                "amazonaws.com",
                "on.aws",
                "amazonaws.com.cn",
                "amazonaws.eu",
                "amazonaws.co",
                "on.aws.evil"
            ]),
            prop::sample::select(vec![
                "", "https://", "http://", "HTTPS://", "ftp://", "user@"
            ]),
            prop::sample::select(vec![
                "", ":443", "/v2/x", ":", ":99999", "?q", "#f", ".", " x"
            ]),
        )
            .prop_map(|(a, s, r, d, pre, post)| format!("{pre}{a}.{s}.{r}.{d}{post}")),
        prop::collection::vec(host_piece(), 0..10).prop_map(|v| v.concat()),
        ".{0,40}",
    ]
}

fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        (hostish(), ".{0,8}", ".{0,12}").prop_map(|(url, user, secret)| {
            serde_json::json!({"ServerURL": url, "Username": user, "Secret": secret}).to_string()
        }),
        (hostish(), ".{0,8}")
            .prop_map(|(url, user)| format!("{{\"ServerURL\":\"{url}\",\"Username\":\"{user}\"")),
        Just("[\"a\",\"b\"]".to_string()),
        ".{0,30}",
    ]
}

fn tomlish() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[[registry]]\n".to_string()),
        Just("[registry]\n".to_string()),
        hostish().prop_map(|h| format!("match = \"{h}\"\n")),
        Just("match = \"*.dkr.ecr.*.amazonaws.com\"\n".to_string()),
        Just("match = \"[\"\n".to_string()),
        Just("match = \"123456789012\"\n".to_string()),
        "[a-z]{0,8}".prop_map(|p| format!("profile = \"{p}\"\n")),
        prop::sample::select(vec![
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:iam::1:role/x",
            "arn:aws:sts::123456789012:role/x",
            ""
        ])
        .prop_map(|a| format!("role_arn = \"{a}\"\n")),
        "[ -~]{0,8}".prop_map(|s| format!("session_name = \"{s}\"\n")),
        Just("account = \"555555555555\"\n".to_string()),
        Just("region = \"eu-central-1\"\n".to_string()),
        (0u64..5).prop_map(|t| format!("timeout_seconds = {t}\n")),
        Just("unknown = 1\n".to_string()),
        ".{0,10}",
    ];
    prop::collection::vec(line, 0..12).prop_map(|v| v.concat())
}

fn tokenish() -> impl Strategy<Value = String> {
    use base64::Engine as _;
    prop_oneof![
        ".{0,20}".prop_map(|s| base64::engine::general_purpose::STANDARD.encode(s)),
        prop::collection::vec(any::<u8>(), 0..20)
            .prop_map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        "[A-Za-z0-9+/=]{0,24}",
        ".{0,20}",
    ]
}

fn cache_bytes() -> impl Strategy<Value = Vec<u8>> {
    let good = serde_json::json!({
        "version": 1, "username": "AWS", "password": "pw", "expires_at": 4_102_444_800i64,
        "fetched_at": 1, "scope": "private/amazonaws.com/us-east-1",
        "hosts": ["123456789012.dkr.ecr.us-east-1.amazonaws.com"]
    })
    .to_string();
    prop_oneof![
        (0usize..good.len() + 1).prop_map({
            let good = good.clone();
            move |cut| good.as_bytes()[..cut].to_vec()
        }),
        (0usize..good.len(), any::<u8>()).prop_map({
            let good = good.clone();
            move |(i, b)| {
                let mut v = good.clone().into_bytes();
                v[i] = b;
                v
            }
        }),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn host_parser_properties(s in hostish()) {
        props::setup_offline();
        props::check_host(s.as_bytes());
    }

    #[test]
    fn host_parser_on_raw_bytes(b in prop::collection::vec(any::<u8>(), 0..64)) {
        props::setup_offline();
        props::check_host(&b);
    }

    #[test]
    fn token_decoder_properties(s in tokenish()) {
        props::setup_offline();
        props::check_token(s.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn get_and_erase_on_any_input(s in hostish(), raw in prop::collection::vec(any::<u8>(), 0..32)) {
        props::setup_offline();
        props::check_verb(Verb::Get, s.as_bytes());
        props::check_verb(Verb::Erase, s.as_bytes());
        props::check_verb(Verb::Get, &raw);
    }

    #[test]
    fn store_and_list_on_any_input(s in jsonish()) {
        props::setup_offline();
        props::check_verb(Verb::Store, s.as_bytes());
        props::check_verb(Verb::List, s.as_bytes());
    }

    #[test]
    fn config_parser_properties(s in tomlish()) {
        props::setup_offline();
        props::check_config(s.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn cache_file_properties(b in cache_bytes()) {
        props::setup_offline();
        props::check_cache_file(&b);
    }
}

#[test]
fn oversized_input_for_every_verb() {
    props::setup_offline();
    let big = vec![b'a'; (ecr_xacct::protocol::MAX_INPUT + 1) as usize];
    for verb in [Verb::Get, Verb::Store, Verb::Erase, Verb::List] {
        props::check_verb(verb, &big);
    }
}

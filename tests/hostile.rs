//! Hostile and broken input against the real binary: look-alike hosts, bytes that are not
//! text, oversized stdin, a cache under attack, broken config files. Each is "not ours" or
//! one clear line, never a crash or a hang, and a look-alike never reaches the network.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

const NOT_FOUND: &str = "credentials not found in native keychain\n";

fn check_secrets() {
    let pw = password_for(OWNER, DEFAULT_KEY);
    assert_no_secrets_printed(&[DEFAULT_KEY, DEFAULT_SECRET], &[&pw]);
}

/// Inputs that name no ECR registry, however close they come.
fn look_alikes() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        // Suffix and prefix tricks.
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com..",
        "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "https://evil.example/https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "https://evil.example#@123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "https://evil.example?@123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "x123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn.evil",
        "123456789012.dkr.ecr.us-east-1.amazonaws.co",
        "123456789012.dkr.ecr.us-east-1.amazonaws.comm",
        "123456789012.dkr.ecr.us-east-1.on.aws.evil",
        "public.ecr.aws.evil.example",
        "evilpublic.ecr.aws",
        // Account ids of the wrong length or kind.
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
        "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
        "-12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "+12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "0x1234567890.dkr.ecr.us-east-1.amazonaws.com",
        // Userinfo, schemes, ports.
        "user@123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "https://user:pw@123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "https://123456789012.dkr.ecr.us-east-1.amazonaws.com@evil.example",
        "https://123456789012.dkr.ecr.us-east-1.amazonaws.com\\@evil.example",
        "ftp://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "//123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com:443:443",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com:-1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com:99999999",
        "[::1]:443",
        // Regions and services that are not.
        "123456789012.dkr.ecr.us-east-1-.amazonaws.com",
        "123456789012.dkr.ecr.US_EAST_1.amazonaws.com",
        "123456789012.dkr.ecr.evil.amazonaws.com",
        "123456789012.dkr.ecr.%75s-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws%2ecom",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com%00.evil.example",
        // Unicode: IDN, full-width digits, Cyrillic, Kelvin sign, dotless i, zero-width.
        "１２３456789012.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonаws.com",
        "123456789012.dkr.ecr.us-east-1.xn--amazonaws-xyz.com",
        "123456789012.\u{212A}dr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com\u{200B}",
        "123456789012.dkr.ecr.us-east-1.amazonaws\u{3002}com",
        "123456789012.dkr.ecr.us-east-1.amazonaws\u{FF0E}com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com\u{0130}",
        "123456789012.dkr.ecr.us-east-\u{0661}.amazonaws.com",
        // Whitespace and control characters inside.
        "123456789012.dkr.ecr.us-east-1.amazonaws.com evil",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com\tevil",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com\nevil.example",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com\r\nevil.example",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com\u{1b}[2J",
        // Other registries.
        "docker.io",
        "https://index.docker.io/v1/",
        "localhost:5000",
        "127.0.0.1",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // NUL bytes and bytes that are not UTF-8.
    v.push(b"123456789012.dkr.ecr.us-east-1.amazonaws.com\0".to_vec());
    v.push(b"123456789012.dkr.ecr.us-east-1.amazonaws.com\0.evil.example".to_vec());
    v.push(b"\0123456789012.dkr.ecr.us-east-1.amazonaws.com".to_vec());
    v.push(b"123456789012.dkr.ecr.us-east-1.amazonaws.com\xff".to_vec());
    v.push(b"123456789012.dkr.ecr.us-east-1.amazon\xc0\xaews.com".to_vec());
    v.push(b"\xfe\xff\x00h\x00o\x00s\x00t".to_vec());
    v.push(b"\xef\xbb\xbf123456789012.dkr.ecr.us-east-1.amazonaws.com".to_vec());
    v.push(vec![0xff; 100]);
    v.push(vec![0; 1000]);
    v
}

#[test]
fn look_alike_and_malformed_hosts_are_not_ours_and_reach_no_network() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    // A real entry that erase must not touch for a look-alike.
    assert_eq!(h.get(HOST).code, 0);
    fake.reset_log();
    let entry = fs::read(&h.cache_files()[0]).unwrap();
    let inputs = look_alikes();
    for input in &inputs {
        let out = run_command(h.command(&["get"]), input);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, NOT_FOUND, ""),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        let out = run_command(h.command(&["erase"]), input);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, ""),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert!(fake.seen().is_empty(), "no request: {:?}", fake.seen());
    assert_eq!(
        fs::read(&h.cache_files()[0]).unwrap(),
        entry,
        "the real entry is untouched"
    );
    assert!(inputs.len() >= 60, "{}", inputs.len());
    check_secrets();
}

#[test]
fn oversized_stdin_is_refused_for_every_verb_without_a_request() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let mut big = HOST.as_bytes().to_vec();
    big.resize(10 << 20, b' ');
    let json = {
        let mut j =
            format!("{{\"ServerURL\":\"{HOST}\",\"Username\":\"AWS\",\"Secret\":\"").into_bytes();
        j.resize(10 << 20, b'a');
        j.extend_from_slice(b"\"}");
        j
    };
    for (verb, input) in [
        ("get", &big),
        ("erase", &big),
        ("store", &json),
        ("list", &big),
    ] {
        let out = run_command(h.command(&[verb]), input);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "ecr-xacct: input longer than 1048576 bytes\n", ""),
            "{verb}"
        );
        assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    }
    // Just under the limit is read: trailing blanks are trimmed.
    let mut fits = HOST.as_bytes().to_vec();
    fits.resize(1 << 20, b' ');
    let out = run_command(h.command(&["get"]), &fits);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(fake.token_requests().len(), 1, "only the one that fits");
    check_secrets();
}

#[test]
fn store_and_erase_with_broken_input_are_one_clear_line() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let cases: &[(&str, &[u8], i32, &str)] = &[
        ("store", b"", 1, "ecr-xacct: store: input is not credentials JSON (EOF while parsing a value at line 1 column 0)\n"),
        ("store", b"\xff\xfe", 1, "ecr-xacct: store: input is not credentials JSON (expected value at line 1 column 1)\n"),
        ("store", b"{\"ServerURL\":\"x\",\"Username\":\"AWS\",\"Secret\":\"hunter2hunter2", 1, "ecr-xacct: store: input is not credentials JSON (EOF while parsing a string at line 1 column 58)\n"),
        ("store", b"{\"ServerURL\":5,\"Username\":\"AWS\",\"Secret\":\"hunter2hunter2\"}", 1, "ecr-xacct: store: input is not credentials JSON (invalid type: integer `5`, expected a string at line 1 column 14)\n"),
        ("store", b"[\"x\",\"AWS\"]", 0, ""),
        ("store", b"{\"ServerURL\":\"x\",\"Username\":\"AWS\",\"Secret\":\"s\",\"Extra\":{\"deep\":[1,2,3]}}", 0, ""),
        ("store", b"{\"ServerURL\":\"\\u0000\",\"Username\":\"\\n\"}", 1, "no credentials username\n"),
        ("erase", b"\0", 0, ""),
        ("erase", b" \n\t ", 1, "no credentials server URL\n"),
        ("get", b" \n\t ", 1, "no credentials server URL\n"),
        ("list", b"\xff garbage on stdin is ignored", 0, "{}\n"),
    ];
    for (verb, input, code, stdout) in cases {
        let out = run_command(h.command(&[verb]), input);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (*code, *stdout, ""),
            "{verb} {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // Deeply nested JSON in a field that is skipped: walked without recursion, no stack
    // overflow; in a field that is read: refused at its first bracket.
    let nest = |inner: &str| {
        format!(
            "{{\"ServerURL\":\"x\",\"Username\":\"AWS\",\"{inner}\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        )
    };
    let out = h.run(&["store"], &nest("Extra"));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    let deep_url = format!(
        "{{\"ServerURL\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let out = h.run(&["store"], &deep_url);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with("ecr-xacct: store: input is not credentials JSON (invalid type: sequence, expected a string"),
        "{}",
        out.stdout
    );
    assert!(fake.seen().is_empty());
    assert_no_secrets_printed(&["hunter2hunter2"], &[]);
}

/// A helper whose cache holds a real entry for HOST; returns it with the entry's path.
fn with_entry(fake: &FakeAws) -> (Helper, PathBuf) {
    let h = Helper::new(fake);
    let out = h.get(HOST);
    assert_eq!(out.code, 0, "{out:?}");
    let path = h.cache_files()[0].clone();
    fake.reset_log();
    (h, path)
}

/// After an attack on the entry: the next `get` answers (a miss: one request) and leaves
/// a sound entry: a regular 0600 file with the current format, in a 0700 directory.
fn assert_recovered(fake: &FakeAws, h: &Helper, path: &Path, what: &str) {
    let out = h.get(HOST);
    assert_eq!(
        out.stdout,
        answer(HOST, &password_for(OWNER, DEFAULT_KEY)),
        "{what}: {out:?}"
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{what}");
    assert!(
        out.elapsed < Duration::from_secs(5),
        "{what}: {:?}",
        out.elapsed
    );
    assert_eq!(fake.token_requests().len(), 1, "{what}: a miss");
    let meta = fs::symlink_metadata(path).unwrap();
    assert!(meta.file_type().is_file(), "{what}: a regular file again");
    assert_eq!(mode(path), 0o600, "{what}");
    assert_eq!(mode(&h.cache_dir()), 0o700, "{what}");
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["version"], 1, "{what}");
    // And the rewritten entry is served.
    assert_eq!(h.get(HOST).code, 0);
    assert_eq!(fake.token_requests().len(), 1, "{what}: then a hit");
    fake.reset_log();
}

#[test]
fn a_damaged_cache_entry_is_a_miss_and_is_rewritten() {
    let fake = FakeAws::start();
    let (h, path) = with_entry(&fake);
    let good = fs::read_to_string(&path).unwrap();
    let future = good.replace("\"version\":1", "\"version\":2");
    assert_ne!(future, good);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
        ("garbage", b"\x00\xff\xfe garbage \x01".to_vec()),
        ("not an object", b"[1,2,3]\n".to_vec()),
        (
            "wrong types",
            good.replace("\"expires_at\":", "\"expires_at\":\"x\",\"_\":")
                .into_bytes(),
        ),
        ("future version", future.into_bytes()),
        ("NULs", vec![0; 4096]),
        ("JSON then junk", format!("{good}junk").into_bytes()),
    ];
    let n = cases.len();
    for (what, bytes) in cases {
        fs::write(&path, &bytes).unwrap();
        assert_recovered(&fake, &h, &path, what);
    }
    // Enormous (sparse): not read at all.
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    assert_recovered(&fake, &h, &path, "1 GiB");
    // Readable by others: not trusted.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert_recovered(&fake, &h, &path, "mode 0644");
    assert_eq!(n, 8);
    check_secrets();
}

#[test]
fn a_symlinked_cache_entry_or_lock_is_never_followed() {
    let fake = FakeAws::start();
    let (h, path) = with_entry(&fake);
    // The victim holds a valid entry with another password: it must be neither served
    // nor written.
    let victim = h.home.path().join("victim.json");
    let planted = fs::read_to_string(&path)
        .unwrap()
        .replace(&password_for(OWNER, DEFAULT_KEY), "PLANTED-password");
    fs::write(&victim, &planted).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(&path).unwrap();
    symlink(&victim, &path).unwrap();
    assert_recovered(&fake, &h, &path, "entry symlink");
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        planted,
        "victim untouched"
    );

    // The lock file as a symlink: not followed (no lock then), the victim untouched.
    let lock = path.with_extension("lock");
    assert!(lock.exists());
    fs::remove_file(&lock).unwrap();
    symlink(&victim, &lock).unwrap();
    fs::remove_file(&path).unwrap();
    assert_recovered(&fake, &h, &path, "lock symlink");
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        planted,
        "victim untouched"
    );
    assert!(!h.get(HOST).stdout.contains("PLANTED"));
    check_secrets();
}

#[test]
fn a_special_file_in_the_cache_does_not_hang_any_verb() {
    let fake = FakeAws::start();
    let (h, path) = with_entry(&fake);
    // A FIFO where the entry was: opening it for reading would block forever.
    fs::remove_file(&path).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    // Another FIFO with an entry-like name, for list and prune.
    let other = h.cache_dir().join("0123456789abcdef0123456789abcdef.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&other)
        .status()
        .unwrap()
        .success());
    let out = h.run(&["list"], "");
    assert_eq!((out.code, out.stdout.as_str()), (0, "{}\n"), "{out:?}");
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert_recovered(&fake, &h, &path, "FIFO");
    assert_eq!(h.run(&["erase"], HOST).code, 0);
    // A directory where the entry goes: the answer still comes, with a warning.
    fs::create_dir(&path).unwrap();
    fs::write(path.join("x"), "x").unwrap();
    let out = h.get(HOST);
    assert_eq!(out.stdout, answer(HOST, &password_for(OWNER, DEFAULT_KEY)));
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .starts_with("ecr-xacct: warning: cannot write the cache in "),
        "{}",
        out.stderr
    );
    check_secrets();
}

#[test]
fn a_loose_cache_directory_is_distrusted_and_tightened() {
    let fake = FakeAws::start();
    let (h, path) = with_entry(&fake);
    for loose in [0o777, 0o770, 0o722] {
        fs::set_permissions(h.cache_dir(), fs::Permissions::from_mode(loose)).unwrap();
        // Others could have swapped the entries in a directory they can write to.
        assert_recovered(&fake, &h, &path, &format!("dir {loose:o}"));
    }
    // Only readable by others: entries are still 0600, so still trusted, and the next
    // write tightens the directory.
    fs::set_permissions(h.cache_dir(), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(h.get(HOST).code, 0);
    assert!(fake.token_requests().is_empty(), "a hit");
    // The cache is a file, not a directory: answered without a cache, with a warning.
    let mut h2 = Helper::new(&fake);
    let file = h2.home.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    h2.env("ECR_XACCT_CACHE_DIR", file.to_str().unwrap());
    let out = h2.get(HOST);
    assert_eq!(out.code, 0);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot write the cache in"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
    check_secrets();
}

#[test]
fn leftovers_of_a_killed_writer_are_ignored_and_swept() {
    let fake = FakeAws::start();
    let (h, path) = with_entry(&fake);
    let dir = h.cache_dir();
    // A partial temp file, old enough to sweep, and a fresh one that must be left alone
    // (it may belong to a writer at work right now).
    let old_tmp = dir.join(".tmp-killed1");
    let new_tmp = dir.join(".tmp-working");
    for p in [&old_tmp, &new_tmp] {
        fs::write(p, "{\"version\":1,\"username\":\"AWS\",\"passw").unwrap();
        fs::set_permissions(p, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&old_tmp)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    // A truncated entry, as a writer without the atomic rename would leave.
    let good = fs::read(&path).unwrap();
    fs::write(&path, &good[..good.len() / 3]).unwrap();
    assert_recovered(&fake, &h, &path, "truncated + temp files");
    assert!(
        !old_tmp.exists(),
        "an old temp file is swept on the next write"
    );
    assert!(new_tmp.exists(), "a fresh one is left to its writer");
    let out = h.run(&["list"], "");
    assert_eq!(out.stdout, format!("{{\"https://{HOST}\":\"AWS\"}}\n"));
    check_secrets();
}

#[test]
fn broken_config_files_are_one_clear_line_naming_file_entry_and_problem() {
    let fake = FakeAws::start();
    let mut h = Helper::new(&fake);
    let file = h.home.path().join("config.toml");
    let f = file.display().to_string();
    let fix = "(fix or remove the file; see the README's config section)";
    // (config text, the entry and problem the line must name); toml's own wording after
    // "TOML parse error at line L, column C" may change with its version.
    let cases: Vec<(&str, &[&str])> = vec![
        (
            "[[registry]\nmatch = \"123456789012\"\n",
            &["TOML parse error at line 1, column 12", "[[registry]", "unclosed array table"],
        ),
        (
            "[[registry]]\nmatch = \"123456789012\"\nprofle = \"images\"\n",
            &["TOML parse error at line 3, column 1", "unknown field `profle`, expected one of `match`, `profile`"],
        ),
        (
            "timeout = 5\n",
            &["TOML parse error at line 1, column 1", "unknown field `timeout`, expected `timeout_seconds` or `registry`"],
        ),
        (
            "timeout_seconds = \"10\"\n",
            &["TOML parse error at line 1, column 19", "invalid type: string \"10\", expected u64"],
        ),
        (
            "timeout_seconds = 0\n",
            &["timeout_seconds must be at least 1"],
        ),
        (
            "\u{0}\u{1}binary",
            &["TOML parse error at line 1, column", "key with no value"],
        ),
        (
            "[[registry]]\nmatch = \"123456789012\"\nrole_arn = \"arn:aws:iam::1234:role/x\"\n",
            &["[[registry]] #1 (match = \"123456789012\"): role_arn \"arn:aws:iam::1234:role/x\" is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"],
        ),
        (
            "[[registry]]\nmatch = \"123456789012\"\n[[registry]]\nmatch = \"12345\"\n",
            &["[[registry]] #2 (match = \"12345\"): an account id in `match` must have exactly 12 digits"],
        ),
        (
            "[[registry]]\nmatch = \"images.example.com\"\naccount = \"123456789012\"\n",
            &["[[registry]] #1 (match = \"images.example.com\"): `account` and `region` go together"],
        ),
        (
            "[[registry]]\nmatch = \"123456789012\"\nprofile = \" \"\n",
            &["[[registry]] #1 (match = \"123456789012\"): profile is empty"],
        ),
    ];
    let prefix = format!("ecr-xacct: config file {f}: ");
    for (text, parts) in &cases {
        h.config(text);
        let out = h.get(HOST);
        assert_eq!(out.code, 1, "{text:?}");
        assert_eq!(out.stdout.lines().count(), 1, "{text:?}: {}", out.stdout);
        assert!(out.stdout.starts_with(&prefix), "{}", out.stdout);
        assert!(out.stdout.ends_with(&format!(" {fix}\n")), "{}", out.stdout);
        for part in *parts {
            assert!(
                out.stdout.contains(part),
                "{text:?}: {part:?} in {}",
                out.stdout
            );
        }
    }
    // Bytes that are not UTF-8.
    fs::write(&file, b"[[registry]]\nmatch = \"\xff\"\n").unwrap();
    let out = h.get(HOST);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with(&format!("ecr-xacct: config file {f}: cannot read it: ")),
        "{}",
        out.stdout
    );
    // A profile that the AWS files do not define.
    h.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    h.aws_files("[profile images]\nregion = eu-central-1\n", "");
    h.config("[[registry]]\nmatch = \"*.amazonaws.com\"\nprofile = \"imagse\"\n");
    let out = h.get(HOST);
    let aws = h.home.path().join("aws");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, format!("ecr-xacct: getting credentials for {HOST}: profile \"imagse\" is not defined in {a}/config nor {a}/credentials (identity: profile \"imagse\" (config entry #1, match = \"*.amazonaws.com\")) (add [profile imagse] to {a}/config or fix `profile = \"imagse\"` in entry #1 of {f})\n", a = aws.display()).as_str())
    );
    // Not ours is still not ours with a broken config, with a warning naming the file.
    h.config("not toml at all [");
    let out = h.get("ghcr.io");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));
    assert!(out.stderr.contains(&f), "{}", out.stderr);
    assert!(fake.seen().is_empty());
    check_secrets();
}

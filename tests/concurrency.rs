//! Many helpers at once against one cache: one token request per key however many ask,
//! entries that stay whole while they are rewritten, no identity served another's token,
//! and helpers killed mid-burst leaving nothing the next run trips on.

mod common;
mod hardening;
use common::*;
use hardening::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROFILE_KEY: &str = "AKIDPROFILE0000002";
const PROFILE_SECRET: &str = "profileSECRET/concurrency0123456";

fn check_secrets() {
    assert_no_secrets_printed(
        &[DEFAULT_KEY, DEFAULT_SECRET, PROFILE_KEY, PROFILE_SECRET],
        &[],
    );
}

fn get_args() -> Vec<String> {
    vec!["get".to_string()]
}

#[test]
fn sixty_four_cold_processes_make_one_request() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::Slow {
        delay: Duration::from_millis(200),
    });
    let rounds = 3;
    for round in 0..rounds {
        fake.reset_log();
        let h = Helper::new(&fake);
        let runs: Vec<_> = (0..64)
            .map(|_| (&h, get_args(), HOST.as_bytes().to_vec()))
            .collect();
        let started = Instant::now();
        let outs = burst(&runs, Duration::from_secs(60));
        let want = answer(HOST, &password_for(OWNER, DEFAULT_KEY));
        for (i, out) in outs.iter().enumerate() {
            assert_eq!(out.stdout, want, "round {round}, process {i}: {out:?}");
            assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
        }
        assert_eq!(
            fake.token_requests().len(),
            1,
            "round {round}: 64 processes, one request"
        );
        assert_eq!(h.cache_files().len(), 1);
        eprintln!(
            "round {round}: 64 processes answered in {:?}",
            started.elapsed()
        );
    }
    check_secrets();
}

/// Two identities sharing one cache: the environment keys, and a profile.
fn two_identities(fake: &FakeAws) -> (Helper, Helper) {
    let env_keys = Helper::new(fake);
    let mut profile = Helper::new(fake);
    profile
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "images")
        .env(
            "ECR_XACCT_CACHE_DIR",
            env_keys.cache_dir().to_str().unwrap(),
        );
    profile.aws_files(
        "[profile images]\nregion = eu-central-1\n",
        &format!(
            "[images]\naws_access_key_id = {PROFILE_KEY}\naws_secret_access_key = {PROFILE_SECRET}\n"
        ),
    );
    (env_keys, profile)
}

/// Eight registries, each in its own region (its own cache scope) with its own owner.
fn registries() -> Vec<(String, String)> {
    [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-2",
        "sa-east-1",
    ]
    .iter()
    .enumerate()
    .map(|(i, region)| {
        let owner = format!("1000000000{i:02}");
        (format!("{owner}.dkr.ecr.{region}.amazonaws.com"), owner)
    })
    .collect()
}

/// Reads every entry file in a loop until told to stop; each read must be a whole entry.
struct Watcher {
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Watcher {
    fn start(dir: &Path) -> Watcher {
        let dir = dir.to_path_buf();
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicUsize::new(0));
        let (s, r) = (stop.clone(), reads.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Ok(rd) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in rd.filter_map(Result::ok) {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.ends_with(".json") || name.starts_with('.') {
                        continue;
                    }
                    let Ok(text) = std::fs::read_to_string(e.path()) else {
                        continue; // replaced or removed between listing and reading
                    };
                    let v: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|err| format!("{name}: not whole JSON ({err}): {text:?}"))?;
                    let ok = v["version"] == 1
                        && v["username"] == "AWS"
                        && v["password"]
                            .as_str()
                            .is_some_and(|p| p.contains("-token-for-"))
                        && v["hosts"].as_array().is_some_and(|h| !h.is_empty());
                    if !ok {
                        return Err(format!("{name}: not a sound entry: {text}"));
                    }
                    r.fetch_add(1, Ordering::SeqCst);
                }
            }
            Ok(())
        });
        Watcher {
            stop,
            reads,
            thread: Some(thread),
        }
    }

    /// Stops and returns how many whole entries were read.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        let result = self.thread.take().unwrap().join().unwrap();
        result.unwrap();
        self.reads.load(Ordering::SeqCst)
    }
}

#[test]
fn sixty_four_processes_eight_registries_two_identities() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::Slow {
        delay: Duration::from_millis(150),
    });
    let (a, b) = two_identities(&fake);
    let regs = registries();
    let watcher = Watcher::start(&a.cache_dir());
    // 8 registries x 2 identities x 4 processes, interleaved.
    let mut runs = Vec::new();
    let mut expected = Vec::new();
    for copy in 0..4 {
        for (host, owner) in &regs {
            for (h, key) in [(&a, DEFAULT_KEY), (&b, PROFILE_KEY)] {
                let input = if copy % 2 == 0 {
                    host.clone()
                } else {
                    format!("https://{host}")
                };
                expected.push(answer(&input, &password_for(owner, key)));
                runs.push((h, get_args(), input.into_bytes()));
            }
        }
    }
    assert_eq!(runs.len(), 64);
    let outs = burst(&runs, Duration::from_secs(60));
    let reads = watcher.finish();
    for (out, want) in outs.iter().zip(&expected) {
        assert_eq!(&out.stdout, want, "{out:?}");
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    }
    // One request per (scope, identity), each signed by the identity that asked.
    let reqs = fake.token_requests();
    assert_eq!(reqs.len(), 16);
    let pairs: BTreeSet<(String, String)> = reqs
        .iter()
        .map(|r| (r.region.clone(), r.access_key.clone()))
        .collect();
    assert_eq!(pairs.len(), 16, "no (region, identity) asked twice");
    // No entry lost: 16 entries, and every one of the 16 is now a hit.
    assert_eq!(a.cache_files().len(), 16);
    for (host, owner) in &regs {
        for (h, key) in [(&a, DEFAULT_KEY), (&b, PROFILE_KEY)] {
            let out = h.get(host);
            assert_eq!(out.stdout, answer(host, &password_for(owner, key)));
        }
    }
    assert_eq!(fake.token_requests().len(), 16, "all hits");
    eprintln!("watcher read {reads} whole entries during the burst");
    check_secrets();
}

/// A tiny deterministic generator (no extra dependency); the seed is printed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn helpers_killed_mid_burst_leave_a_cache_the_next_run_can_use() {
    let fake = FakeAws::start();
    fake.set_ecr(EcrBehaviour::Slow {
        delay: Duration::from_millis(60),
    });
    let (a, b) = two_identities(&fake);
    let regs: Vec<_> = registries().into_iter().take(4).collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("seed {seed}");
    let mut rng = Lcg(seed);
    let (mut killed, mut finished, mut leftovers) = (0, 0, 0);
    let rounds = 12;
    for round in 0..rounds {
        // Cold or warm: drop some entries so that writes happen in every round.
        for f in a.cache_files() {
            if rng.next(2) == 0 {
                let _ = std::fs::remove_file(f);
            }
        }
        let mut children = Vec::new();
        for i in 0..16 {
            let (host, _) = &regs[i % regs.len()];
            let h = if (i / regs.len()) % 2 == 0 { &a } else { &b };
            let mut child = h
                .command(&["get"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(host.as_bytes())
                .unwrap();
            let kill_at = (rng.next(2) == 0).then(|| Duration::from_millis(rng.next(250)));
            children.push((child, Instant::now(), kill_at, i));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline
            && children
                .iter_mut()
                .any(|(c, _, _, _)| c.try_wait().unwrap().is_none())
        {
            for (c, started, kill_at, _) in children.iter_mut() {
                if let Some(at) = *kill_at {
                    if started.elapsed() >= at && c.try_wait().unwrap().is_none() {
                        c.kill().unwrap(); // SIGKILL
                        *kill_at = None;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for (c, started, _, i) in children {
            let out = collect(c, started);
            if out.code == -1 {
                killed += 1;
                continue; // killed: whatever it printed is cut
            }
            finished += 1;
            let (host, owner) = &regs[i % regs.len()];
            let key = if (i / regs.len()) % 2 == 0 {
                DEFAULT_KEY
            } else {
                PROFILE_KEY
            };
            assert_eq!(
                out.stdout,
                answer(host, &password_for(owner, key)),
                "round {round}: {out:?}"
            );
        }
        // Whatever the kills left: every entry is whole, or it is a temp file that no
        // reader looks at.
        for (path, bytes) in all_files(&a.cache_dir()) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") {
                leftovers += 1;
                assert_eq!(mode(&path), 0o600, "{name}");
            } else if name.ends_with(".json") {
                let v: serde_json::Value = serde_json::from_str(&String::from_utf8_lossy(&bytes))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(v["version"], 1);
                assert_eq!(mode(&path), 0o600, "{name}");
            }
        }
        // The next run, for every registry and identity, answers right.
        for (host, owner) in &regs {
            for (h, key) in [(&a, DEFAULT_KEY), (&b, PROFILE_KEY)] {
                let out = h.get(host);
                assert_eq!(
                    out.stdout,
                    answer(host, &password_for(owner, key)),
                    "round {round}"
                );
                assert_eq!(out.code, 0);
            }
        }
    }
    eprintln!(
        "{rounds} rounds: {killed} helpers killed with SIGKILL, {finished} finished, {leftovers} temp files left over"
    );
    assert!(killed >= rounds, "the rounds did kill helpers ({killed})");
    assert!(finished >= rounds, "and some finished ({finished})");
    // Whatever the kills did, no scope and identity was asked more than once per round
    // beyond what the dropped entries and killed holders explain: bounded by processes.
    let reqs = fake.token_requests().len();
    assert!(reqs <= rounds * 16 + 8, "{reqs} requests");
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for r in fake.token_requests() {
        *per_key.entry(r.access_key).or_default() += 1;
    }
    assert_eq!(per_key.len(), 2, "{per_key:?}");
    check_secrets();
}

//! Shared test harness: an in-process fake ECR/ECR Public/STS endpoint on 127.0.0.1 (wiremock),
//! and a runner for the real binary with its own HOME, cache and config.
#![allow(dead_code)]

use base64::Engine as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The access key id the default test identity uses.
pub const DEFAULT_KEY: &str = "AKIDDEFAULT0000001";
/// The secret key of the default test identity (never to be printed by the helper).
pub const DEFAULT_SECRET: &str = "defaultSECRETkey/0123456789abcdefghij";
/// The access key id AssumeRole hands out.
pub const ROLE_KEY: &str = "ASIAROLE0000000001";
/// The secret key AssumeRole hands out.
pub const ROLE_SECRET: &str = "roleSECRETkey/0123456789abcdefghijklm";
/// The session token AssumeRole hands out.
pub const ROLE_SESSION: &str = "roleSESSIONtoken0123456789";
/// The owner used by most tests.
pub const OWNER: &str = "123456789012";
/// Its registry host.
pub const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The password the fake issues for `registry_id` to `access_key`: tells who asked.
/// (The key is reversed so that the password never contains the key itself.)
pub fn password_for(registry_id: &str, access_key: &str) -> String {
    let tag: String = access_key.chars().rev().collect();
    format!("{registry_id}-token-for-{tag}")
}

/// How the fake answers ECR token requests; tests change it between runs.
#[derive(Clone, Debug)]
pub enum EcrBehaviour {
    /// A good token expiring `expires_in` seconds from now.
    Token { expires_in: i64 },
    /// An AWS JSON error with this HTTP status and `__type` code.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// A raw body with this status (malformed answers).
    Raw { status: u16, body: String },
    /// A good token after a delay.
    Slow { delay: Duration },
}

impl EcrBehaviour {
    /// AccessDeniedException for `user` of the consumer account 987654321098.
    pub fn access_denied(user: &str) -> EcrBehaviour {
        EcrBehaviour::Error {
            status: 400,
            code: "AccessDeniedException".into(),
            message: format!(
                "User: arn:aws:iam::987654321098:user/{user} is not authorized to perform: ecr:GetAuthorizationToken"
            ),
        }
    }
}

/// A recorded request, decoded enough to assert on.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `ecr`, `ecr-public` or `sts` (from the SigV4 scope).
    pub service: String,
    /// `X-Amz-Target` for JSON APIs, `Action` for STS.
    pub operation: String,
    /// The SigV4 scope's region.
    pub region: String,
    /// The access key id that signed the request.
    pub access_key: String,
    /// The JSON body (ECR) or form fields (STS).
    pub body: String,
}

impl Seen {
    /// The form field `name` of an STS request.
    pub fn form(&self, name: &str) -> Option<String> {
        self.body.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| urldecode(v))
        })
    }

    /// The `registryIds` of an ECR request.
    pub fn registry_ids(&self) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_default();
        v["registryIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn urldecode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_seen(req: &Request) -> Seen {
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Credential=AKID/20260101/us-east-1/ecr/aws4_request
    let cred = auth
        .split("Credential=")
        .nth(1)
        .unwrap_or("")
        .split(',')
        .next()
        .unwrap_or("");
    let parts: Vec<&str> = cred.split('/').collect();
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let target = req
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut seen = Seen {
        service: parts.get(3).unwrap_or(&"").to_string(),
        operation: String::new(),
        region: parts.get(2).unwrap_or(&"").to_string(),
        access_key: parts.first().unwrap_or(&"").to_string(),
        body,
    };
    seen.operation = match target {
        Some(t) => t,
        None => seen.form("Action").unwrap_or_default(),
    };
    seen
}

struct Responder {
    ecr: Arc<Mutex<EcrBehaviour>>,
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let seen = parse_seen(req);
        if seen.service == "sts" {
            return sts_answer(&seen);
        }
        let behaviour = self.ecr.lock().unwrap().clone();
        match behaviour {
            EcrBehaviour::Token { expires_in } => token_answer(&seen, expires_in),
            EcrBehaviour::Slow { delay } => token_answer(&seen, 43_200).set_delay(delay),
            EcrBehaviour::Error {
                status,
                code,
                message,
            } => ResponseTemplate::new(status)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_string(
                    serde_json::json!({"__type": code, "message": message}).to_string(),
                ),
            EcrBehaviour::Raw { status, body } => ResponseTemplate::new(status)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_string(body),
        }
    }
}

fn token_answer(seen: &Seen, expires_in: i64) -> ResponseTemplate {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let expires = (now() + expires_in) as f64;
    let body = if seen.service == "ecr-public" {
        serde_json::json!({"authorizationData": {
            "authorizationToken": b64(&format!("AWS:{}", password_for("public", &seen.access_key))),
            "expiresAt": expires}})
    } else {
        let ids = seen.registry_ids();
        let id = ids
            .first()
            .cloned()
            .unwrap_or_else(|| "000000000000".into());
        serde_json::json!({"authorizationData": [{
            "authorizationToken": b64(&format!("AWS:{}", password_for(&id, &seen.access_key))),
            "expiresAt": expires,
            "proxyEndpoint": format!("https://{id}.dkr.ecr.{}.amazonaws.com", seen.region)}]})
    };
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

fn sts_answer(seen: &Seen) -> ResponseTemplate {
    let body = match seen.operation.as_str() {
        "AssumeRole" => {
            let role = seen.form("RoleArn").unwrap_or_default();
            let account = role.split(':').nth(4).unwrap_or("000000000000").to_string();
            let session = seen.form("RoleSessionName").unwrap_or_default();
            format!(
                r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>{ROLE_KEY}</AccessKeyId><SecretAccessKey>{ROLE_SECRET}</SecretAccessKey><SessionToken>{ROLE_SESSION}</SessionToken><Expiration>2100-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:{session}</AssumedRoleId><Arn>arn:aws:sts::{account}:assumed-role/r/{session}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleResponse>"#
            )
        }
        _ => {
            let account = if seen.access_key.starts_with("ASIA") {
                "111122223333"
            } else {
                "987654321098"
            };
            format!(
                r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/tester</Arn><UserId>AIDAEXAMPLE</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
            )
        }
    };
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml")
        .set_body_string(body)
}

/// A fake AWS endpoint serving ECR, ECR Public and STS, recording every request.
pub struct FakeAws {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
    ecr: Arc<Mutex<EcrBehaviour>>,
}

impl FakeAws {
    /// Starts the fake; ECR answers 12-hour tokens until told otherwise.
    pub fn start() -> FakeAws {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let ecr = Arc::new(Mutex::new(EcrBehaviour::Token { expires_in: 43_200 }));
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(Responder { ecr: ecr.clone() })
                .mount(&server)
                .await;
            server
        });
        FakeAws {
            runtime,
            server,
            ecr,
        }
    }

    /// The endpoint URL (`http://127.0.0.1:<port>`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Changes how ECR answers from now on.
    pub fn set_ecr(&self, behaviour: EcrBehaviour) {
        *self.ecr.lock().unwrap() = behaviour;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        let reqs = self
            .runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default();
        reqs.iter().map(parse_seen).collect()
    }

    /// The token requests so far (ECR and ECR Public).
    pub fn token_requests(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.operation.ends_with("GetAuthorizationToken"))
            .collect()
    }

    /// The STS requests so far.
    pub fn sts_requests(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.service == "sts")
            .collect()
    }

    /// Forgets what was recorded.
    pub fn reset_log(&self) {
        // wiremock keeps the log on the server; a reset drops mocks too, so remount.
        self.runtime.block_on(async {
            self.server.reset().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(Responder {
                    ecr: self.ecr.clone(),
                })
                .mount(&self.server)
                .await;
        });
    }
}

/// What one run of the binary did.
#[derive(Debug, Clone)]
pub struct Out {
    /// Exit code (-1 if killed).
    pub code: i32,
    /// stdout as text.
    pub stdout: String,
    /// stderr as text.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

/// (stdout, stderr) of every run in this process, for the secrets sweep.
pub static OUTPUTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The binary under test, with a private HOME, cache and config, and a clean environment.
pub struct Helper {
    /// Private temporary HOME.
    pub home: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl Helper {
    /// A helper talking to `fake` with the default identity (env keys).
    pub fn new(fake: &FakeAws) -> Helper {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let mut env = HashMap::new();
        for (k, v) in [
            ("HOME", h.to_str().unwrap().to_string()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            (
                "ECR_XACCT_CACHE_DIR",
                h.join("cache").to_str().unwrap().to_string(),
            ),
            (
                "ECR_XACCT_CONFIG",
                h.join("config.toml").to_str().unwrap().to_string(),
            ),
            (
                "AWS_CONFIG_FILE",
                h.join("aws/config").to_str().unwrap().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                h.join("aws/credentials").to_str().unwrap().to_string(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("AWS_ENDPOINT_URL", fake.uri()),
            ("AWS_ACCESS_KEY_ID", DEFAULT_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET.to_string()),
            ("ECR_XACCT_TIMEOUT", "10".to_string()),
        ] {
            env.insert(k.to_string(), v);
        }
        Helper { home, env }
    }

    /// Sets an environment variable for later runs.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Removes an environment variable for later runs.
    pub fn env_remove(&mut self, key: &str) -> &mut Self {
        self.env.remove(key);
        self
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        PathBuf::from(&self.env["ECR_XACCT_CACHE_DIR"])
    }

    /// Writes the helper's config file.
    pub fn config(&self, toml: &str) {
        std::fs::write(&self.env["ECR_XACCT_CONFIG"], toml).unwrap();
    }

    /// Writes the AWS shared config and credentials files.
    pub fn aws_files(&self, config: &str, credentials: &str) {
        let dir = self.home.path().join("aws");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("credentials"), credentials).unwrap();
    }

    /// A command for the binary with this environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_docker-credential-ecr-xacct"));
        cmd.args(args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.home.path());
        cmd
    }

    /// Runs the binary with `stdin`, waiting at most 60 s.
    pub fn run(&self, args: &[&str], stdin: &str) -> Out {
        run_command(self.command(args), stdin.as_bytes())
    }

    /// `get` for a server URL.
    pub fn get(&self, server_url: &str) -> Out {
        self.run(&["get"], server_url)
    }

    /// Paths of the cache's entry files.
    pub fn cache_files(&self) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(self.cache_dir()) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = dir
            .filter_map(Result::ok)
            .map(|d| d.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        v.sort();
        v
    }
}

/// Runs a command to completion with a bounded wait, recording its output.
pub fn run_command(mut cmd: Command, stdin: &[u8]) -> Out {
    use std::io::Write;
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn helper");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let deadline = start + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let out = collect(child, start);
    let _ = writer.join();
    out
}

/// Waits for a child that was spawned with piped outputs and records its output.
pub fn collect(child: std::process::Child, started: Instant) -> Out {
    let output = child.wait_with_output().unwrap();
    let out = Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    };
    OUTPUTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((out.stdout.clone(), out.stderr.clone()));
    out
}

/// The expected `get` answer.
pub fn answer(server_url: &str, password: &str) -> String {
    format!("{{\"ServerURL\":\"{server_url}\",\"Username\":\"AWS\",\"Secret\":\"{password}\"}}\n")
}

/// Fails if any recorded run printed a key anywhere, or a password on stderr.
/// Returns how many runs were checked.
pub fn assert_no_secrets_printed(keys: &[&str], passwords: &[&str]) -> usize {
    let all = OUTPUTS.lock().unwrap_or_else(|e| e.into_inner());
    for (stdout, stderr) in all.iter() {
        for k in keys {
            assert!(
                !stdout.contains(k) && !stderr.contains(k),
                "key {k:?} printed: {stdout} / {stderr}"
            );
        }
        for p in passwords {
            assert!(!stderr.contains(p), "password {p:?} on stderr: {stderr}");
        }
    }
    all.len()
}

/// Mode bits of a path.
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).unwrap().mode() & 0o777
}

// ---- Added for the hardening tests (issue 5): scripted answers ahead of the behaviour. ----

/// Answers the fake gives to the next few token requests, ahead of the standing
/// [`EcrBehaviour`]; records when each of those requests arrived.
pub struct Script {
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Script {
    /// When the scripted answers were given, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }

    /// The waits between consecutive scripted answers (the client's backoff).
    pub fn gaps(&self) -> Vec<Duration> {
        let a = self.arrivals();
        a.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

struct ScriptResponder {
    template: ResponseTemplate,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for ScriptResponder {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        self.template.clone()
    }
}

impl FakeAws {
    /// The next `times` token requests (ECR and ECR Public) get `template`; after that the
    /// standing behaviour answers again. `u64::MAX` times means always.
    pub fn script_next(&self, times: u64, template: ResponseTemplate) -> Script {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let responder = ScriptResponder {
            template,
            arrivals: arrivals.clone(),
        };
        self.runtime.block_on(async {
            let mut mock = Mock::given(|req: &Request| {
                req.headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|t| t.ends_with("GetAuthorizationToken"))
            })
            .respond_with(responder)
            .with_priority(1);
            if times != u64::MAX {
                mock = mock.up_to_n_times(times);
            }
            mock.mount(&self.server).await;
        });
        Script { arrivals }
    }

    /// The next `times` token requests fail with an AWS JSON error; then tokens again.
    pub fn fail_next(&self, times: u64, status: u16, code: &str, message: &str) -> Script {
        self.script_next(times, aws_error(status, code, message))
    }
}

/// An AWS JSON-protocol error answer.
pub fn aws_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(serde_json::json!({"__type": code, "message": message}).to_string())
}

// ---- Added for `doctor` (issue 6): answers for single operations, ahead of the behaviour. ----

/// The `X-Amz-Target` prefix of the ECR API.
pub const ECR_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921";

/// An AWS JSON-protocol body with this status.
pub fn json_answer(status: u16, body: &serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

/// A `BatchGetImage` answer that found the image.
pub fn image_found(registry_id: &str, repository: &str, tag: &str) -> ResponseTemplate {
    json_answer(
        200,
        &serde_json::json!({"images": [{"registryId": registry_id, "repositoryName": repository,
            "imageId": {"imageTag": tag, "imageDigest": format!("sha256:{}", "a".repeat(64))},
            "imageManifest": "{}", "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}],
            "failures": []}),
    )
}

/// A `BatchGetImage` answer that did not find the tag.
pub fn image_not_found(tag: &str) -> ResponseTemplate {
    json_answer(
        200,
        &serde_json::json!({"images": [], "failures": [{"imageId": {"imageTag": tag},
            "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}]}),
    )
}

/// An AWS JSON error with this status, `__type` and message.
pub fn json_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    json_answer(
        status,
        &serde_json::json!({"__type": code, "message": message}),
    )
}

impl FakeAws {
    /// ECR `operation` (e.g. `BatchGetImage`) gets `template` from now on, whatever the
    /// standing behaviour. Dropped by [`FakeAws::reset_log`].
    pub fn answer_ecr(&self, operation: &str, template: ResponseTemplate) {
        let target = format!("{ECR_TARGET}.{operation}");
        self.runtime.block_on(
            Mock::given(wiremock::matchers::header("x-amz-target", target.as_str()))
                .respond_with(template)
                .with_priority(1)
                .mount(&self.server),
        );
    }

    /// `sts:GetCallerIdentity` answers with this account and ARN from now on.
    pub fn answer_caller(&self, account: &str, arn: &str) {
        let body = format!(
            r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AROAEXAMPLE:s</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r3</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
        );
        self.runtime.block_on(
            Mock::given(wiremock::matchers::body_string_contains(
                "Action=GetCallerIdentity",
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/xml")
                    .set_body_string(body),
            )
            .with_priority(1)
            .mount(&self.server),
        );
    }

    /// The requests for one operation so far (`X-Amz-Target` suffix or STS `Action`).
    pub fn requests_for(&self, operation: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.operation == operation || s.operation.ends_with(&format!(".{operation}")))
            .collect()
    }
}

// ---- Added for the hardening tests (issue 5): scripted STS answers. ----

impl FakeAws {
    /// The next `times` STS `AssumeRole` requests get `template`; then roles are granted again.
    pub fn script_assume_role(&self, times: u64, template: ResponseTemplate) -> Script {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let responder = ScriptResponder {
            template,
            arrivals: arrivals.clone(),
        };
        self.runtime.block_on(async {
            Mock::given(|req: &Request| parse_seen(req).operation == "AssumeRole")
                .respond_with(responder)
                .with_priority(1)
                .up_to_n_times(times)
                .mount(&self.server)
                .await;
        });
        Script { arrivals }
    }
}

/// An STS (query protocol) error answer.
pub fn sts_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/xml")
        .set_body_string(format!(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r3</RequestId></ErrorResponse>"#
        ))
}

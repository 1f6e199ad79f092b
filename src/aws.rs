//! Everything that talks to AWS, through the official SDK. Only the miss path (and `doctor`)
//! reaches this module; it owns the tokio runtime, built per call on the current thread.

use crate::error::Error;
use crate::identity::{Identity, DEFAULT_SESSION_NAME};
use crate::registry::Registry;
use crate::token::{self, Token};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder as HttpBuilder, Connector};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;
use std::time::{Duration, Instant};

/// How many times one API call is tried in all (throttling and 5xx are retried).
pub const MAX_ATTEMPTS: u32 = 3;

/// The AWS side of one lookup: the registry, who asks, and the time allowed.
pub struct Session<'a> {
    /// The registry the token is for.
    pub registry: &'a Registry,
    /// The identity that asks.
    pub identity: &'a Identity,
    /// Bound on everything this session does on the network.
    pub timeout: Duration,
}

/// Credentials resolved for a session, kept to scrub them out of any message.
pub struct Resolved {
    /// The SDK config the clients are built from.
    pub config: SdkConfig,
    /// The resolved credentials.
    pub credentials: Credentials,
}

impl Session<'_> {
    /// Fetches a registry token: ECR `GetAuthorizationToken` with the owner's registry id, or
    /// ECR Public's in us-east-1.
    pub fn fetch_token(&self) -> Result<Token, Error> {
        self.block_on(async {
            let resolved = match self.resolve().await {
                Err(e) if self.registry.public && e.1 => return Err(Error::NotOurs),
                other => other.map_err(|e| e.0)?,
            };
            let started = Instant::now();
            let result = if self.registry.public {
                self.public_token(&resolved).await
            } else {
                self.private_token(&resolved).await
            };
            log::info!(
                "GetAuthorizationToken for {} in {}: {} after {:?}",
                self.registry,
                self.registry.region,
                if result.is_ok() { "ok" } else { "failed" },
                started.elapsed()
            );
            result
        })
    }

    /// Runs `future` on a fresh current-thread runtime, bounded by the session's timeout.
    pub fn block_on<T>(&self, future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::failed("starting the async runtime", e.to_string(), ""))?;
        let result = runtime.block_on(async {
            match tokio::time::timeout(self.timeout, future).await {
                Ok(result) => result,
                Err(_) => Err(self.timed_out()),
            }
        });
        // Do not wait for blocking work left behind (a hung DNS lookup): the bound holds.
        runtime.shutdown_background();
        result
    }

    fn timed_out(&self) -> Error {
        Error::failed(
            format!("getting a token for {}", self.registry),
            format!(
                "no answer from AWS within {} s (identity: {})",
                self.timeout.as_secs_f32(),
                self.identity.describe()
            ),
            format!("check the network or proxy (HTTPS_PROXY) to {}; raise ECR_XACCT_TIMEOUT if the link is slow", self.api_name()),
        )
    }

    /// Loads the SDK config for the identity and resolves its credentials once.
    /// The error's flag says "there are no credentials at all".
    pub async fn resolve(&self) -> Result<Resolved, (Error, bool)> {
        let timeout = self.timeout;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.registry.region.clone()))
            .http_client(http_client().map_err(|e| (e, false))?)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(timeout.min(Duration::from_secs(5)))
                    .operation_attempt_timeout((timeout / 2).max(Duration::from_secs(1)))
                    .operation_timeout(timeout)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(200)),
            );
        if let Some(profile) = &self.identity.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        let provider = match &self.identity.role_arn {
            Some(role) => {
                let mut builder = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name(
                        self.identity
                            .session_name
                            .as_deref()
                            .unwrap_or(DEFAULT_SESSION_NAME),
                    )
                    .configure(&config);
                if let Some(id) = &self.identity.external_id {
                    builder = builder.external_id(id);
                }
                Some(SharedCredentialsProvider::new(builder.build().await))
            }
            None => config.credentials_provider(),
        };
        let Some(provider) = provider else {
            return Err((
                self.no_credentials("no credential provider is configured"),
                true,
            ));
        };
        let started = Instant::now();
        let credentials = provider.provide_credentials().await.map_err(|e| {
            let missing = matches!(e, CredentialsError::CredentialsNotLoaded(_));
            (self.credentials_error(&e), missing)
        })?;
        log::info!(
            "credentials for {} resolved in {:?}",
            self.identity.describe(),
            started.elapsed()
        );
        Ok(Resolved {
            config,
            credentials,
        })
    }

    async fn private_token(&self, r: &Resolved) -> Result<Token, Error> {
        let mut conf = aws_sdk_ecr::config::Builder::from(&r.config)
            .credentials_provider(r.credentials.clone());
        if !explicit_endpoint(&r.config, "ECR") {
            if self.registry.fips {
                conf = conf.use_fips(true);
            }
            if self.registry.dual_stack {
                conf = conf.use_dual_stack(true);
            }
        } else {
            conf = conf.use_fips(false).use_dual_stack(false);
        }
        let client = aws_sdk_ecr::Client::from_conf(conf.build());
        let account = self.registry.account.clone().unwrap_or_default();
        // Deprecated in the API (a token serves every registry the principal may reach), but it
        // still sets proxyEndpoint and keeps the request explicit about the owner.
        #[allow(deprecated)]
        let out = client
            .get_authorization_token()
            .registry_ids(account)
            .send()
            .await
            .map_err(|e| self.api_error("GetAuthorizationToken", &e, r))?;
        let data = out.authorization_data().first();
        let raw = data
            .and_then(|d| d.authorization_token())
            .unwrap_or_default();
        let expires = data.and_then(|d| d.expires_at()).map(|t| t.secs());
        token::decode(raw, expires).map_err(|e| self.bad_answer(e))
    }

    async fn public_token(&self, r: &Resolved) -> Result<Token, Error> {
        let mut conf = aws_sdk_ecrpublic::config::Builder::from(&r.config)
            .credentials_provider(r.credentials.clone());
        if explicit_endpoint(&r.config, "ECR_PUBLIC") {
            conf = conf.use_fips(false).use_dual_stack(false);
        }
        let client = aws_sdk_ecrpublic::Client::from_conf(conf.build());
        let out = client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| self.api_error("ecr-public GetAuthorizationToken", &e, r))?;
        let data = out.authorization_data();
        let raw = data
            .and_then(|d| d.authorization_token())
            .unwrap_or_default();
        let expires = data.and_then(|d| d.expires_at()).map(|t| t.secs());
        token::decode(raw, expires).map_err(|e| self.bad_answer(e))
    }

    fn api_name(&self) -> String {
        let service = if self.registry.public {
            "ECR Public"
        } else {
            "ECR"
        };
        format!("the {service} API in {}", self.registry.region)
    }

    fn bad_answer(&self, e: token::DecodeError) -> Error {
        Error::failed(
            format!("GetAuthorizationToken for {}", self.registry),
            format!("unusable answer from {}: {e}", self.api_name()),
            "if an endpoint override (AWS_ENDPOINT_URL*) is set, check that it points at ECR",
        )
    }

    fn no_credentials(&self, why: &str) -> Error {
        if let Some(e) = self.missing_profile(why) {
            return e;
        }
        Error::failed(
            format!("getting a token for {}", self.registry),
            format!("no AWS credentials for {}: {why}", self.identity.describe()),
            "configure credentials (aws configure, AWS_PROFILE, aws sso login) or add a [[registry]] entry with a profile to the config file",
        )
    }

    /// A profile named by the config entry or `AWS_PROFILE` that the AWS files do not define:
    /// say so, with the files to look at, rather than the SDK's list of providers tried.
    fn missing_profile(&self, detail: &str) -> Option<Error> {
        let profile = self.identity.effective_profile()?;
        if !detail.contains(&format!("profile `{profile}` was not defined")) {
            return None;
        }
        let file = |var: &str, default: &str| match std::env::var_os(var) {
            Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
            _ => dirs::home_dir().unwrap_or_default().join(default),
        };
        let (config, credentials) = (
            file("AWS_CONFIG_FILE", ".aws/config"),
            file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
        );
        let named_by = match (self.identity.entry, crate::config::Config::default_path()) {
            (Some(n), Some(path)) => format!(
                "or fix `profile = \"{profile}\"` in entry #{n} of {}",
                path.display()
            ),
            _ => "or change AWS_PROFILE".to_string(),
        };
        Some(Error::failed(
            format!("getting credentials for {}", self.registry),
            format!(
                "profile \"{profile}\" is not defined in {} nor {} (identity: {})",
                config.display(),
                credentials.display(),
                self.identity.describe()
            ),
            format!("add [profile {profile}] to {} {named_by}", config.display()),
        ))
    }

    fn credentials_error(&self, e: &CredentialsError) -> Error {
        // No resolved credentials to blank here: blank key-shaped words and the keys the
        // environment holds (AssumeRole's SignatureDoesNotMatch echoes the source key).
        let mut chain = scrub_key_ids(&error_chain(e));
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            if let Some(v) = std::env::var(var).ok().filter(|v| v.len() >= 8) {
                chain = chain.replace(&v, "REDACTED");
            }
        }
        if let Some(missing) = self.missing_profile(&chain) {
            return missing;
        }
        let detail = one_line(&chain);
        match e {
            CredentialsError::CredentialsNotLoaded(_) => self.no_credentials(&detail),
            _ => {
                let hint = if self.identity.role_arn.is_some() {
                    "if AssumeRole was denied: the role's trust policy must allow your identity and your IAM policy must allow sts:AssumeRole on it; also check the profile exists and its credentials are current"
                } else {
                    "check that the profile exists in ~/.aws/config and that its credentials are current (aws sso login, credential_process)"
                };
                Error::failed(
                    format!("getting credentials for {}", self.registry),
                    format!("{} failed: {detail}", self.identity.describe()),
                    hint,
                )
            }
        }
    }

    fn api_error<E>(&self, op: &str, e: &SdkError<E, HttpResponse>, r: &Resolved) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let what = format!("{op} for {}", self.registry);
        let who = self.identity.describe();
        let owner = self
            .registry
            .account
            .as_deref()
            .unwrap_or("the registry owner");
        let code = e.code().unwrap_or("");
        let message = scrub(e.message().unwrap_or(""), &r.credentials);
        let why = if code.is_empty() {
            // The causes by their Display only: the Debug dump helps no user.
            let detail = scrub(&error_chain(e), &r.credentials);
            match e {
                SdkError::ServiceError(s) => {
                    format!("HTTP {}: {detail}", s.raw().status().as_u16())
                }
                _ => detail,
            }
        } else if message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {message}")
        };
        let hint: String = match code {
            "AccessDeniedException" | "AccessDenied" => format!(
                "the consumer's IAM policy must allow ecr:GetAuthorizationToken, and owner {owner}'s repository policy must allow your principal to pull; `docker-credential-ecr-xacct policy` prints both"
            ),
            "UnrecognizedClientException" | "InvalidClientTokenId" => {
                "AWS does not know the access key: check the credentials of that profile or environment".into()
            }
            "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => {
                "the session credentials have expired: renew them (e.g. aws sso login, or fresh STS keys)".into()
            }
            "InvalidSignatureException" | "SignatureDoesNotMatch" => {
                "the secret key does not match the access key id, or this machine's clock is off".into()
            }
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" => {
                format!("AWS throttled all {MAX_ATTEMPTS} attempts; try again shortly")
            }
            _ => match e {
                SdkError::TimeoutError(_) => return self.timed_out(),
                SdkError::DispatchFailure(_) => format!(
                    "cannot reach {}: check the network, proxy (HTTPS_PROXY) and any AWS_ENDPOINT_URL* override",
                    self.api_name()
                ),
                SdkError::ServiceError(s) if s.raw().status().is_server_error() => {
                    format!("{} failed on the server side after {MAX_ATTEMPTS} attempts; try again later", self.api_name())
                }
                SdkError::ServiceError(s) if s.raw().status().is_success() => {
                    format!("the answer is not what {} sends: if an endpoint override (AWS_ENDPOINT_URL*) is set, check that it points at ECR", self.api_name())
                }
                _ => "run with ECR_XACCT_LOG=debug for details".into(),
            },
        };
        Error::failed(what, format!("{why} (identity: {who})"), hint)
    }
}

/// Whether the user pointed this service at an explicit endpoint (env or profile); then the
/// FIPS and dual-stack switches must stay off, since the SDK's rules reject the mix.
fn explicit_endpoint(config: &SdkConfig, service_env: &str) -> bool {
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if ignored {
        return false;
    }
    config.endpoint_url().is_some()
        || std::env::var(format!("AWS_ENDPOINT_URL_{service_env}")).is_ok_and(|v| !v.is_empty())
}

/// An HTTPS client on rustls with ring (no second TLS stack), honouring `AWS_CA_BUNDLE`
/// (then only that bundle is trusted, as in the other AWS SDKs) and the proxy variables.
fn http_client() -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, Error> {
    let trust = match std::env::var_os("AWS_CA_BUNDLE").filter(|p| !p.is_empty()) {
        Some(path) => {
            let pem = std::fs::read(&path).map_err(|e| {
                Error::failed(
                    format!("reading AWS_CA_BUNDLE {}", path.to_string_lossy()),
                    e.to_string(),
                    "point AWS_CA_BUNDLE at a PEM file, or unset it",
                )
            })?;
            TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(pem)
        }
        None => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| Error::failed("setting up TLS", e.to_string(), ""))?;
    Ok(
        HttpBuilder::new().build_with_connector_fn(move |settings, components| {
            let builder =
                Connector::builder().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
            // The SDK also builds (and drops) a connector with neither argument to validate each
            // client; skip parsing the trust store for those: that was half a miss's CPU.
            let Some(components) = components else {
                let empty = TlsContext::builder()
                    .with_trust_store(TrustStore::empty().with_native_roots(false))
                    .build()
                    .expect("an empty trust store is valid");
                return builder.tls_context(empty).build();
            };
            let mut builder = builder
                .tls_context(context.clone())
                .proxy_config(ProxyConfig::from_env());
            builder.set_connector_settings(settings.cloned());
            builder.set_sleep_impl(components.sleep_impl());
            builder.build()
        }),
    )
}

/// Cuts a message to one short line and blanks any credential part in it.
pub fn scrub(message: &str, credentials: &Credentials) -> String {
    let mut s = one_line(message);
    let secrets = [
        Some(credentials.access_key_id()),
        Some(credentials.secret_access_key()),
        credentials.session_token(),
    ];
    for secret in secrets.into_iter().flatten().filter(|s| s.len() >= 8) {
        s = s.replace(secret, "REDACTED");
    }
    scrub_key_ids(&s)
}

/// Blanks every word shaped like an access key id (`A`, then upper-case letters and digits,
/// 16 to 128 in all, with a digit), whoever's it is: some AWS messages echo the key that
/// signed, and it may be another than the one resolved (a role's source profile).
fn scrub_key_ids(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let key_like = (16..=128).contains(&word.len())
            && word.starts_with('A')
            && word.bytes().any(|b| b.is_ascii_digit());
        out.push_str(if key_like { "REDACTED" } else { word });
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// An error and its causes, by their `Display` only (never a `Debug` dump), on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    let lines: Vec<&str> = text.split(['\n', '\r']).map(str::trim).collect();
    lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn one_line(message: &str) -> String {
    let line = message.split(['\n', '\r']).next().unwrap_or("").trim();
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// What `sts:GetCallerIdentity` says the session's credentials are, for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account the credentials belong to.
    pub account: String,
    /// The principal's ARN (an `assumed-role` ARN after a role assumption).
    pub arn: String,
}

/// An image named by tag or digest, for the pull probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageId {
    /// A tag, e.g. `1.0`.
    Tag(String),
    /// A digest, e.g. `sha256:…`.
    Digest(String),
}

/// What the pull probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullProbe {
    /// The repository's pull actions are allowed (no image was named).
    Allowed,
    /// Allowed, and the named image exists.
    ImageFound,
    /// Allowed, but the named image is not there: `failureCode: failureReason`.
    ImageMissing(String),
    /// The owner has no such repository (AWS's message).
    RepositoryNotFound(String),
    /// Refused: `code: message` from AWS.
    Denied(String),
}

/// Everything `doctor` asks AWS; a step is `None` when an earlier failure made it pointless.
#[derive(Debug)]
pub struct Checkup {
    /// Resolving the identity's credentials (profile, role assumption).
    pub credentials: Result<(), Error>,
    /// `sts:GetCallerIdentity` with those credentials.
    pub caller: Option<Result<Caller, Error>>,
    /// `GetAuthorizationToken`: only the token's expiry is kept.
    pub token: Option<Result<Option<i64>, Error>>,
    /// The pull probe, when a repository was named (private registries only).
    pub pull: Option<Result<PullProbe, Error>>,
}

/// A digest no layer has: `BatchCheckLayerAvailability` on it checks permission only.
const PROBE_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The manifest types a pull accepts, so that `BatchGetImage` finds any image.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

impl Session<'_> {
    /// `doctor`'s checks, on one runtime with the credentials resolved once; each step is
    /// bounded by the session's timeout. Nothing is cached, and the token is dropped unseen.
    /// `repository` adds the pull probe: `BatchGetImage` for a named image, else
    /// `BatchCheckLayerAvailability` on a digest that cannot exist (no side effects).
    pub fn checkup(&self, repository: Option<(&str, Option<&ImageId>)>) -> Checkup {
        // A backstop only: the steps below are bounded one by one.
        let outer = Session {
            registry: self.registry,
            identity: self.identity,
            timeout: self.timeout * 5,
        };
        let run = outer.block_on(async {
            let resolved = self.bounded("resolving credentials", async {
                self.resolve().await.map_err(|e| e.0)
            });
            let resolved = match resolved.await {
                Ok(r) => r,
                Err(e) => return Ok((Err(e), None, None, None)),
            };
            let r = &resolved;
            let caller = self
                .bounded("sts:GetCallerIdentity", self.caller_identity(r))
                .await;
            let token = self
                .bounded("GetAuthorizationToken", async {
                    let token = if self.registry.public {
                        self.public_token(r).await
                    } else {
                        self.private_token(r).await
                    };
                    token.map(|t| t.expires_at)
                })
                .await;
            let pull = match repository {
                Some((name, image)) if !self.registry.public => Some(
                    self.bounded("the pull probe", self.probe_pull(r, name, image))
                        .await,
                ),
                _ => None,
            };
            Ok((Ok(()), Some(caller), Some(token), pull))
        });
        match run {
            Ok((credentials, caller, token, pull)) => Checkup {
                credentials,
                caller,
                token,
                pull,
            },
            Err(e) => Checkup {
                credentials: Err(e),
                caller: None,
                token: None,
                pull: None,
            },
        }
    }

    async fn bounded<T>(
        &self,
        what: &str,
        future: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, future).await {
            Ok(result) => result,
            Err(_) => Err(Error::failed(
                format!("{what} for {}", self.registry),
                format!(
                    "no answer from AWS within {} s (identity: {})",
                    self.timeout.as_secs_f32(),
                    self.identity.describe()
                ),
                "check the network or proxy (HTTPS_PROXY); raise ECR_XACCT_TIMEOUT if the link is slow",
            )),
        }
    }

    async fn caller_identity(&self, r: &Resolved) -> Result<Caller, Error> {
        let conf = aws_sdk_sts::config::Builder::from(&r.config)
            .credentials_provider(r.credentials.clone())
            .build();
        let out = aws_sdk_sts::Client::from_conf(conf)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.api_error("sts:GetCallerIdentity", &e, r))?;
        Ok(Caller {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }

    fn probe_client(&self, r: &Resolved) -> aws_sdk_ecr::Client {
        let mut conf = aws_sdk_ecr::config::Builder::from(&r.config)
            .credentials_provider(r.credentials.clone());
        if explicit_endpoint(&r.config, "ECR") {
            conf = conf.use_fips(false).use_dual_stack(false);
        } else {
            conf = conf
                .use_fips(self.registry.fips)
                .use_dual_stack(self.registry.dual_stack);
        }
        aws_sdk_ecr::Client::from_conf(conf.build())
    }

    async fn probe_pull(
        &self,
        r: &Resolved,
        repository: &str,
        image: Option<&ImageId>,
    ) -> Result<PullProbe, Error> {
        let client = self.probe_client(r);
        let owner = self.registry.account.clone().unwrap_or_default();
        let Some(image) = image else {
            return match client
                .batch_check_layer_availability()
                .registry_id(&owner)
                .repository_name(repository)
                .layer_digests(PROBE_DIGEST)
                .send()
                .await
            {
                Ok(_) => Ok(PullProbe::Allowed),
                Err(e) => self.probe_error("BatchCheckLayerAvailability", &e, r),
            };
        };
        let id = match image {
            ImageId::Tag(t) => aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(t),
            ImageId::Digest(d) => aws_sdk_ecr::types::ImageIdentifier::builder().image_digest(d),
        };
        let mut request = client
            .batch_get_image()
            .registry_id(&owner)
            .repository_name(repository)
            .image_ids(id.build());
        for t in MANIFEST_TYPES {
            request = request.accepted_media_types(*t);
        }
        match request.send().await {
            Ok(out) if !out.images().is_empty() => Ok(PullProbe::ImageFound),
            Ok(out) => {
                let why = out.failures().first().map_or_else(
                    || "no image in the answer".to_string(),
                    |f| {
                        let code = f.failure_code().map_or("", |c| c.as_str());
                        let reason = f.failure_reason().unwrap_or("");
                        scrub(&format!("{code}: {reason}"), &r.credentials)
                    },
                );
                Ok(PullProbe::ImageMissing(why))
            }
            Err(e) => self.probe_error("BatchGetImage", &e, r),
        }
    }

    /// Sorts a probe's error: denied and missing repository are answers, the rest failures.
    fn probe_error<E>(
        &self,
        op: &str,
        e: &SdkError<E, HttpResponse>,
        r: &Resolved,
    ) -> Result<PullProbe, Error>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = scrub(e.message().unwrap_or(""), &r.credentials);
        match e.code() {
            Some(code @ ("AccessDeniedException" | "AccessDenied")) => {
                Ok(PullProbe::Denied(format!("{code}: {message}")))
            }
            Some("RepositoryNotFoundException") => Ok(PullProbe::RepositoryNotFound(message)),
            _ => Err(self.api_error(op, e, r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_blanks_keys_and_cuts() {
        let c = Credentials::new(
            "AKIAEXAMPLEKEY123",
            "sekretsekretsekret",
            Some("sessiontoken123".into()),
            None,
            "t",
        );
        let s = scrub(
            "bad AKIAEXAMPLEKEY123 sekretsekretsekret x-amz-security-token:sessiontoken123\nsecond line",
            &c,
        );
        assert_eq!(s, "bad REDACTED REDACTED x-amz-security-token:REDACTED");
        // Key-shaped words are blanked whoever's they are; other words are kept.
        assert_eq!(
            scrub("Credential=AKIAIOSFODNN7EXAMPLE/2026 ASIAOTHER0000000001, AccessDeniedException 123456789012 AROA1", &c),
            "Credential=REDACTED/2026 REDACTED, AccessDeniedException 123456789012 AROA1"
        );
        assert_eq!(one_line(&"x".repeat(400)).chars().count(), 301);
    }
}

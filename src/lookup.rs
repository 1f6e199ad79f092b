//! The core every front end shares: server URL -> registry -> identity -> cache or AWS ->
//! credentials. The hit path reads one small file and touches nothing of the SDK.

use crate::aws::Session;
use crate::cache::{self, Cache, Entry};
use crate::config::Config;
use crate::diag;
use crate::error::Error;
use crate::identity::Identity;
use crate::registry::{self, Registry};
use crate::secret::Secret;
use std::collections::BTreeSet;
use std::time::Duration;

/// Environment variable bounding a miss, in seconds.
pub const TIMEOUT_ENV: &str = "ECR_XACCT_TIMEOUT";
/// Default bound on a miss: well under Docker's patience.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Registry credentials, ready to hand to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The registry the credentials are for.
    pub registry: Registry,
    /// User name (`AWS`).
    pub username: String,
    /// Password.
    pub password: Secret<String>,
    /// Expiry (Unix seconds), when known and in the future.
    pub expires_at: Option<i64>,
    /// Until when a caller may keep them: the cache's refresh point (Unix seconds). `None` for
    /// a token that must not be kept (no future expiry, or stale and served only because the
    /// refresh failed).
    pub keep_until: Option<i64>,
}

/// Credentials for what a client sent, with the environment's config and cache. A broken
/// config file fails ECR hosts only: other registries get [`Error::NotOurs`] (and a warning),
/// so that pulls from them go on.
pub fn credentials(server_url: &str) -> Result<Credentials, Error> {
    match Context::from_env() {
        Ok(ctx) => ctx.credentials(server_url),
        Err(e) if Registry::parse(server_url).is_none() => {
            diag::warn(&e);
            Err(Error::NotOurs)
        }
        Err(e) => Err(e),
    }
}

/// Everything a lookup needs from the environment, read once.
#[derive(Debug, Clone)]
pub struct Context {
    /// The config file.
    pub config: Config,
    /// The cache, unless turned off.
    pub cache: Option<Cache>,
    /// Bound on network work.
    pub timeout: Duration,
}

impl Context {
    /// Reads config, cache location and timeout from the environment.
    pub fn from_env() -> Result<Context, Error> {
        let config = Config::load_default()?;
        let timeout = timeout(&config)?;
        Ok(Context {
            config,
            cache: Cache::from_env(),
            timeout,
        })
    }

    /// The registry a server URL names, if it is ours (an ECR host or a configured custom host).
    pub fn registry(&self, server_url: &str) -> Option<Registry> {
        self.config.registry_for(server_url)
    }

    /// Credentials for `server_url`: from the cache when fresh, else from AWS.
    pub fn credentials(&self, server_url: &str) -> Result<Credentials, Error> {
        let registry = self.registry(server_url).ok_or(Error::NotOurs)?;
        let identity = Identity::select(&self.config, &registry);
        let key = identity.fingerprint(&registry);
        log::debug!(
            "{registry}: scope {}, identity {}, key {key}",
            registry.scope(),
            identity.describe()
        );
        let now = cache::now();
        if let Some(cache) = &self.cache {
            match cache.read(&key) {
                Some(entry) if entry.is_fresh(now) => {
                    log::debug!("cache hit ({}s until refresh)", entry.refresh_at() - now);
                    remember_host(cache, &key, &entry, &registry);
                    return Ok(answer(registry, entry, true));
                }
                Some(_) => log::debug!("cache entry due for refresh"),
                None => log::debug!("cache miss"),
            }
        }
        self.fetch(registry, &identity, &key)
    }

    /// The miss path: one fetch per key at a time across processes.
    fn fetch(
        &self,
        registry: Registry,
        identity: &Identity,
        key: &str,
    ) -> Result<Credentials, Error> {
        let cache = self.cache.as_ref();
        // The bound is for the whole miss: waiting for another helper's fetch comes out of it.
        let started = std::time::Instant::now();
        let _lock = cache.and_then(|c| c.lock(key, self.timeout));
        let now = cache::now();
        let cached = cache.and_then(|c| c.read(key));
        if let Some(entry) = &cached {
            if entry.is_fresh(now) {
                log::debug!("another process filled the cache while we waited");
                return Ok(answer(registry, entry.clone(), true));
            }
        }
        // The other helper failed (else this would be a hit): try once more with what is
        // left of the bound, in whole seconds, at least one.
        let waited = started.elapsed();
        let timeout = match self.timeout.checked_sub(waited) {
            _ if waited < Duration::from_secs(1) => self.timeout,
            Some(left) => Duration::from_secs(left.as_secs().max(1)),
            None => Duration::from_secs(1),
        };
        let session = Session {
            registry: &registry,
            identity,
            timeout,
        };
        let token = match session.fetch_token().map_err(|e| waited_first(e, waited)) {
            Ok(token) => token,
            Err(Error::Failed(failure)) => {
                return match cached.filter(|e| e.is_usable(now)) {
                    Some(entry) => {
                        diag::warn(format_args!(
                            "{}; serving the cached token, valid for {} more minutes",
                            Error::Failed(failure),
                            (entry.expires_at - now) / 60
                        ));
                        Ok(answer(registry, entry, false))
                    }
                    None => Err(Error::Failed(failure)),
                };
            }
            Err(e) => return Err(e),
        };
        let entry = Entry {
            version: cache::FORMAT_VERSION,
            username: token.username,
            password: token.password,
            expires_at: token.expires_at.unwrap_or(0),
            fetched_at: now,
            scope: registry.scope(),
            hosts: vec![registry.host.clone()],
        };
        match token.expires_at {
            Some(t) if t > now => {}
            Some(t) => diag::warn(format_args!(
                "the token for {registry} expires at {t} (Unix time), which is already past: this machine's clock is off or AWS is a stand-in; using it once, not caching it"
            )),
            None => diag::warn(format_args!("the token for {registry} came without an expiry; using it once, not caching it")),
        }
        if let Some(cache) = cache {
            if entry.is_fresh(now) {
                match cache.write(key, &entry) {
                    Ok(()) => cache.prune(now),
                    Err(e) => diag::warn(format_args!(
                        "cannot write the cache in {}: {e}; working without it",
                        cache.dir().display()
                    )),
                }
            }
        }
        let keep = entry.is_fresh(now);
        let mut creds = answer(registry, entry, keep);
        creds.expires_at = creds.expires_at.filter(|t| *t > now);
        Ok(creds)
    }

    /// Drops cached tokens for a registry (all identities that were used for it).
    pub fn erase(&self, server_url: &str) -> Result<(), Error> {
        let (Some(cache), Some(host)) = (&self.cache, registry::host_of(server_url)) else {
            return Ok(());
        };
        let mut keys: BTreeSet<String> = cache
            .entries()
            .into_iter()
            .filter(|(_, e)| e.hosts.contains(&host))
            .map(|(k, _)| k)
            .collect();
        if let Some(registry) = self.registry(server_url) {
            keys.insert(Identity::select(&self.config, &registry).fingerprint(&registry));
        }
        for key in keys {
            cache.remove(&key).map_err(|e| {
                Error::failed(
                    format!("erasing the cached token for {host}"),
                    e.to_string(),
                    format!("check the permissions of {}", cache.dir().display()),
                )
            })?;
        }
        Ok(())
    }
}

fn answer(registry: Registry, entry: Entry, keep: bool) -> Credentials {
    Credentials {
        registry,
        keep_until: keep.then(|| entry.refresh_at()),
        username: entry.username,
        password: entry.password,
        expires_at: Some(entry.expires_at),
    }
}

/// Notes a new host on a shared token, for `list` and `erase`; skipped if another process
/// holds the lock (only bookkeeping is lost).
fn remember_host(cache: &Cache, key: &str, entry: &Entry, registry: &Registry) {
    if entry.hosts.contains(&registry.host) {
        return;
    }
    if let Some(_lock) = cache.try_lock(key) {
        if let Some(mut current) = cache.read(key) {
            if !current.hosts.contains(&registry.host) {
                current.hosts.push(registry.host.clone());
                let _ = cache.write(key, &current);
            }
        }
    }
}

fn timeout(config: &Config) -> Result<Duration, Error> {
    match std::env::var(TIMEOUT_ENV) {
        Ok(v) if !v.is_empty() => match v.parse::<f64>() {
            Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Duration::from_secs_f64(secs)),
            _ => Err(Error::failed(
                format!("{TIMEOUT_ENV}={v:?}"),
                "not a number of seconds between 0 and 3600",
                format!(
                    "unset it to use the default of {} s",
                    DEFAULT_TIMEOUT.as_secs()
                ),
            )),
        },
        _ => Ok(config
            .timeout_seconds
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs)),
    }
}

/// Says in a failure that part of the bound went to waiting for another helper's fetch.
fn waited_first(e: Error, waited: Duration) -> Error {
    match e {
        Error::Failed(mut f) if waited >= Duration::from_secs(1) => {
            f.why = format!(
                "{}, after {} s waiting for another helper's attempt",
                f.why,
                waited.as_secs()
            );
            Error::Failed(f)
        }
        e => e,
    }
}

//! `doctor`: walks a cross-account setup step by step for one registry host or image
//! reference (registry, config entry, identity, token, cache, pull permission) and prints a
//! pass/fail line for each, with the missing policies when a pull is denied. A human command:
//! everything goes to stdout, never a token. Bounded by the session timeout per AWS step.

use crate::aws::{Caller, Checkup, ImageId, PullProbe, Session};
use crate::cache::{self, Cache};
use crate::config::Config;
use crate::error::Error;
use crate::identity::Identity;
use crate::lookup::Context;
use crate::policy;
use crate::registry::{self, Registry};
use std::io::Write;

/// What the user named: a registry host, optionally a repository and a tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry part, as given (`host` or `host:port`), without a scheme.
    pub host: String,
    /// The repository, e.g. `app/web`.
    pub repository: Option<String>,
    /// The tag or digest, when given.
    pub image: Option<ImageId>,
}

/// Parses `host`, `host/repo`, `host/repo:tag` or `host/repo@sha256:…` (a scheme is dropped).
pub fn parse_reference(input: &str) -> Result<Reference, String> {
    let s = input.trim();
    let lower = s.to_ascii_lowercase();
    let s = ["https://", "http://"]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map_or(s, |p| &s[p.len()..]);
    let (host, path) = s.split_once('/').unwrap_or((s, ""));
    if host.is_empty() {
        return Err(format!("{input:?} names no registry host"));
    }
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Ok(Reference {
            host: host.to_string(),
            repository: None,
            image: None,
        });
    }
    let (name, image) = match path.split_once('@') {
        Some((name, digest)) => {
            let ok = digest
                .split_once(':')
                .is_some_and(|(a, h)| !a.is_empty() && !h.is_empty());
            if !ok {
                return Err(format!("{digest:?} is not a digest (sha256:…)"));
            }
            (name, Some(ImageId::Digest(digest.to_string())))
        }
        None => {
            let last = path.rsplit('/').next().unwrap_or(path);
            match last.split_once(':') {
                Some((_, tag)) => {
                    if !is_tag(tag) {
                        return Err(format!("{tag:?} is not an image tag"));
                    }
                    let name = &path[..path.len() - tag.len() - 1];
                    (name, Some(ImageId::Tag(tag.to_string())))
                }
                None => (path, None),
            }
        }
    };
    if !policy::is_repository_name(name) {
        return Err(format!(
            "{name:?} is not an ECR repository name (lower-case letters, digits, . _ - and /)"
        ));
    }
    Ok(Reference {
        host: host.to_string(),
        repository: Some(name.to_string()),
        image,
    })
}

/// An image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

/// The pass/fail lines, written as they come.
struct Report<'a> {
    out: &'a mut dyn Write,
    failed: usize,
}

impl Report<'_> {
    fn line(&mut self, mark: &str, text: &str) {
        let _ = writeln!(self.out, "{mark} {text}");
    }
    fn ok(&mut self, text: &str) {
        self.line("[ok]  ", text);
    }
    fn fail(&mut self, text: &str) {
        self.failed += 1;
        self.line("[FAIL]", text);
    }
    fn skip(&mut self, text: &str) {
        self.line("[--]  ", text);
    }
    /// Text under a line, indented to its text.
    fn detail(&mut self, text: &str) {
        for l in text.lines() {
            let _ = writeln!(self.out, "       {l}");
        }
    }
    fn failure(&mut self, what: &str, e: &Error) {
        match e {
            Error::Failed(f) => {
                self.fail(&format!("{what}: {}", one_line(&f.why)));
                if !f.hint.is_empty() {
                    self.detail(&format!("hint: {}", f.hint));
                }
            }
            other => self.fail(&format!("{what}: {other}")),
        }
    }
    fn finish(self) -> i32 {
        let summary = match self.failed {
            0 => "all checks passed".to_string(),
            1 => "1 check failed".to_string(),
            n => format!("{n} checks failed"),
        };
        let _ = writeln!(self.out, "{summary}").and_then(|()| self.out.flush());
        i32::from(self.failed > 0)
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Runs `doctor` for `reference`, writing to `out`; 0 when every check passed, else 1.
pub fn run(reference: &str, out: &mut dyn Write) -> i32 {
    let _ = writeln!(out, "ecr-xacct doctor {}", reference.trim());
    let mut r = Report { out, failed: 0 };
    let parsed = match parse_reference(reference) {
        Ok(p) => p,
        Err(why) => {
            r.fail(&format!("reference: {why}"));
            return r.finish();
        }
    };
    let ctx = Context::from_env();
    let registry = match &ctx {
        Ok(ctx) => ctx.registry(&parsed.host),
        Err(_) => Registry::parse(&parsed.host),
    };
    let Some(registry) = registry else {
        r.fail(&format!(
            "registry: {} is not an ECR registry host (nor a custom host in the config file)",
            parsed.host
        ));
        r.detail("hint: use <account>.dkr.ecr.<region>.amazonaws.com[/repository[:tag]], public.ecr.aws, or add a [[registry]] entry with match, account and region for a custom host");
        return r.finish();
    };
    r.ok(&describe_registry(&registry));
    let ctx = match ctx {
        Ok(ctx) => ctx,
        Err(Error::Failed(f)) => {
            // Name the file: the failure's "what" is "config file <path>".
            r.failure(&format!("config: {}", f.what), &Error::Failed(f.clone()));
            return r.finish();
        }
        Err(e) => {
            r.failure("config", &e);
            return r.finish();
        }
    };
    let identity = Identity::select(&ctx.config, &registry);
    r.ok(&describe_config(&ctx.config, &identity));
    let cache_state = cache_state(&ctx, &registry, &identity, cache::now());
    let session = Session {
        registry: &registry,
        identity: &identity,
        timeout: ctx.timeout,
    };
    let probe = parsed
        .repository
        .as_deref()
        .map(|name| (name, parsed.image.as_ref()));
    let checkup = session.checkup(probe);
    report_aws(&mut r, &checkup, &registry, &identity, &parsed, cache_state);
    r.finish()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn describe_registry(reg: &Registry) -> String {
    let custom = if Registry::from_host(&reg.host).is_none() {
        " (a custom host from the config file)"
    } else {
        ""
    };
    format!(
        "registry: {}{custom}: owner {}, region {}, partition domain {}, fips {}, dual-stack {}, public {}",
        reg.host,
        reg.account.as_deref().unwrap_or("none (ECR Public)"),
        reg.region,
        reg.domain,
        yes_no(reg.fips),
        yes_no(reg.dual_stack),
        yes_no(reg.public)
    )
}

fn describe_config(config: &Config, identity: &Identity) -> String {
    let path = config.path.display();
    let absent = if config.path.as_os_str().is_empty() || !config.path.exists() {
        " (absent)"
    } else {
        ""
    };
    match (identity.entry, &identity.pattern) {
        (Some(n), Some(p)) => format!("config: {path}: entry #{n} matches (match = \"{p}\")"),
        _ => format!(
            "config: {path}{absent}: no entry matches; the default credential chain answers"
        ),
    }
}

/// The cache entry for this registry and identity, as found before any AWS call.
enum CacheState {
    Off,
    Absent(String),
    Fresh { expires: i64, refresh: i64 },
    Due { expires: i64, refresh: i64 },
    Expired(i64),
}

fn cache_state(ctx: &Context, reg: &Registry, identity: &Identity, now: i64) -> CacheState {
    let Some(cache) = &ctx.cache else {
        return CacheState::Off;
    };
    match cache.read(&identity.fingerprint(reg)) {
        None => CacheState::Absent(dir_of(cache)),
        Some(e) if !e.is_valid(now) => CacheState::Expired(e.expires_at),
        Some(e) if e.is_fresh(now) => CacheState::Fresh {
            expires: e.expires_at,
            refresh: e.refresh_at(),
        },
        Some(e) => CacheState::Due {
            expires: e.expires_at,
            refresh: e.refresh_at(),
        },
    }
}

fn dir_of(cache: &Cache) -> String {
    cache.dir().display().to_string()
}

fn report_aws(
    r: &mut Report,
    c: &Checkup,
    reg: &Registry,
    identity: &Identity,
    parsed: &Reference,
    cache_state: CacheState,
) {
    let who = identity.describe();
    let caller = match (&c.credentials, &c.caller) {
        (Err(e), _) => {
            r.failure(&format!("identity: {who}"), e);
            None
        }
        (Ok(()), Some(Ok(caller))) => {
            let same = if reg.account.as_deref() == Some(caller.account.as_str()) {
                ", the owner's own account"
            } else {
                ""
            };
            r.ok(&format!(
                "identity: {} (account {}{same}) via {who}",
                caller.arn, caller.account
            ));
            Some(caller)
        }
        (Ok(()), Some(Err(e))) => {
            r.failure("identity: sts:GetCallerIdentity", e);
            None
        }
        (Ok(()), None) => None,
    };
    match &c.token {
        Some(Ok(expiry)) => {
            let until = expiry.map_or("without an expiry".to_string(), |t| {
                format!("valid until {}", utc(t))
            });
            r.ok(&format!(
                "GetAuthorizationToken: a token was issued, {until} (not shown, not cached)"
            ));
        }
        Some(Err(e)) => {
            r.failure("GetAuthorizationToken", e);
            if is_access_denied(e) && !reg.public {
                r.detail("ecr:GetAuthorizationToken is granted by the consumer's own IAM policy:");
                consumer_side(r, caller, reg, parsed, None);
            }
        }
        None => r.skip("GetAuthorizationToken: skipped (no credentials)"),
    }
    match cache_state {
        CacheState::Off => r.skip("cache: turned off (ECR_XACCT_NO_CACHE or AWS_ECR_DISABLE_CACHE)"),
        CacheState::Absent(dir) => r.skip(&format!(
            "cache: no token cached for this identity in {dir}; the next get fetches one"
        )),
        CacheState::Fresh { expires, refresh } => r.ok(&format!(
            "cache: fresh token, valid until {}, refreshed from {}",
            utc(expires),
            utc(refresh)
        )),
        CacheState::Due { expires, refresh } => r.skip(&format!(
            "cache: token due for refresh since {} (valid until {}); the next get fetches a new one",
            utc(refresh),
            utc(expires)
        )),
        CacheState::Expired(expires) => r.skip(&format!(
            "cache: the cached token expired at {}; the next get fetches a new one",
            utc(expires)
        )),
    }
    report_pull(r, c, reg, parsed, caller);
}

fn report_pull(
    r: &mut Report,
    c: &Checkup,
    reg: &Registry,
    parsed: &Reference,
    caller: Option<&Caller>,
) {
    let Some(repo) = parsed.repository.as_deref() else {
        r.skip(&format!(
            "pull: skipped (name a repository to probe it, e.g. {}/app/web:1.0)",
            parsed.host
        ));
        return;
    };
    if reg.public {
        r.skip("pull: skipped (ECR Public repositories are public)");
        return;
    }
    let owner = reg.account.as_deref().unwrap_or_default();
    let image = match &parsed.image {
        Some(ImageId::Tag(t)) => format!("{repo}:{t}"),
        Some(ImageId::Digest(d)) => format!("{repo}@{d}"),
        None => repo.to_string(),
    };
    match &c.pull {
        None => r.skip("pull: skipped (no credentials)"),
        Some(Ok(PullProbe::Allowed)) => r.ok(&format!(
            "pull: allowed on repository {repo} of {owner} (no tag given: the image itself was not checked)"
        )),
        Some(Ok(PullProbe::ImageFound)) => {
            r.ok(&format!("pull: allowed; {image} exists in {owner}"))
        }
        Some(Ok(PullProbe::ImageMissing(why))) => {
            r.fail(&format!(
                "pull: allowed, but {image} is not in {owner}: {why}"
            ));
            r.detail("hint: check the tag or digest (aws ecr list-images)");
        }
        Some(Ok(PullProbe::RepositoryNotFound(why))) => {
            r.fail(&format!(
                "pull: repository {repo} not found in {owner} ({}): {why}",
                reg.region
            ));
            r.detail("hint: check the repository name, and that the host names the owner account and region that hold it");
        }
        Some(Ok(PullProbe::Denied(why))) => {
            r.fail(&format!("pull: {why}"));
            r.detail(blame(why, caller, owner));
            owner_side(r, caller, reg, repo);
            consumer_side(r, caller, reg, parsed, Some(repo));
        }
        Some(Err(e)) => r.failure("pull", e),
    }
}

fn is_access_denied(e: &Error) -> bool {
    matches!(e, Error::Failed(f) if f.why.starts_with("AccessDenied"))
}

/// Which side AWS's message says is missing.
fn blame(why: &str, caller: Option<&Caller>, owner: &str) -> &'static str {
    let lower = why.to_ascii_lowercase();
    if caller.is_some_and(|c| c.account == owner) {
        "owner and consumer are the same account: either statement below is enough"
    } else if lower.contains("explicit deny") {
        "an explicit Deny applies (a service control policy, permissions boundary, session policy or one of the policies): the statements below cannot override it"
    } else if lower.contains("no resource-based policy") {
        "AWS says the owner's repository policy does not allow you: apply the owner's side below"
    } else if lower.contains("no identity-based policy") {
        "AWS says your IAM policy does not allow it: apply the consumer's side below"
    } else {
        "a cross-account pull needs both statements below"
    }
}

/// The consumer's principal for policies: the caller's ARN, an assumed role as its role.
fn consumer_principal(
    caller: Option<&Caller>,
    reg: &Registry,
) -> Option<(String, policy::Principal)> {
    let caller = caller?;
    let principal = policy::parse_principal(&caller.arn)
        .or_else(|_| policy::parse_principal(&caller.account))
        .ok()?;
    let partition = registry::partition_of_region(&reg.region).name;
    Some((principal.arn(partition), principal))
}

fn owner_side(r: &mut Report, caller: Option<&Caller>, reg: &Registry, repo: &str) {
    let owner = reg.account.as_deref().unwrap_or_default();
    let Some((arn, _)) = consumer_principal(caller, reg) else {
        r.detail("owner's side: run `docker-credential-ecr-xacct policy --consumer <your ARN>` (your ARN is unknown here)");
        return;
    };
    r.detail(&format!(
        "owner's side: a statement in repository {repo}'s policy in account {owner} (merge it into any existing policy; set-repository-policy replaces it):"
    ));
    r.detail(&format!(
        "  aws ecr set-repository-policy --registry-id {owner} --region {} --repository-name {repo} --policy-text file://owner-policy.json",
        reg.region
    ));
    r.detail(&policy::render(&policy::owner_policy(&arn, false)));
}

fn consumer_side(
    r: &mut Report,
    caller: Option<&Caller>,
    reg: &Registry,
    parsed: &Reference,
    repo: Option<&str>,
) {
    let owner = reg.account.as_deref().unwrap_or_default();
    let partition = registry::partition_of_region(&reg.region).name;
    let repo = repo.or(parsed.repository.as_deref());
    let doc = policy::consumer_policy(partition, owner, Some(&reg.region), repo, false);
    let Some((arn, principal)) = consumer_principal(caller, reg) else {
        r.detail("consumer's side: an IAM policy on your principal:");
        r.detail(&policy::render(&doc));
        return;
    };
    r.detail(&format!("consumer's side: an IAM policy on {arn}:"));
    let name = principal.resource.rsplit('/').next().unwrap_or_default();
    if principal.resource.starts_with("role/") {
        r.detail(&format!("  aws iam put-role-policy --role-name {name} --policy-name ecr-xacct-pull --policy-document file://consumer-policy.json"));
    } else if principal.resource.starts_with("user/") {
        r.detail(&format!("  aws iam put-user-policy --user-name {name} --policy-name ecr-xacct-pull --policy-document file://consumer-policy.json"));
    }
    r.detail(&policy::render(&doc));
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn reference(host: &str, repo: Option<&str>, image: Option<ImageId>) -> Reference {
        Reference {
            host: host.into(),
            repository: repo.map(str::to_string),
            image,
        }
    }

    #[test]
    fn references() {
        let tag = |t: &str| Some(ImageId::Tag(t.into()));
        let cases = [
            (HOST.to_string(), reference(HOST, None, None)),
            (format!("https://{HOST}/"), reference(HOST, None, None)),
            (
                format!("{HOST}/app/web"),
                reference(HOST, Some("app/web"), None),
            ),
            (
                format!("{HOST}/app/web:1.0"),
                reference(HOST, Some("app/web"), tag("1.0")),
            ),
            (
                format!("{HOST}:443/app:latest"),
                reference(&format!("{HOST}:443"), Some("app"), tag("latest")),
            ),
            (
                format!("{HOST}/app/web@sha256:abc"),
                reference(
                    HOST,
                    Some("app/web"),
                    Some(ImageId::Digest("sha256:abc".into())),
                ),
            ),
            (
                "images.example.com/team/app:v2".to_string(),
                reference("images.example.com", Some("team/app"), tag("v2")),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_reference(&input), Ok(want), "{input}");
        }
        for bad in [
            String::new(),
            "/app".into(),
            format!("{HOST}/App"),
            format!("{HOST}/app:"),
            format!("{HOST}/app:-x"),
            format!("{HOST}/app@nodigest"),
            format!("{HOST}/a"),
        ] {
            assert!(parse_reference(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(utc(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn blame_names_the_side() {
        let other = Caller {
            account: "210987654321".into(),
            arn: "arn:aws:iam::210987654321:user/ci".into(),
        };
        let owner = "123456789012";
        let c = Some(&other);
        assert!(blame("AccessDeniedException: ... because no resource-based policy allows the ecr:BatchGetImage action", c, owner).contains("owner's repository policy"));
        assert!(blame("AccessDeniedException: ... because no identity-based policy allows the ecr:BatchGetImage action", c, owner).contains("your IAM policy"));
        assert!(blame(
            "AccessDeniedException: ... with an explicit deny in a service control policy",
            c,
            owner
        )
        .contains("explicit Deny"));
        assert!(blame("AccessDeniedException: denied", c, owner).contains("both"));
        let same = Caller {
            account: owner.into(),
            ..other.clone()
        };
        assert!(blame("AccessDeniedException: x", Some(&same), owner).contains("same account"));
    }

    #[test]
    fn report_marks_and_exit_code() {
        let mut out = Vec::new();
        let mut r = Report {
            out: &mut out,
            failed: 0,
        };
        r.ok("a");
        r.skip("b");
        assert_eq!(r.finish(), 0);
        let mut out2 = Vec::new();
        let mut r = Report {
            out: &mut out2,
            failed: 0,
        };
        r.failure(
            "c",
            &Error::failed("w", "AccessDenied: no\nmore", "allow it"),
        );
        assert_eq!(r.finish(), 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[ok]   a\n[--]   b\nall checks passed\n"
        );
        assert_eq!(
            String::from_utf8(out2).unwrap(),
            "[FAIL] c: AccessDenied: no more\n       hint: allow it\n1 check failed\n"
        );
    }
}

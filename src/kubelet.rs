//! `kubelet`: the Kubernetes kubelet's image credential provider protocol. A
//! CredentialProviderRequest comes in on stdin, a CredentialProviderResponse goes out on
//! stdout, with the same identities and cache as Docker's `get`. The kubelet decodes the
//! answer strictly, so it holds exactly the documented fields.

use crate::cache;
use crate::error::Error;
use crate::lookup::{self, Credentials};
use crate::protocol::read_bounded;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The request and answer versions we speak; their schemas are the same for what we use,
/// and the answer carries the request's version.
pub const API_VERSIONS: &[&str] = &[
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
];

/// The request's `kind`.
pub const REQUEST_KIND: &str = "CredentialProviderRequest";

/// What the kubelet sends. Unknown fields are ignored: the kubelet may add some.
#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    kind: String,
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    image: String,
    /// Sent only when the provider config sets `tokenAttributes`; never used nor shown.
    #[serde(rename = "serviceAccountToken", default)]
    service_account_token: Option<Secret<String>>,
}

/// The answer, field names and order as in the v1 schema.
#[derive(Serialize)]
struct Response<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    #[serde(rename = "cacheKeyType")]
    cache_key_type: &'static str,
    #[serde(rename = "cacheDuration")]
    cache_duration: String,
    #[serde(
        rename = "serviceAccountTokenCacheType",
        skip_serializing_if = "Option::is_none"
    )]
    service_account_token_cache_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<BTreeMap<&'a str, Auth<'a>>>,
}

#[derive(Serialize)]
struct Auth<'a> {
    username: &'a str,
    password: &'a str,
}

/// Credentials found for a request, with how long the kubelet may keep them (seconds).
pub struct Found {
    /// The credentials.
    pub credentials: Credentials,
    /// Seconds the kubelet may cache them; 0 means "do not cache".
    pub cache_seconds: u64,
}

/// Runs the provider: request on `input`, answer on `out`, a failure's reason on `err`
/// (then nothing on `out`). Returns the exit code.
pub fn run(input: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let result = read(input).and_then(|text| answer(&text, lookup));
    match result {
        Ok(text) => match writeln!(out, "{text}").and_then(|()| out.flush()) {
            Ok(()) => 0,
            Err(_) => 1,
        },
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

fn read(input: &mut dyn Read) -> Result<String, Error> {
    String::from_utf8(read_bounded(input, "kubelet: ")?)
        .map_err(|_| Error::Input("ecr-xacct: kubelet: input is not UTF-8".into()))
}

/// The answer to one request. `lookup` maps the image's registry part (`host[:port]`) to
/// credentials; [`Error::NotOurs`] becomes an answer without `auth`.
pub fn answer(
    text: &str,
    lookup: impl FnOnce(&str) -> Result<Found, Error>,
) -> Result<String, Error> {
    let request: Request = serde_json::from_str(text).map_err(|e| {
        Error::Input(format!(
            "ecr-xacct: kubelet: input is not a CredentialProviderRequest ({e})"
        ))
    })?;
    let Some(api_version) = API_VERSIONS.iter().find(|v| **v == request.api_version) else {
        return Err(Error::Input(format!(
            "ecr-xacct: kubelet: unsupported apiVersion {:?} (supported: {}); set apiVersion: {} in the CredentialProviderConfig",
            request.api_version,
            API_VERSIONS.join(", "),
            API_VERSIONS[0]
        )));
    };
    if request.kind != REQUEST_KIND {
        return Err(Error::Input(format!(
            "ecr-xacct: kubelet: kind {:?} is not {REQUEST_KIND}",
            request.kind
        )));
    }
    let image = request.image.trim();
    if image.is_empty() {
        return Err(Error::Input(
            "ecr-xacct: kubelet: the request names no image".into(),
        ));
    }
    // The kubelet's own "Registry" cache key: everything before the first '/'.
    let host = image.split('/').next().unwrap_or(image);
    let found = match lookup(host) {
        Ok(found) => Some(found),
        Err(Error::NotOurs) => None,
        Err(e) => return Err(e),
    };
    let sa_mode = request
        .service_account_token
        .as_ref()
        .is_some_and(|t| !t.expose().is_empty());
    let response = Response {
        kind: "CredentialProviderResponse",
        api_version,
        cache_key_type: "Registry",
        // No credentials: not cached, so that new credentials or config apply at once.
        cache_duration: go_duration(found.as_ref().map_or(0, |f| f.cache_seconds)),
        // Our credentials do not depend on the pod; one answer serves a service account.
        service_account_token_cache_type: (sa_mode && *api_version == API_VERSIONS[0])
            .then_some("ServiceAccount"),
        auth: found.as_ref().map(|f| {
            BTreeMap::from([(
                host,
                Auth {
                    username: &f.credentials.username,
                    password: f.credentials.password.expose(),
                },
            )])
        }),
    };
    Ok(serde_json::to_string(&response).expect("strings always serialize"))
}

/// The real lookup: config, cache and AWS, as for Docker's `get`; the kubelet may keep the
/// answer until our cache would refresh it.
fn lookup(host: &str) -> Result<Found, Error> {
    let credentials = lookup::credentials(host)?;
    let now = cache::now();
    let cache_seconds = credentials
        .keep_until
        .map_or(0, |t| (t - now).max(0) as u64);
    Ok(Found {
        credentials,
        cache_seconds,
    })
}

/// A Go `time.Duration` string for whole seconds, as Go prints it: `8h0m0s`, `59m59s`, `0s`.
pub fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn creds(expires_at: Option<i64>) -> Credentials {
        Credentials {
            registry: crate::registry::Registry::parse(HOST).unwrap(),
            username: "AWS".into(),
            password: Secret::new("pw".into()),
            expires_at,
            keep_until: None,
        }
    }

    fn found(seconds: u64) -> impl FnOnce(&str) -> Result<Found, Error> {
        move |_| {
            Ok(Found {
                credentials: creds(Some(1)),
                cache_seconds: seconds,
            })
        }
    }

    fn request(api: &str, image: &str) -> String {
        format!(r#"{{"kind":"CredentialProviderRequest","apiVersion":"{api}","image":"{image}"}}"#)
    }

    #[test]
    fn answer_is_exact_and_keyed_by_host_and_port() {
        let mut asked = String::new();
        let text = answer(
            &request(API_VERSIONS[0], &format!("{HOST}:443/app/web")),
            |h| {
                asked = h.to_string();
                found(28_800)(h)
            },
        )
        .unwrap();
        assert_eq!(asked, format!("{HOST}:443"));
        assert_eq!(
            text,
            format!(
                r#"{{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"8h0m0s","auth":{{"{HOST}:443":{{"username":"AWS","password":"pw"}}}}}}"#
            )
        );
    }

    #[test]
    fn v1beta1_is_answered_in_kind() {
        let text = answer(&request(API_VERSIONS[1], HOST), found(59)).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","cacheKeyType":"Registry","cacheDuration":"59s","auth":{{"{HOST}":{{"username":"AWS","password":"pw"}}}}}}"#
            )
        );
    }

    #[test]
    fn not_ours_has_no_auth() {
        let text = answer(&request(API_VERSIONS[0], "docker.io/library/nginx"), |_| {
            Err(Error::NotOurs)
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"0s"}"#
        );
    }

    #[test]
    fn service_account_mode_is_answered_per_service_account() {
        let text = answer(
            &format!(
                r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{HOST}/a","serviceAccountToken":"sa-jwt-secret","serviceAccountAnnotations":{{"a":"b"}}}}"#
            ),
            found(60),
        )
        .unwrap();
        assert!(
            text.contains(
                r#""cacheDuration":"1m0s","serviceAccountTokenCacheType":"ServiceAccount","auth""#
            ),
            "{text}"
        );
        assert!(!text.contains("sa-jwt-secret"));
    }

    #[test]
    fn bad_requests_are_refused_and_lookup_is_not_called() {
        let cases = [
            ("{not json", "input is not a CredentialProviderRequest"),
            ("", "input is not a CredentialProviderRequest"),
            (
                &request("credentialprovider.kubelet.k8s.io/v1alpha1", HOST),
                "unsupported apiVersion \"credentialprovider.kubelet.k8s.io/v1alpha1\"",
            ),
            (
                r#"{"kind":"CredentialProviderRequest","image":"x"}"#,
                "unsupported apiVersion \"\"",
            ),
            (
                &request(API_VERSIONS[0], "").replace("CredentialProviderRequest", "Other"),
                "kind \"Other\" is not CredentialProviderRequest",
            ),
            (&request(API_VERSIONS[0], " "), "names no image"),
            (
                r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":5}"#,
                "not a CredentialProviderRequest",
            ),
        ];
        for (input, want) in cases {
            let e = answer(input, |_| panic!("no lookup for {input}")).unwrap_err();
            let text = e.to_string();
            assert!(text.starts_with("ecr-xacct: kubelet: "), "{text}");
            assert!(text.contains(want), "{input:?}: {text}");
        }
    }

    #[test]
    fn failures_pass_through() {
        let e = answer(&request(API_VERSIONS[0], HOST), |_| {
            Err(Error::failed(
                "GetAuthorizationToken",
                "AccessDenied",
                "fix it",
            ))
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ecr-xacct: GetAuthorizationToken: AccessDenied (fix it)"
        );
    }

    #[test]
    fn run_writes_answer_or_reason() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let input = request(API_VERSIONS[0], "x/y").replace("x/y", "");
        assert_eq!(run(&mut input.as_bytes(), &mut out, &mut err), 1);
        assert!(out.is_empty(), "nothing on stdout on failure");
        assert!(String::from_utf8(err).unwrap().contains("names no image"));
    }

    #[test]
    fn go_durations() {
        for (secs, want) in [
            (0, "0s"),
            (1, "1s"),
            (59, "59s"),
            (60, "1m0s"),
            (3599, "59m59s"),
            (3600, "1h0m0s"),
            (28_800, "8h0m0s"),
            (90_061, "25h1m1s"),
        ] {
            assert_eq!(go_duration(secs), want);
        }
    }
}

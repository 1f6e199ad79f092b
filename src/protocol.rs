//! The Docker credential-helper protocol: `get`, `store`, `erase`, `list`. Exact texts and
//! exit codes live here and nowhere else; stdout carries only what the caller parses.

use crate::cache::{self, Cache};
use crate::error::Error;
use crate::lookup::{self, Context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// Text for an empty server URL, as the reference helpers print it.
pub const NO_SERVER_URL: &str = "no credentials server URL";
/// Text for `store` without a user name, as the reference helpers print it.
pub const NO_USERNAME: &str = "no credentials username";
/// The most stdin we read; a server URL or credentials JSON is far smaller.
pub const MAX_INPUT: u64 = 1 << 20;

/// A protocol verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Credentials for a server URL.
    Get,
    /// `docker login` hands over credentials: validated, not kept.
    Store,
    /// `docker logout`: forget cached tokens.
    Erase,
    /// Registries with a valid cached token.
    List,
}

impl Verb {
    /// The verb Docker names on the command line.
    pub fn from_name(name: &str) -> Option<Verb> {
        match name {
            "get" => Some(Verb::Get),
            "store" => Some(Verb::Store),
            "erase" => Some(Verb::Erase),
            "list" => Some(Verb::List),
            _ => None,
        }
    }
}

/// The answer to `get`, field order as Docker's own helpers write it.
#[derive(Serialize)]
struct GetAnswer<'a> {
    #[serde(rename = "ServerURL")]
    server_url: &'a str,
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

/// What `store` receives.
#[derive(Deserialize)]
struct StoreInput {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
}

/// Runs one verb: reads `input`, writes the answer or the error line to `out`, returns the
/// exit code.
pub fn run(verb: Verb, input: &mut dyn Read, out: &mut dyn Write) -> i32 {
    let result = read_input(input).and_then(|text| match verb {
        Verb::Get => get(&text),
        Verb::Store => store(&text),
        Verb::Erase => erase(&text),
        Verb::List => list(),
    });
    let (text, code) = match result {
        Ok(text) => (text, 0),
        Err(e) => (e.to_string(), 1),
    };
    if !text.is_empty() {
        // A closed stdout is the caller's business; nothing better to do with the error.
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    }
    code
}

/// Reads stdin, bounded. Bytes that are not UTF-8 cannot name a registry or hold JSON.
fn read_input(input: &mut dyn Read) -> Result<String, Error> {
    Ok(String::from_utf8_lossy(&read_bounded(input, "")?).into_owned())
}

/// Reads all of `input`, refusing more than [`MAX_INPUT`] bytes; `who` names the front end
/// in messages (`kubelet: `, or empty for Docker's verbs).
pub fn read_bounded(input: &mut dyn Read, who: &str) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    input
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Input(format!("ecr-xacct: {who}cannot read stdin: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(Error::Input(format!(
            "ecr-xacct: {who}input longer than {MAX_INPUT} bytes"
        )));
    }
    Ok(bytes)
}

fn get(text: &str) -> Result<String, Error> {
    let server_url = text.trim();
    if server_url.is_empty() {
        return Err(Error::Input(NO_SERVER_URL.into()));
    }
    let creds = lookup::credentials(server_url)?;
    let answer = GetAnswer {
        server_url,
        username: &creds.username,
        secret: creds.password.expose(),
    };
    Ok(serde_json::to_string(&answer).expect("strings always serialize"))
}

fn store(text: &str) -> Result<String, Error> {
    let input: StoreInput = serde_json::from_str(text.trim()).map_err(|e| {
        Error::Input(format!(
            "ecr-xacct: store: input is not credentials JSON ({e})"
        ))
    })?;
    if input.server_url.trim().is_empty() {
        return Err(Error::Input(NO_SERVER_URL.into()));
    }
    if input.username.trim().is_empty() {
        return Err(Error::Input(NO_USERNAME.into()));
    }
    // Tokens come from AWS; nothing handed to us is kept.
    Ok(String::new())
}

fn erase(text: &str) -> Result<String, Error> {
    let server_url = text.trim();
    if server_url.is_empty() {
        return Err(Error::Input(NO_SERVER_URL.into()));
    }
    Context::from_env()?.erase(server_url)?;
    Ok(String::new())
}

fn list() -> Result<String, Error> {
    // Only the cache is read: no config, no network, so `list` cannot fail on AWS.
    let hosts = Cache::from_env()
        .map(|c| c.valid_hosts(cache::now()))
        .unwrap_or_default();
    let map: BTreeMap<String, &str> = hosts
        .into_iter()
        .map(|h| (format!("https://{h}"), "AWS"))
        .collect();
    Ok(serde_json::to_string(&map).expect("strings always serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_str(verb: Verb, input: &[u8]) -> (String, i32) {
        let mut out = Vec::new();
        let code = run(verb, &mut &input[..], &mut out);
        (String::from_utf8(out).unwrap(), code)
    }

    #[test]
    fn empty_get_and_erase() {
        assert_eq!(
            run_str(Verb::Get, b""),
            ("no credentials server URL\n".into(), 1)
        );
        assert_eq!(
            run_str(Verb::Get, b" \n"),
            ("no credentials server URL\n".into(), 1)
        );
        assert_eq!(
            run_str(Verb::Erase, b""),
            ("no credentials server URL\n".into(), 1)
        );
    }

    #[test]
    fn not_ours_is_exact_and_offline() {
        for input in [
            &b"docker.io"[..],
            b"https://index.docker.io/v1/",
            b"\xff\xfe",
            b"localhost:5000",
        ] {
            assert_eq!(
                run_str(Verb::Get, input),
                ("credentials not found in native keychain\n".into(), 1),
                "{input:?}"
            );
        }
    }

    #[test]
    fn store_validates_and_keeps_nothing() {
        assert_eq!(
            run_str(
                Verb::Store,
                br#"{"ServerURL":"x","Username":"AWS","Secret":"s"}"#
            ),
            (String::new(), 0)
        );
        assert_eq!(
            run_str(Verb::Store, br#"{"Username":"AWS","Secret":"s"}"#),
            ("no credentials server URL\n".into(), 1)
        );
        assert_eq!(
            run_str(Verb::Store, br#"{"ServerURL":"x","Secret":"s"}"#),
            ("no credentials username\n".into(), 1)
        );
        let (out, code) = run_str(Verb::Store, b"{not json");
        assert_eq!(code, 1);
        assert!(
            out.starts_with("ecr-xacct: store: input is not credentials JSON"),
            "{out}"
        );
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = vec![b'a'; (MAX_INPUT + 10) as usize];
        let (out, code) = run_str(Verb::Get, &big);
        assert_eq!(code, 1);
        assert!(out.contains("input longer than"), "{out}");
    }

    #[test]
    fn get_answer_field_order() {
        let a = GetAnswer {
            server_url: "h",
            username: "AWS",
            secret: "s",
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"ServerURL":"h","Username":"AWS","Secret":"s"}"#
        );
    }
}

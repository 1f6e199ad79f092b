//! `configure-docker`: adds registries to `credHelpers` in Docker's `config.json`, keeping
//! every other key, with a backup, atomically, and idempotently.

use crate::error::Error;
use serde_json::{Map, Value};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The helper name Docker derives from our binary name (`docker-credential-<name>`).
pub const HELPER_NAME: &str = "ecr-xacct";

/// What happened to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Newly mapped to us.
    Added(String),
    /// Mapped to another helper before; now to us.
    Replaced(String, String),
    /// Already ours.
    Unchanged(String),
}

/// Docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn default_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d).join("config.json")),
        _ => dirs::home_dir().map(|h| h.join(".docker").join("config.json")),
    }
}

/// Maps each host to `helper` in `path`. Hosts must already be normalised.
pub fn configure(path: &Path, hosts: &[String], helper: &str) -> Result<Vec<Change>, Error> {
    let fail = |why: String| {
        Error::failed(
            format!("updating {}", path.display()),
            why,
            "fix the file by hand or move it away; nothing was changed",
        )
    };
    // Follow a symlinked config (dotfile managers) and write where it points.
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let old = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(format!("cannot read it: {e}"))),
    };
    let mut root: Map<String, Value> = match old.as_deref().map(str::trim) {
        None | Some("") => Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(fail("it is not a JSON object".into())),
            Err(e) => return Err(fail(format!("it is not valid JSON: {e}"))),
        },
    };
    let helpers = root
        .entry("credHelpers")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| fail("its credHelpers is not a JSON object".into()))?;
    let mut changes = Vec::new();
    for host in hosts {
        let change = match helpers.insert(host.clone(), Value::String(helper.to_string())) {
            None => Change::Added(host.clone()),
            Some(Value::String(prev)) if prev == helper => Change::Unchanged(host.clone()),
            Some(prev) => Change::Replaced(host.clone(), prev.as_str().unwrap_or("?").to_string()),
        };
        changes.push(change);
    }
    if changes.iter().all(|c| matches!(c, Change::Unchanged(_))) {
        return Ok(changes);
    }
    let mut text =
        serde_json::to_string_pretty(&Value::Object(root)).expect("JSON values serialize");
    text.push('\n');
    write(&path, old.as_deref(), &text).map_err(|e| fail(e.to_string()))?;
    Ok(changes)
}

fn write(path: &Path, old: Option<&str>, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o777);
    if let Some(old) = old {
        let backup = path.with_extension("json.bak");
        let mut tmp = tempfile::Builder::new()
            .prefix(".config.json.bak-")
            .tempfile_in(dir)?;
        tmp.write_all(old.as_bytes())?;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
        tmp.persist(&backup).map_err(|e| e.error)?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json-")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_keeps_backs_up_and_is_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        let original = "{\n  \"auths\": {\"ghcr.io\": {}},\n  \"credHelpers\": {\"gcr.io\": \"gcloud\"},\n  \"psFormat\": \"x\"\n}\n";
        fs::write(&path, original).unwrap();
        let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com".to_string();
        let changes = configure(&path, std::slice::from_ref(&host), "ecr-xacct").unwrap();
        assert_eq!(changes, vec![Change::Added(host.clone())]);
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["credHelpers"][&host], "ecr-xacct");
        assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(v["psFormat"], "x");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["auths", "credHelpers", "psFormat"], "key order kept");
        assert_eq!(
            fs::read_to_string(tmp.path().join("config.json.bak")).unwrap(),
            original
        );
        let before = fs::read_to_string(&path).unwrap();
        let again = configure(&path, std::slice::from_ref(&host), "ecr-xacct").unwrap();
        assert_eq!(again, vec![Change::Unchanged(host)]);
        assert_eq!(fs::read_to_string(&path).unwrap(), before);
    }

    #[test]
    fn creates_missing_file_and_refuses_garbage() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("new/config.json");
        configure(&path, &["public.ecr.aws".into()], "ecr-xacct").unwrap();
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"credHelpers": {"public.ecr.aws": "ecr-xacct"}})
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(&path, "{broken").unwrap();
        let e = configure(&path, &["public.ecr.aws".into()], "ecr-xacct").unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{broken");
    }
}

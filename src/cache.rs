//! The on-disk token cache: one small JSON file per identity fingerprint, written atomically,
//! guarded by a per-key lock file so that a burst of helpers makes one API call.
//! No AWS code here; a cache hit runs only this, `registry`, `config` and `identity`.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Environment variable naming the cache directory.
pub const CACHE_DIR_ENV: &str = "ECR_XACCT_CACHE_DIR";
/// Set to anything but `0`/`false`/empty to turn the cache off.
pub const NO_CACHE_ENV: &str = "ECR_XACCT_NO_CACHE";
/// The reference helper's switch, honoured for people coming from it.
pub const REFERENCE_NO_CACHE_ENV: &str = "AWS_ECR_DISABLE_CACHE";
/// The format written; files with any other version are ignored and rewritten.
pub const FORMAT_VERSION: u32 = 1;
/// Whatever the lifetime, refresh once less than this is left.
pub const MIN_MARGIN_SECS: i64 = 3600;
/// When AWS cannot be reached, a cached token is still served while this much is left.
pub const STALE_MARGIN_SECS: i64 = 300;
/// A cache file larger than this is garbage.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// One cached token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version, [`FORMAT_VERSION`].
    pub version: u32,
    /// Registry user name (always `AWS` for ECR).
    pub username: String,
    /// Registry password.
    pub password: Secret<String>,
    /// When AWS said the token expires (Unix seconds).
    pub expires_at: i64,
    /// When it was fetched (Unix seconds, local clock).
    pub fetched_at: i64,
    /// The token's scope ([`crate::registry::Registry::scope`]), for `list` and debugging.
    pub scope: String,
    /// Registry hosts this token has been handed to, for `list` and `erase`.
    pub hosts: Vec<String>,
}

impl Entry {
    /// The moment the entry stops being served on a plain hit: when less than a third of its
    /// life, or less than [`MIN_MARGIN_SECS`], is left.
    pub fn refresh_at(&self) -> i64 {
        let life = (self.expires_at - self.fetched_at).max(0);
        self.expires_at - (life / 3).max(MIN_MARGIN_SECS)
    }

    /// Served without asking AWS.
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.refresh_at()
    }

    /// Still usable when AWS cannot be reached.
    pub fn is_usable(&self, now: i64) -> bool {
        now < self.expires_at - STALE_MARGIN_SECS
    }

    /// Not yet expired at all: listed by `list`.
    pub fn is_valid(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// An exclusive lock on one key, held until dropped.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] File);

/// Now, as Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Cache {
    /// The cache the environment asks for: `None` when turned off or no directory is known.
    pub fn from_env() -> Option<Cache> {
        if is_set(NO_CACHE_ENV)
            || std::env::var_os(REFERENCE_NO_CACHE_ENV).is_some_and(|v| !v.is_empty())
        {
            return None;
        }
        match std::env::var_os(CACHE_DIR_ENV) {
            Some(d) if !d.is_empty() => Some(Cache::new(d)),
            _ => dirs::cache_dir().map(|d| Cache::new(d.join("ecr-xacct"))),
        }
    }

    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ext}"))
    }

    /// Reads the entry for `key`, whatever its age. Anything odd (absent, a symlink, not ours,
    /// readable by others, too big, not JSON, another version) is `None`: a miss.
    pub fn read(&self, key: &str) -> Option<Entry> {
        // In a directory others may write to, entries could have been swapped or planted:
        // a miss; the lock or write that follows tightens the directory and drops them.
        let dir = fs::metadata(&self.dir).ok()?;
        if dir.mode() & 0o022 != 0 {
            return None;
        }
        read_entry(&self.path(key, "json"))
    }

    /// Makes the directory 0700 (creating it, or tightening it), refusing one we do not own.
    pub fn prepare(&self) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let meta = fs::symlink_metadata(&self.dir)?;
        if meta.file_type().is_symlink() {
            // A user may point the cache at another place; judge what the link names.
            let target = fs::metadata(&self.dir)?;
            return check_dir(&self.dir, &target);
        }
        check_dir(&self.dir, &meta)
    }

    /// Writes `entry` for `key` atomically: a 0600 temp file in the same directory, fsync, rename.
    /// A symlink in the way is replaced, never followed.
    pub fn write(&self, key: &str, entry: &Entry) -> io::Result<()> {
        self.prepare()?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(&self.dir)?;
        serde_json::to_writer(tmp.as_file_mut(), entry)?;
        tmp.as_file_mut().write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.path(key, "json")).map_err(|e| e.error)?;
        Ok(())
    }

    /// Removes the entry for `key`; absent is fine.
    pub fn remove(&self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.path(key, "json")) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Takes the exclusive lock for `key`, waiting at most `wait`. `None` when it could not be
    /// had in time (the caller then goes on without it: a bounded wait beats a hang).
    pub fn lock(&self, key: &str, wait: Duration) -> Option<Lock> {
        self.prepare().ok()?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(self.path(key, "lock"))
            .ok()?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Some(Lock(file)),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return None,
            }
        }
    }

    /// Takes the lock for `key` only if it is free right now.
    pub fn try_lock(&self, key: &str) -> Option<Lock> {
        self.lock(key, Duration::ZERO)
    }

    /// Every readable entry, with its key.
    pub fn entries(&self) -> Vec<(String, Entry)> {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .filter_map(|d| {
                let name = d.file_name().into_string().ok()?;
                let key = name.strip_suffix(".json")?;
                if key.starts_with('.') {
                    return None;
                }
                Some((key.to_string(), read_entry(&d.path())?))
            })
            .collect()
    }

    /// Hosts that have a valid (unexpired) token here.
    pub fn valid_hosts(&self, now: i64) -> BTreeSet<String> {
        self.entries()
            .into_iter()
            .filter(|(_, e)| e.is_valid(now))
            .flat_map(|(_, e)| e.hosts)
            .collect()
    }

    /// Deletes expired entries and unreadable leftovers; errors are ignored.
    pub fn prune(&self, now: i64) {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return;
        };
        for d in dir.filter_map(Result::ok) {
            let name = d.file_name();
            let name = name.to_string_lossy();
            let path = d.path();
            let stale_tmp = name.starts_with(".tmp-")
                && d.metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(600));
            let expired = |path: &Path| read_entry(path).is_none_or(|e| !e.is_valid(now));
            if stale_tmp {
                let _ = fs::remove_file(&path);
            } else if let Some(key) = name.strip_suffix(".json").filter(|_| expired(&path)) {
                // Its writer may be renaming a fresh entry over it right now: remove it only
                // under the key's lock, and only if it is still expired then.
                if let Some(_lock) = self.try_lock(key) {
                    if expired(&path) {
                        let _ = fs::remove_file(&path);
                    }
                }
            }
        }
    }
}

fn read_entry(path: &Path) -> Option<Entry> {
    // NONBLOCK: opening a FIFO planted under an entry's name must not wait for a writer.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    let ours = meta.is_file()
        && meta.uid() == rustix::process::geteuid().as_raw()
        && meta.mode() & 0o077 == 0;
    if !ours || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    // Sized from the file, so that one read gets it all.
    let mut text = String::with_capacity(meta.len() as usize + 1);
    Read::by_ref(&mut file)
        .take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    (entry.version == FORMAT_VERSION).then_some(entry)
}

fn check_dir(dir: &Path, meta: &fs::Metadata) -> io::Result<()> {
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(io::Error::other(format!(
            "{} belongs to another user (uid {})",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        if meta.mode() & 0o022 != 0 {
            // Others could write here: any entry may have been swapped for another key's or
            // planted. Drop them all (lock files stay: others may hold them).
            for d in fs::read_dir(dir)?.filter_map(Result::ok) {
                if d.file_name().to_string_lossy().ends_with(".json") {
                    let _ = fs::remove_file(d.path());
                }
            }
        }
    }
    Ok(())
}

fn is_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn entry(expires_at: i64, fetched_at: i64) -> Entry {
        Entry {
            version: FORMAT_VERSION,
            username: "AWS".into(),
            password: Secret::new("pw".into()),
            expires_at,
            fetched_at,
            scope: "private/amazonaws.com/us-east-1".into(),
            hosts: vec!["123456789012.dkr.ecr.us-east-1.amazonaws.com".into()],
        }
    }

    #[test]
    fn freshness_rule() {
        // A 12 h token is served for 8 h, then refreshed; usable until 5 min before expiry.
        let e = entry(43_200, 0);
        assert_eq!(e.refresh_at(), 28_800);
        assert!(e.is_fresh(28_799) && !e.is_fresh(28_800));
        assert!(e.is_usable(42_899) && !e.is_usable(42_900));
        assert!(e.is_valid(43_199) && !e.is_valid(43_200));
        // A short token: the one-hour floor wins.
        let short = entry(5400, 0);
        assert_eq!(short.refresh_at(), 1800);
    }

    #[test]
    fn write_read_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sub/cache");
        let cache = Cache::new(&dir);
        assert_eq!(cache.read("k"), None);
        let e = entry(now() + 43_200, now());
        cache.write("k", &e).unwrap();
        assert_eq!(cache.read("k"), Some(e.clone()));
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("k.json")), 0o600);
        assert_eq!(cache.entries(), vec![("k".to_string(), e)]);
        cache.remove("k").unwrap();
        cache.remove("k").unwrap();
        assert_eq!(cache.read("k"), None);
    }

    #[test]
    fn loose_dir_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let cache = Cache::new(tmp.path());
        cache.write("k", &entry(now() + 100_000, now())).unwrap();
        assert_eq!(fs::metadata(tmp.path()).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn odd_files_are_misses() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let good = serde_json::to_string(&entry(now() + 100_000, now())).unwrap();
        let future = good.replace("\"version\":1", "\"version\":99");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"\x00\xffnot json".to_vec()),
            ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
            ("empty", Vec::new()),
            ("future", future.into_bytes()),
            ("huge", vec![b' '; 200_000]),
        ];
        for (key, bytes) in cases {
            let p = tmp.path().join(format!("{key}.json"));
            fs::write(&p, bytes).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(cache.read(key), None, "{key}");
        }
        // A readable-by-others file is not trusted.
        let p = tmp.path().join("loose.json");
        fs::write(&p, &good).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(cache.read("loose"), None);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(
            cache.read("loose").is_some(),
            "the same file, 0600, is read"
        );
    }

    #[test]
    fn entries_in_a_dir_others_can_write_are_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let e = entry(now() + 100_000, now());
        cache.write("k", &e).unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(cache.read("k"), Some(e.clone()), "readable by others: kept");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o733)).unwrap();
        assert_eq!(cache.read("k"), None, "writable by others: a miss");
        let lock = cache.lock("k", Duration::ZERO).unwrap();
        assert_eq!(fs::metadata(tmp.path()).unwrap().mode() & 0o777, 0o700);
        assert_eq!(cache.read("k"), None, "dropped when tightened");
        assert!(tmp.path().join("k.lock").exists(), "lock files stay");
        drop(lock);
    }

    #[test]
    fn a_fifo_is_a_miss_not_a_hang() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        cache.prepare().unwrap();
        let fifo = tmp.path().join("k.json");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert_eq!(cache.read("k"), None);
        assert!(cache.entries().is_empty());
    }

    #[test]
    fn prune_leaves_an_entry_whose_writer_holds_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        cache.write("k", &entry(now() - 1, now() - 100)).unwrap();
        let writer = cache.lock("k", Duration::ZERO).unwrap();
        cache.prune(now());
        assert!(
            tmp.path().join("k.json").exists(),
            "a writer is at work on it"
        );
        drop(writer);
        cache.prune(now());
        assert!(!tmp.path().join("k.json").exists());
    }

    #[test]
    fn symlink_is_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("c"));
        cache.prepare().unwrap();
        let victim = tmp.path().join("victim");
        let good = serde_json::to_string(&entry(now() + 100_000, now())).unwrap();
        fs::write(&victim, &good).unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        symlink(&victim, cache.dir().join("k.json")).unwrap();
        assert_eq!(cache.read("k"), None, "not read through a link");
        cache.write("k", &entry(now() + 5, now())).unwrap();
        assert_eq!(
            fs::read_to_string(&victim).unwrap(),
            good,
            "victim untouched"
        );
        assert!(!fs::symlink_metadata(cache.dir().join("k.json"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn lock_is_exclusive_and_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let held = cache.lock("k", Duration::from_secs(1)).unwrap();
        let t = Instant::now();
        assert!(cache.lock("k", Duration::from_millis(100)).is_none());
        assert!(t.elapsed() >= Duration::from_millis(100));
        assert!(cache.try_lock("other").is_some(), "keys lock separately");
        drop(held);
        assert!(cache.try_lock("k").is_some());
    }

    #[test]
    fn prune_drops_expired_and_garbage() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        cache.write("old", &entry(now() - 1, now() - 100)).unwrap();
        cache.write("new", &entry(now() + 100_000, now())).unwrap();
        fs::write(tmp.path().join("junk.json"), "x").unwrap();
        cache.prune(now());
        let keys: Vec<String> = cache.entries().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["new".to_string()]);
        assert!(!tmp.path().join("junk.json").exists());
    }
}

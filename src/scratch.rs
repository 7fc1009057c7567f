//! Our scratch files and folders (the temporary file of an atomic write, the clone a
//! push works in): each is locked by its owner while it runs, so the next run can tell
//! one a killed process left behind (unlocked) from one in use, and remove it instead of
//! letting full-size copies pile up beside `baseline.json` or in the output folder.

use anyhow::{Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Scratch younger than this is never swept: its owner may have created it and not yet
/// taken the lock.
const GRACE: Duration = Duration::from_secs(5);

/// `.tmpXXXXXX` files from versions that named their scratch like `tempfile` does are
/// only removed when this old, since another tool may use the same pattern.
const LEGACY_AGE: Duration = Duration::from_secs(3600);

const FILE_SUFFIX: &str = ".tmp";
const LOCK_FILE: &str = ".lock";

fn older_than(path: &Path, age: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d >= age)
}

/// Nobody holds the lock on `path` (its owner is gone). A file we cannot open or lock
/// (a file system without locks) is left alone.
fn unlocked(path: &Path) -> bool {
    File::open(path).is_ok_and(|f| f.try_lock().is_ok())
}

fn file_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.")
}

/// A new, locked temporary file in `dir`, named after `target` (`.baseline.json.XXXXXX.tmp`)
/// so that a leftover says what it was for.
pub fn temp_file_for(dir: &Path, target: &Path) -> Result<tempfile::NamedTempFile> {
    let tmp = tempfile::Builder::new()
        .prefix(&file_prefix(target))
        .suffix(FILE_SUFFIX)
        .rand_bytes(6)
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    // Best effort: where locks are unsupported the file is simply never swept.
    let _ = tmp.as_file().try_lock();
    Ok(tmp)
}

/// Removes the temporary files of writes to `target` that a killed run left in `dir`,
/// and old `.tmpXXXXXX` files of earlier versions. Best effort: what cannot be removed
/// stays.
pub fn sweep_files_for(dir: &Path, target: &Path) {
    let prefix = file_prefix(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(FILE_SUFFIX))
            .is_some_and(|r| r.len() == 6 && r.chars().all(|c| c.is_ascii_alphanumeric()));
        let legacy = name
            .strip_prefix(".tmp")
            .is_some_and(|r| r.len() == 6 && r.chars().all(|c| c.is_ascii_alphanumeric()));
        if !(ours || legacy) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let age = if ours { GRACE } else { LEGACY_AGE };
        if older_than(&path, age) && unlocked(&path) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A scratch folder, removed on drop; locked while it lives.
pub struct ScratchDir {
    dir: tempfile::TempDir,
    _lock: File,
}

impl ScratchDir {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Creates a locked scratch folder `<root>/<prefix>XXXXXX`, first removing the ones
/// killed runs left there.
pub fn scratch_dir(root: &Path, prefix: &str) -> Result<ScratchDir> {
    std::fs::create_dir_all(root)
        .with_context(|| format!("cannot create the folder {}", root.display()))?;
    sweep_dirs(root, prefix);
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(root)
        .with_context(|| format!("cannot create a scratch folder in {}", root.display()))?;
    let lock_path = dir.path().join(LOCK_FILE);
    let lock = File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    // Best effort, as for files.
    let _ = lock.try_lock();
    Ok(ScratchDir { dir, _lock: lock })
}

fn sweep_dirs(root: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(prefix) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir: PathBuf = entry.path();
        let lock = dir.join(LOCK_FILE);
        let stale = if lock.exists() {
            older_than(&lock, GRACE) && unlocked(&lock)
        } else {
            // Killed between creating the folder and its lock.
            older_than(&dir, GRACE)
        };
        if stale {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, secs: u64) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("{e}"));
        f.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn sweeps_only_unlocked_old_scratch_of_the_target() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let target = d.path().join("baseline.json");
        let left = d.path().join(".baseline.json.Ab12Cd.tmp");
        let young = d.path().join(".baseline.json.Zz99Yy.tmp");
        let other = d.path().join(".other.json.Ab12Cd.tmp");
        let legacy_old = d.path().join(".tmpQw3rTy");
        let legacy_new = d.path().join(".tmpAs4dFg");
        for p in [&left, &young, &other, &legacy_old, &legacy_new] {
            std::fs::write(p, "x").unwrap_or_else(|e| panic!("{e}"));
        }
        age(&left, 60);
        age(&other, 60);
        age(&legacy_old, 7200);
        age(&legacy_new, 60);
        // One in use by a live writer.
        let live = temp_file_for(d.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        age(live.path(), 60);
        sweep_files_for(d.path(), &target);
        assert!(!left.exists() && !legacy_old.exists());
        assert!(young.exists() && other.exists() && legacy_new.exists());
        assert!(live.path().exists(), "a locked file is in use");
    }

    #[test]
    fn scratch_dirs_of_dead_runs_are_removed() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let stale = d.path().join("git-old123");
        std::fs::create_dir_all(stale.join("repo")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(stale.join(LOCK_FILE), "").unwrap_or_else(|e| panic!("{e}"));
        age(&stale.join(LOCK_FILE), 60);
        let live = scratch_dir(d.path(), "git-").unwrap_or_else(|e| panic!("{e}"));
        age(&live.path().join(LOCK_FILE), 60);
        let second = scratch_dir(d.path(), "git-").unwrap_or_else(|e| panic!("{e}"));
        assert!(!stale.exists());
        assert!(live.path().exists() && second.path().exists());
        let p = second.path().to_path_buf();
        drop(second);
        assert!(!p.exists());
    }
}

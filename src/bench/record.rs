//! Recording a run into `baseline.json`: locally (atomic rewrite) or on a branch of a
//! remote through [`crate::git::commit_and_push`], where a lost push race re-reads the
//! file the other recorder wrote and appends to that.

use anyhow::Result;
use std::path::Path;

use super::baseline::{self, Format};
use super::run::Run;
use crate::git::{commit_and_push, Applied, PushSpec, Pushed};

/// Appends `run` to the baseline at `path` (created when absent). Returns whether the
/// file changed. A file that does not parse is an error and stays as it is.
pub fn append_to_file(path: &Path, run: &Run) -> Result<bool> {
    let (mut b, format) = baseline::load_or_empty(path)?;
    let added = b.append(run);
    // A date-keyed file is rewritten in the versioned schema even when the run was
    // already there: the migration itself loses nothing and is checked on write.
    if !added && format == Format::Versioned && path.exists() {
        return Ok(false);
    }
    b.save(path, false)?;
    Ok(true)
}

/// Appends `run` to `rel_path` on `spec.branch` of `spec.remote` and pushes, retrying
/// lost races.
pub fn append_on_remote(spec: &PushSpec, rel_path: &Path, run: &Run) -> Result<Pushed> {
    commit_and_push(spec, |tree, _attempt| {
        if append_to_file(&tree.join(rel_path), run)? {
            Ok(Applied::Changed)
        } else {
            Ok(Applied::Unchanged)
        }
    })
}

/// The commit message with `{sha}` and `{short_sha}` filled in.
pub fn message(template: &str, sha: Option<&str>) -> String {
    let sha = sha.unwrap_or("local");
    template
        .replace("{short_sha}", &sha[..sha.len().min(7)])
        .replace("{sha}", sha)
}

//! Whether this run may write the default branch's history: a `workflow_dispatch` (or a
//! push) on another branch must neither record into main's `baseline.json` nor publish
//! main's site. Decided from the workflow's ref (`GITHUB_REF`); a local run, with no
//! workflow around it, is the person's explicit choice and is not second-guessed.

use crate::run_env::RunEnv;

/// The ref this workflow run is on when it is not `refs/heads/<target>` (another
/// branch, a tag, a pull request's merge ref); `None` when it is, or outside a workflow.
pub fn off_branch(env: &RunEnv, target: &str) -> Option<String> {
    let r = env.git_ref.as_deref()?;
    match r.strip_prefix("refs/heads/") {
        Some(b) if b == target => None,
        _ => Some(r.to_string()),
    }
}

/// The repository's default branch as the event payload names it
/// (`repository.default_branch`), else `fallback`.
pub fn default_branch(env: &RunEnv, fallback: &str) -> String {
    env.event_path
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v.pointer("/repository/default_branch")
                .and_then(|b| b.as_str())
                .map(str::to_string)
        })
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

/// The notice for a skipped write: what was skipped, why, and how to do it anyway.
pub fn skipped(what: &str, from: &str, target: &str) -> String {
    format!(
        "not {what}: this run is on {from}, and only runs on the {target} branch write its history; pass --from-any-branch to do it anyway"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> RunEnv {
        let map = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RunEnv::from_vars(&map, false, false)
    }

    #[test]
    fn only_the_target_branch_writes() {
        assert_eq!(off_branch(&env(&[]), "main"), None);
        assert_eq!(
            off_branch(&env(&[("GITHUB_REF", "refs/heads/main")]), "main"),
            None
        );
        assert_eq!(
            off_branch(&env(&[("GITHUB_REF", "refs/heads/feature")]), "main").as_deref(),
            Some("refs/heads/feature")
        );
        assert!(off_branch(&env(&[("GITHUB_REF", "refs/tags/v1")]), "main").is_some());
        assert!(off_branch(&env(&[("GITHUB_REF", "refs/pull/3/merge")]), "main").is_some());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let event = dir.path().join("event.json");
        std::fs::write(&event, r#"{"repository": {"default_branch": "trunk"}}"#).unwrap();
        let e = env(&[("GITHUB_EVENT_PATH", event.to_str().unwrap())]);
        assert_eq!(default_branch(&e, "main"), "trunk");
        assert_eq!(default_branch(&env(&[]), "main"), "main");
    }
}

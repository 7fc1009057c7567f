//! What the triggering event says about where results belong: the pull request (number,
//! head commit), whether it comes from a fork (read-only token), and for `workflow_run`
//! the commit the first workflow ran on.

use anyhow::{Context, Result};
use serde_json::Value;

use crate::run_env::RunEnv;

/// Where to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The pull request, when the event names one.
    pub pr: Option<u64>,
    /// The commit to attach check runs to (the PR head, not the merge commit).
    pub head_sha: Option<String>,
    /// The token is read-only: a PR from a fork.
    pub read_only: Option<&'static str>,
    /// Dependabot triggered the run: its token is read-only unless the repository grants
    /// more, so a refusal is expected and explained, but posting is still tried.
    pub dependabot: bool,
    /// `workflow_run`: the PR number must come from the first workflow's artifact.
    pub via_workflow_run: bool,
    /// `workflow_run`: the run whose results these are (linked instead of ours).
    pub source_run_url: Option<String>,
}

/// Reads `GITHUB_EVENT_PATH` (when set) into a [`Target`].
pub fn target(env: &RunEnv) -> Result<Target> {
    let payload = match &env.event_path {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| {
                format!(
                    "cannot read the event payload {} (GITHUB_EVENT_PATH)",
                    p.display()
                )
            })?;
            serde_json::from_str::<Value>(&text).with_context(|| {
                format!(
                    "the event payload {} (GITHUB_EVENT_PATH) is not JSON",
                    p.display()
                )
            })?
        }
        None => Value::Null,
    };
    Ok(from_payload(
        env.event_name.as_deref().unwrap_or_default(),
        &payload,
        env.sha.clone(),
        env.actor.as_deref(),
    ))
}

fn str_at(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr).and_then(Value::as_str).map(str::to_string)
}

pub fn from_payload(
    event: &str,
    payload: &Value,
    sha: Option<String>,
    actor: Option<&str>,
) -> Target {
    let dependabot = actor == Some("dependabot[bot]");
    let mut t = Target {
        head_sha: sha,
        ..Target::default()
    };
    match event {
        "pull_request" | "pull_request_target" | "pull_request_review" => {
            let pr = payload.get("pull_request").unwrap_or(&Value::Null);
            t.pr = pr
                .get("number")
                .and_then(Value::as_u64)
                .or_else(|| payload.get("number").and_then(Value::as_u64));
            if let Some(head) = str_at(pr, "/head/sha") {
                t.head_sha = Some(head);
            }
            let head_repo = str_at(pr, "/head/repo/full_name");
            let base_repo = str_at(pr, "/base/repo/full_name");
            // A deleted fork has no head repo at all: treat it as a fork too.
            let fork = pr.pointer("/head/repo/fork").and_then(Value::as_bool) == Some(true)
                || (base_repo.is_some() && head_repo != base_repo);
            if fork && event == "pull_request" {
                t.read_only = Some("this pull request comes from a fork");
            }
        }
        "workflow_run" => {
            let run = payload.get("workflow_run").unwrap_or(&Value::Null);
            t.via_workflow_run = true;
            if let Some(head) = str_at(run, "/head_sha") {
                t.head_sha = Some(head);
            }
            t.source_run_url = str_at(run, "/html_url");
            // Filled for pull requests from the same repository only.
            t.pr = run
                .pointer("/pull_requests/0/number")
                .and_then(Value::as_u64);
        }
        _ => {}
    }
    t.dependabot = dependabot && event != "workflow_run";
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pr_event(head: &str, base: &str) -> Value {
        json!({"number": 7, "pull_request": {"number": 7,
            "head": {"sha": "abc", "repo": {"full_name": head}},
            "base": {"sha": "def", "repo": {"full_name": base}}}})
    }

    #[test]
    fn same_repo_pull_request() {
        let t = from_payload(
            "pull_request",
            &pr_event("o/r", "o/r"),
            Some("merge".into()),
            None,
        );
        assert_eq!(t.pr, Some(7));
        assert_eq!(t.head_sha.as_deref(), Some("abc"));
        assert_eq!(t.read_only, None);
    }

    #[test]
    fn forks_are_read_only_and_dependabot_is_only_noted() {
        let t = from_payload("pull_request", &pr_event("fork/r", "o/r"), None, None);
        assert!(t.read_only.is_some());
        let t = from_payload(
            "pull_request",
            &pr_event("o/r", "o/r"),
            None,
            Some("dependabot[bot]"),
        );
        assert_eq!((t.read_only, t.dependabot), (None, true));
    }

    #[test]
    fn workflow_run_takes_head_sha_and_maybe_pr() {
        let payload = json!({"workflow_run": {"head_sha": "h1", "pull_requests": []}});
        let t = from_payload("workflow_run", &payload, Some("main-sha".into()), None);
        assert_eq!(
            (t.pr, t.head_sha.as_deref(), t.via_workflow_run),
            (None, Some("h1"), true)
        );
        let payload = json!({"workflow_run": {"head_sha": "h1", "pull_requests": [{"number": 4}]}});
        assert_eq!(
            from_payload("workflow_run", &payload, None, None).pr,
            Some(4)
        );
    }

    #[test]
    fn push_has_no_pr() {
        let t = from_payload("push", &json!({}), Some("s".into()), None);
        assert_eq!((t.pr, t.head_sha.as_deref()), (None, Some("s")));
    }
}

//! Tells the ways a `git push` can fail apart from git's stderr: a lost race (re-fetch
//! and re-apply), the remote's refusal (a hook, branch protection: report its message,
//! do not retry), or anything else.

use super::redact;

/// Why a push failed, from git's stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PushFailure {
    /// Someone else pushed first: re-fetch and re-apply.
    Race,
    /// The remote refused the update itself (a hook, branch protection, a rule): trying
    /// again cannot help. Holds the remote's reason and its `remote:` lines.
    Refused(String),
    /// Anything else (network, authentication).
    Other,
}

/// A `[remote rejected]` whose reason is a ref that moved under us is a lost race (local
/// and some hosted remotes report it so); any other reason is the remote's refusal.
pub(super) fn classify_push(stderr: &str) -> PushFailure {
    let reason = |line: &str| -> String {
        line.rsplit_once('(')
            .map(|(_, r)| r.trim_end().trim_end_matches(')').to_string())
            .unwrap_or_default()
    };
    let remote: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut race = false;
    for line in stderr.lines().map(str::trim) {
        if line.starts_with("! [rejected]") {
            let r = reason(line);
            if r.contains("fetch first")
                || r.contains("non-fast-forward")
                || r.contains("stale info")
            {
                race = true;
            } else {
                return PushFailure::Refused(refusal(&r, &remote));
            }
        } else if line.starts_with("! [remote rejected]") {
            let r = reason(line);
            let moved = [
                "cannot lock ref",
                "failed to update ref",
                "incorrect old value",
                "reference already exists",
            ]
            .iter()
            .any(|p| r.contains(p));
            if moved {
                race = true;
            } else {
                return PushFailure::Refused(refusal(&r, &remote));
            }
        }
    }
    if race {
        PushFailure::Race
    } else {
        PushFailure::Other
    }
}

fn refusal(reason: &str, remote: &[&str]) -> String {
    let mut msg = reason.to_string();
    if !remote.is_empty() {
        msg.push_str("; the remote said: ");
        msg.push_str(&remote.join(" / "));
    }
    redact(&msg)
}

//! The sticky PR comment: found by a hidden marker on every page of the PR's comments
//! (never by author: the Actions token cannot ask `GET /user` who it is), edited in place,
//! created only when none exists. Creates are never retried blindly: after an unclear
//! failure, and again just before any create, the comments are searched once more, so two
//! jobs racing (or a create that succeeded behind a 502) still leave exactly one comment.

use serde_json::{json, Value};

use super::api::{Api, ApiError, Method, Need};

/// The hidden first line of our comment. `key` separates several sticky comments (e.g.
/// two workflows) on one PR.
pub fn marker(key: &str) -> String {
    let clean: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    format!("<!-- htdemucs-devops:comment:{clean} -->")
}

/// What happened to the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub id: u64,
    pub url: String,
    pub created: bool,
    /// The body finally accepted, after any cut.
    pub body: String,
}

/// A comment that carries our marker (at the very start of its body, so a reply that
/// quotes it does not count).
#[derive(Debug, Clone)]
struct Ours {
    id: u64,
    url: String,
    author: Option<String>,
    by_bot: bool,
}

fn ours(comments: &[Value], marker: &str) -> Vec<Ours> {
    let mut found: Vec<Ours> = comments
        .iter()
        .filter(|c| {
            c.get("body")
                .and_then(Value::as_str)
                .is_some_and(|b| b.trim_start().starts_with(marker))
        })
        .filter_map(|c| {
            Some(Ours {
                id: c.get("id")?.as_u64()?,
                url: c
                    .get("html_url")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                author: c
                    .pointer("/user/login")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                by_bot: c.pointer("/user/type").and_then(Value::as_str) == Some("Bot"),
            })
        })
        .collect();
    // The oldest comment posted by a bot (the Actions token posts as one) comes first; a
    // person who typed the marker into an earlier comment does not get it overwritten.
    found.sort_by_key(|c| (!c.by_bot, c.id));
    found
}

/// Is this GitHub's answer to a body that is too long?
fn too_long(e: &ApiError) -> bool {
    match e {
        ApiError::Status { status: 413, .. } => true,
        ApiError::Status {
            status: 422,
            message,
            ..
        } => {
            let m = message.to_ascii_lowercase();
            m.contains("too long") || m.contains("maximum")
        }
        _ => false,
    }
}

pub struct Sticky<'a, 'c> {
    pub api: &'a Api<'c>,
    pub repo: &'a str,
    pub pr: u64,
    pub marker: String,
}

impl Sticky<'_, '_> {
    async fn find(&self) -> Result<Vec<Ours>, ApiError> {
        let url = format!(
            "/repos/{}/issues/{}/comments?per_page=100",
            self.repo, self.pr
        );
        let all = self
            .api
            .get_all("reading the PR comments", &url, Need::PullRequestsRead)
            .await?;
        Ok(ours(&all, &self.marker))
    }

    async fn edit(&self, id: u64, body: &str) -> Result<Value, ApiError> {
        let url = format!("/repos/{}/issues/comments/{id}", self.repo);
        let reply = self
            .api
            .call(
                Method::Patch,
                "updating the PR comment",
                &url,
                Some(&json!({ "body": body })),
                Need::PullRequestsWrite,
            )
            .await?;
        Ok(reply.body)
    }

    async fn create(&self, body: &str) -> Result<Value, ApiError> {
        let url = format!("/repos/{}/issues/{}/comments", self.repo, self.pr);
        let reply = self
            .api
            .call(
                Method::Post,
                "creating the PR comment",
                &url,
                Some(&json!({ "body": body })),
                Need::PullRequestsWrite,
            )
            .await?;
        Ok(reply.body)
    }

    /// Puts `body` (starting with the marker) in place: edit ours, or create one.
    async fn put(&self, body: &str) -> Result<Posted, ApiError> {
        let posted = |v: &Value, created: bool| Posted {
            id: v.get("id").and_then(Value::as_u64).unwrap_or_default(),
            url: v
                .get("html_url")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            created,
            body: body.to_string(),
        };
        // Look, then look again right before creating: another job of the same workflow
        // (or a re-run) may have created the comment while we were busy.
        let mut rechecked = false;
        for _ in 0..4 {
            let found = self.find().await?;
            if let Some(first) = found.first() {
                match self.edit(first.id, body).await {
                    Ok(v) => {
                        self.remove_duplicates(&found).await;
                        return Ok(posted(&v, false));
                    }
                    // Deleted between our list and our edit: start over.
                    Err(ApiError::Status { status: 404, .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
            if !rechecked {
                rechecked = true;
                continue;
            }
            match self.create(body).await {
                Ok(v) => {
                    let mine = posted(&v, true);
                    return Ok(self.settle_race(mine, body).await);
                }
                // No blind retry: the create may have happened; the next loop looks first.
                Err(e) if e.maybe_applied() => {
                    self.api.console_info(&format!(
                        "{e}; checking whether the comment was created before trying again"
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::Status {
            what: "posting the PR comment".into(),
            status: 0,
            message: "the comment kept disappearing or failing; gave up after 4 rounds".into(),
        })
    }

    /// After a create: if another job created one too, keep the oldest (give it our
    /// content) and delete ours, so the PR ends with exactly one.
    async fn settle_race(&self, mine: Posted, body: &str) -> Posted {
        let Ok(found) = self.find().await else {
            return mine;
        };
        let Some(oldest) = found.first() else {
            return mine;
        };
        if oldest.id == mine.id || found.len() < 2 {
            return mine;
        }
        match self.edit(oldest.id, body).await {
            Ok(v) => {
                self.remove_duplicates(&found).await;
                Posted {
                    id: oldest.id,
                    url: v
                        .get("html_url")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| oldest.url.clone()),
                    created: false,
                    body: mine.body,
                }
            }
            Err(_) => mine,
        }
    }

    /// Deletes later copies of our comment left by earlier races, but only those by the
    /// same author as the one we keep: a marker typed by someone else is not ours to delete.
    async fn remove_duplicates(&self, found: &[Ours]) {
        let Some((keep, rest)) = found.split_first() else {
            return;
        };
        for dup in rest.iter().filter(|d| d.author == keep.author) {
            let url = format!("/repos/{}/issues/comments/{}", self.repo, dup.id);
            if let Err(e) = self
                .api
                .call(
                    Method::Delete,
                    "removing a duplicate PR comment",
                    &url,
                    None,
                    Need::PullRequestsWrite,
                )
                .await
            {
                self.api.console_info(&e.to_string());
            }
        }
    }

    /// Posts the body `render(limit)` returns, where `limit` starts at `first_limit`
    /// characters; when GitHub refuses the size (413, or 422 "too long") the body is
    /// rendered again at three quarters of the size, down to 4,096 characters.
    pub async fn upsert(
        &self,
        first_limit: usize,
        render: impl Fn(usize) -> String,
    ) -> Result<Posted, ApiError> {
        let mut limit = first_limit;
        loop {
            let body = render(limit);
            match self.put(&body).await {
                Err(e) if too_long(&e) && limit > 4096 => {
                    let chars = body.chars().count();
                    limit = (chars.min(limit) * 3 / 4).max(4096);
                    self.api.console_info(&format!(
                        "GitHub refused a {chars}-character comment as too long; cutting it to {limit} characters"
                    ));
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_an_html_comment_with_a_clean_key() {
        assert_eq!(
            marker("ci --><script>"),
            "<!-- htdemucs-devops:comment:ci--script -->"
        );
    }

    #[test]
    fn finds_only_comments_starting_with_the_marker() {
        let m = marker("report");
        let comments = vec![
            json!({"id": 9, "body": format!("{m}\nnew"), "html_url": "u9", "user": {"login": "bot"}}),
            json!({"id": 3, "body": format!("  {m}\nold"), "html_url": "u3", "user": {"login": "bot"}}),
            json!({"id": 5, "body": format!("> {m}\nquoted"), "html_url": "u5"}),
            json!({"id": 6, "body": "unrelated"}),
        ];
        let found = ours(&comments, &m);
        assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![3, 9]);
        let mixed = vec![
            json!({"id": 2, "body": m.clone(), "user": {"login": "alice", "type": "User"}}),
            json!({"id": 7, "body": m.clone(), "user": {"login": "github-actions[bot]", "type": "Bot"}}),
        ];
        assert_eq!(ours(&mixed, &m)[0].id, 7);
    }

    #[test]
    fn recognises_too_long_answers() {
        let e = |status, message: &str| ApiError::Status {
            what: String::new(),
            status,
            message: message.into(),
        };
        assert!(too_long(&e(413, "")));
        assert!(too_long(&e(
            422,
            "Validation Failed (body is too long (maximum is 65536 characters))"
        )));
        assert!(!too_long(&e(
            422,
            "Validation Failed (body can't be blank)"
        )));
    }
}

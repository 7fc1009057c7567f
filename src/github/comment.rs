//! The sticky PR comment: found by a hidden marker at the start of a comment written
//! by the identity our token acts as (`GET /user`; for the Actions token, which may not
//! ask, `github-actions[bot]`), so a marker anyone else types is never ours. Edited in
//! place, created only when none exists. Concurrent jobs converge on the oldest comment
//! of ours: a job that created a newer one waits until the list shows it (GitHub's list
//! can lag behind a create), moves its content to the oldest and deletes its own, so the
//! PR ends with one comment and every job reports that one's URL.

use std::cell::RefCell;

use serde_json::{json, Value};

use super::api::{Api, ApiError, Method, Need};

/// Who comments when `GET /user` is refused: the Actions token's bot.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

/// How many times a job looks for its own new comment in the list before it stops
/// waiting for the list to catch up.
const VISIBILITY_POLLS: u32 = 6;

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

/// A comment of ours: by `author`, with the marker at the very start of its body (a
/// reply that quotes it does not count). Oldest first.
#[derive(Debug, Clone)]
struct Ours {
    id: u64,
}

fn ours(comments: &[Value], marker: &str, author: &str) -> Vec<Ours> {
    let mut found: Vec<Ours> = comments
        .iter()
        .filter(|c| {
            c.get("body")
                .and_then(Value::as_str)
                .is_some_and(|b| b.trim_start().starts_with(marker))
                && c.pointer("/user/login").and_then(Value::as_str) == Some(author)
        })
        .filter_map(|c| {
            Some(Ours {
                id: c.get("id")?.as_u64()?,
            })
        })
        .collect();
    found.sort_by_key(|c| c.id);
    found
}

/// The end of a create: the comment that stays, or word that ours was removed as a
/// duplicate by a job that saw an older one (which the next look will find).
enum Settled {
    Done(Posted),
    Lost,
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
    /// Whose comments are ours; learned by [`Sticky::upsert`] unless configured.
    author: RefCell<String>,
    configured: bool,
}

fn posted(v: &Value, created: bool, body: &str) -> Posted {
    Posted {
        id: v.get("id").and_then(Value::as_u64).unwrap_or_default(),
        url: v
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        created,
        body: body.to_string(),
    }
}

impl<'a, 'c> Sticky<'a, 'c> {
    pub fn new(api: &'a Api<'c>, repo: &'a str, pr: u64, marker: String) -> Self {
        Sticky {
            api,
            repo,
            pr,
            marker,
            author: RefCell::new(ACTIONS_BOT.to_string()),
            configured: false,
        }
    }

    /// Takes `author` as the identity whose comments are ours, without asking GitHub.
    pub fn with_author(mut self, author: Option<String>) -> Self {
        if let Some(a) = author.filter(|a| !a.trim().is_empty()) {
            self.author = RefCell::new(a.trim().to_string());
            self.configured = true;
        }
        self
    }

    /// The login our token comments as. The Actions token may not ask (403): it
    /// comments as `github-actions[bot]`.
    async fn learn_author(&self) -> Result<(), ApiError> {
        if self.configured {
            return Ok(());
        }
        match self
            .api
            .call(
                Method::Get,
                "asking GitHub who the token acts as",
                "/user",
                None,
                Need::PullRequestsRead,
            )
            .await
        {
            Ok(reply) => {
                if let Some(login) = reply.body.get("login").and_then(Value::as_str) {
                    *self.author.borrow_mut() = login.to_string();
                }
                Ok(())
            }
            Err(ApiError::Forbidden { .. }) | Err(ApiError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn find(&self) -> Result<Vec<Ours>, ApiError> {
        let url = format!(
            "/repos/{}/issues/{}/comments?per_page=100",
            self.repo, self.pr
        );
        let all = self
            .api
            .get_all("reading the PR comments", &url, Need::PullRequestsRead)
            .await?;
        Ok(ours(&all, &self.marker, &self.author.borrow()))
    }

    /// Whether comment `id` still exists.
    async fn exists(&self, id: u64) -> Result<bool, ApiError> {
        let url = format!("/repos/{}/issues/comments/{id}", self.repo);
        match self
            .api
            .call(
                Method::Get,
                "reading our PR comment",
                &url,
                None,
                Need::PullRequestsRead,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(ApiError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
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
        let mut rechecked = false;
        let mut failures = 0u32;
        let mut last: Option<ApiError> = None;
        for _ in 0..self.api.attempts() * 2 + 2 {
            let found = self.find().await?;
            if let Some(keep) = found.first() {
                match self.edit(keep.id, body).await {
                    Ok(v) => {
                        self.remove_duplicates(&found).await;
                        return Ok(posted(&v, false, body));
                    }
                    // Deleted between our list and our edit: look again.
                    Err(e @ ApiError::Status { status: 404, .. }) => {
                        last = Some(e);
                        rechecked = true;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !rechecked {
                // Another job started with us may be creating it right now: give it a
                // moment and look once more, since every create notifies subscribers.
                rechecked = true;
                self.api.pause(self.api.jitter()).await;
                continue;
            }
            match self.create(body).await {
                Ok(v) => {
                    // The comment says who we are, also for tokens `GET /user` refuses.
                    if let Some(login) = v.pointer("/user/login").and_then(Value::as_str) {
                        *self.author.borrow_mut() = login.to_string();
                    }
                    match self.settle(posted(&v, true, body), body).await? {
                        Settled::Done(p) => return Ok(p),
                        Settled::Lost => continue,
                    }
                }
                // No blind retry: the create may have happened; the next round looks
                // first, after a backoff.
                Err(e) if e.maybe_applied() => {
                    failures += 1;
                    if failures >= self.api.attempts() {
                        return Err(e);
                    }
                    let wait = self.api.backoff(failures);
                    self.api.console_info(&format!(
                        "{e}; checking whether the comment was created before trying again in {} ms",
                        wait.as_millis()
                    ));
                    self.api.pause(wait).await;
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(ApiError::GaveUp {
            what: "posting the PR comment".into(),
            why: "the comment kept disappearing while we edited it".into(),
        }))
    }

    /// After a create: once the list shows our comment, the oldest comment of ours is
    /// the one that stays. If that is another job's, it gets our content and ours goes.
    async fn settle(&self, mine: Posted, body: &str) -> Result<Settled, ApiError> {
        let mut misses = 0u32;
        loop {
            let found = self.find().await?;
            if found.iter().any(|c| c.id == mine.id) {
                let keep = found[0].id;
                if keep == mine.id {
                    self.remove_duplicates(&found).await;
                    return Ok(Settled::Done(mine));
                }
                match self.edit(keep, body).await {
                    Ok(v) => {
                        self.remove_duplicates(&found).await;
                        return Ok(Settled::Done(posted(&v, false, body)));
                    }
                    Err(ApiError::Status { status: 404, .. }) if misses < VISIBILITY_POLLS => {
                        misses += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            // Not listed: the list lags, or a job that saw an older one removed ours.
            if !self.exists(mine.id).await? {
                return Ok(Settled::Lost);
            }
            misses += 1;
            if misses > VISIBILITY_POLLS {
                self.api.console_info(
                    "the new PR comment is still not in GitHub's list of comments; keeping it",
                );
                return Ok(Settled::Done(mine));
            }
            self.api.pause(self.api.backoff(misses)).await;
        }
    }

    /// Deletes every comment of ours but the oldest (copies left by races).
    async fn remove_duplicates(&self, found: &[Ours]) {
        for dup in found.iter().skip(1) {
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
        self.learn_author().await?;
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
    fn finds_only_our_authors_comments_starting_with_the_marker() {
        let m = marker("report");
        let bot = json!({"login": ACTIONS_BOT, "type": "Bot"});
        let comments = vec![
            json!({"id": 9, "body": format!("{m}\nnew"), "user": bot}),
            json!({"id": 3, "body": format!("  {m}\nold"), "user": bot}),
            json!({"id": 5, "body": format!("> {m}\nquoted"), "user": bot}),
            json!({"id": 6, "body": "unrelated", "user": bot}),
            json!({"id": 2, "body": m.clone(), "user": {"login": "alice", "type": "User"}}),
            json!({"id": 1, "body": m.clone()}),
        ];
        let ids = |a: &str| {
            ours(&comments, &m, a)
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(ACTIONS_BOT), vec![3, 9]);
        assert_eq!(ids("alice"), vec![2]);
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

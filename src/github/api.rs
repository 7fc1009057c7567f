//! The GitHub REST client: octocrab for transport and auth, configured from [`RunEnv`]
//! (`GITHUB_API_URL`, so GitHub Enterprise and test servers work), with per-request
//! timeouts, retries with backoff on 5xx / 429 / rate-limited 403, paging through `Link`
//! headers, and errors that name the permission a workflow is missing. Nothing it
//! prints can contain the token.

use std::time::Duration;

use octocrab::Octocrab;
use serde_json::Value;

use super::error::github_message;
pub use super::error::{ApiError, Need};
use super::retry::{decide, next_link, Decision, Hints, RetryPolicy};
use crate::output::console::Console;
use crate::run_env::RunEnv;
use crate::token::Token;

/// The default whole-request deadline; the connector also has connect/read timeouts.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// The `rel="next"` page, for list endpoints.
    pub next: Option<String>,
}

/// One raw HTTP exchange, before any retry decision.
struct Raw {
    status: u16,
    hints: Hints,
    next: Option<String>,
    text: String,
}

/// The client. Built only when there is a token to act with.
pub struct Api<'a> {
    octo: Octocrab,
    token: Token,
    /// `GITHUB_API_URL` without a trailing slash; pages are only followed within it.
    base: String,
    policy: RetryPolicy,
    timeout: Duration,
    console: &'a Console,
    /// Set once GitHub rate-limited us past waiting: later calls fail at once instead of
    /// waiting through the same limit again.
    limited: std::cell::RefCell<Option<String>>,
}

impl std::fmt::Debug for Api<'_> {
    // Written by hand so that no future field can leak the token through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("token", &self.token)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<'a> Api<'a> {
    /// Builds the client for `env.api_url`, with `timeout` for each request. Must run
    /// inside a Tokio runtime.
    pub fn new(
        env: &RunEnv,
        token: Token,
        timeout: Duration,
        console: &'a Console,
    ) -> anyhow::Result<Self> {
        if !token.is_header_safe() {
            anyhow::bail!(
                "GITHUB_TOKEN contains spaces or control characters (a pasted newline?); set it to the bare token"
            );
        }
        let base = env.api_url.trim_end_matches('/').to_string();
        let octo = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|e| {
                anyhow::anyhow!("GITHUB_API_URL {base:?} is not a valid URL ({e}); use e.g. https://api.github.com or https://ghe.example.com/api/v3")
            })?
            .personal_token(token.expose().to_string())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(timeout))
            .set_write_timeout(Some(timeout))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up the GitHub client: {}", token.redact(&e.to_string())))?;
        let policy = env
            .retry_base_ms
            .map(RetryPolicy::with_base_ms)
            .unwrap_or_default();
        Ok(Api {
            octo,
            base,
            token,
            policy,
            timeout,
            console,
            limited: std::cell::RefCell::new(None),
        })
    }

    /// Tries in all for one request (the retry policy's), for callers with retry loops
    /// of their own.
    pub fn attempts(&self) -> u32 {
        self.policy.attempts
    }

    /// The wait before try `failures + 1` of a caller's own retry loop.
    pub fn backoff(&self, failures: u32) -> Duration {
        self.policy.backoff(failures)
    }

    /// A random wait of up to twice the backoff base, so jobs started together spread out.
    pub fn jitter(&self) -> Duration {
        self.policy.base.mul_f64(2.0 * rand::random::<f64>())
    }

    pub async fn pause(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }

    /// A progress line in the log (redacted).
    pub fn console_info(&self, msg: &str) {
        self.console.info(&self.redact(msg));
    }

    pub fn redact(&self, s: &str) -> String {
        self.token.redact(s)
    }

    /// Sends one request, with no retry.
    async fn once(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Raw, String> {
        let fut = async {
            let res = match method {
                Method::Get => self.octo._get(url).await,
                Method::Post => self.octo._post(url, body).await,
                Method::Patch => self.octo._patch(url, body).await,
                Method::Delete => self.octo._delete(url, body).await,
            }
            .map_err(|e| error_chain(&e))?;
            let header = |name: &str| {
                res.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let status = res.status().as_u16();
            let hints = Hints {
                retry_after: header("retry-after"),
                ratelimit_remaining: header("x-ratelimit-remaining"),
                ratelimit_reset: header("x-ratelimit-reset"),
            };
            let next = header("link").as_deref().and_then(next_link);
            let text = self
                .octo
                .body_to_string(res)
                .await
                .map_err(|e| error_chain(&e))?;
            Ok(Raw {
                status,
                hints,
                next,
                text,
            })
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {} ms", self.timeout.as_millis())),
        }
    }

    /// Sends a request, retrying what is safe to retry. A `POST` is retried only when
    /// GitHub clearly refused it (429, rate-limited 403); after a 5xx or no answer the
    /// error is returned, so the caller can check whether the create happened.
    pub async fn call(
        &self,
        method: Method,
        what: &str,
        url: &str,
        body: Option<&Value>,
        need: Need,
    ) -> Result<Reply, ApiError> {
        if let Some(why) = self.limited.borrow().clone() {
            return Err(ApiError::RateLimited {
                what: what.to_string(),
                why: format!("not sent: {why}"),
            });
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let raw = match self.once(method, url, body).await {
                Ok(raw) => raw,
                Err(detail) => {
                    let detail = self.redact(&detail);
                    if method == Method::Post || attempt >= self.policy.attempts {
                        return Err(ApiError::Transport {
                            what: what.to_string(),
                            detail,
                        });
                    }
                    let wait = self.policy.backoff(attempt);
                    self.note_retry(method, what, &detail, wait, attempt);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if (200..300).contains(&raw.status) {
                let body = if raw.text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&raw.text).map_err(|e| ApiError::Status {
                        what: what.to_string(),
                        status: raw.status,
                        message: format!("the answer is not JSON ({e})"),
                    })?
                };
                return Ok(Reply {
                    status: raw.status,
                    body,
                    next: raw.next,
                });
            }
            let message = self.redact(&github_message(&raw.text));
            let now = jiff::Timestamp::now().as_second();
            match decide(raw.status, &raw.hints, &message, attempt, &self.policy, now) {
                Decision::Retry { wait, why } => {
                    let rejected_before_work = matches!(raw.status, 429 | 403);
                    if method == Method::Post && !rejected_before_work {
                        return Err(self.final_error(raw.status, what, message, need));
                    }
                    self.note_retry(method, what, &why, wait, attempt);
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp { why } => {
                    *self.limited.borrow_mut() = Some(format!("an earlier request was {why}"));
                    return Err(ApiError::RateLimited {
                        what: what.to_string(),
                        why,
                    });
                }
                Decision::Accept => return Err(self.final_error(raw.status, what, message, need)),
            }
        }
    }

    fn final_error(&self, status: u16, what: &str, message: String, need: Need) -> ApiError {
        if status == 403 {
            ApiError::Forbidden {
                what: what.to_string(),
                permission: need.permission(),
                message,
            }
        } else {
            ApiError::Status {
                what: what.to_string(),
                status,
                message,
            }
        }
    }

    fn note_retry(&self, method: Method, what: &str, why: &str, wait: Duration, attempt: u32) {
        self.console.info(&format!(
            "{what} ({} request): {why}; retrying in {} ms (attempt {} of {})",
            method.name(),
            wait.as_millis(),
            attempt + 1,
            self.policy.attempts
        ));
    }

    /// GETs every page of a list endpoint, following `Link: rel="next"` verbatim (GitHub
    /// may point to `/repositories/<id>/...` rather than the path we asked for).
    pub async fn get_all(&self, what: &str, url: &str, need: Need) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(url.to_string());
        let mut pages = 0usize;
        while let Some(url) = next.take() {
            pages += 1;
            // A server that links in a circle must not keep us here forever.
            if pages > 1000 {
                return Err(ApiError::Status {
                    what: what.to_string(),
                    status: 200,
                    message: "more than 1000 pages; stopping".into(),
                });
            }
            let reply = self.call(Method::Get, what, &url, None, need).await?;
            match reply.body {
                Value::Array(page) => items.extend(page),
                _ => {
                    return Err(ApiError::Status {
                        what: what.to_string(),
                        status: reply.status,
                        message: "expected a JSON list".into(),
                    })
                }
            }
            // Only follow pages on the API we were pointed at.
            next = match reply.next {
                Some(n) if n.starts_with(&format!("{}/", self.base)) => Some(n),
                Some(n) => {
                    return Err(ApiError::Status {
                        what: what.to_string(),
                        status: reply.status,
                        message: format!(
                            "the next page {:?} is not under GITHUB_API_URL {:?}",
                            self.redact(&n),
                            self.base
                        ),
                    })
                }
                None => None,
            };
        }
        Ok(items)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

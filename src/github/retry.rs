//! When to try a GitHub request again and how long to wait: pure decisions over the
//! status, the rate-limit headers and the attempt number, plus `Link` header parsing.

use std::time::Duration;

/// Retry settings. The backoff base is the only knob (`HTDEMUCS_DEVOPS_RETRY_BASE_MS`,
/// default 1000 ms); every other wait scales with it, so tests run with tiny sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// First backoff step; doubled after every failure.
    pub base: Duration,
    /// The longest single wait, also for waits GitHub asks for (`Retry-After`).
    pub max_wait: Duration,
    /// A rate limit that resets later than this is not waited for at all.
    pub give_up_beyond: Duration,
}

impl RetryPolicy {
    pub fn with_base_ms(base_ms: u64) -> Self {
        let base = Duration::from_millis(base_ms);
        RetryPolicy {
            attempts: 5,
            base,
            max_wait: base.saturating_mul(60),
            give_up_beyond: base.saturating_mul(900),
        }
    }

    /// Exponential backoff for failure number `attempt` (1-based), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.base.saturating_mul(factor).min(self.max_wait)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::with_base_ms(1000)
    }
}

/// The response headers that steer retries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    pub retry_after: Option<String>,
    pub ratelimit_remaining: Option<String>,
    /// Epoch seconds when the primary rate limit resets.
    pub ratelimit_reset: Option<String>,
}

/// What to do after a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Use the response as it is (success, or an error not worth repeating).
    Accept,
    /// Wait, then send the same request again. `why` goes into the log line.
    Retry { wait: Duration, why: String },
    /// A rate limit that lasts too long to wait for.
    GiveUp { why: String },
}

/// Why a response is worth retrying, if it is.
fn retry_reason(status: u16, hints: &Hints, message: &str) -> Option<&'static str> {
    let exhausted = hints.ratelimit_remaining.as_deref().map(str::trim) == Some("0");
    match status {
        429 => Some("rate limited (429)"),
        403 if hints.retry_after.is_some() => Some("secondary rate limit (403 with Retry-After)"),
        403 if exhausted => Some("rate limit exhausted (403, x-ratelimit-remaining: 0)"),
        403 if message.to_ascii_lowercase().contains("rate limit") => Some("rate limited (403)"),
        500 | 502 | 503 | 504 => Some("server error"),
        _ => None,
    }
}

/// Decides after failure number `attempt` (1-based) of `policy.attempts`.
/// `now_epoch` is the current Unix time in seconds (a parameter for testability).
pub fn decide(
    status: u16,
    hints: &Hints,
    message: &str,
    attempt: u32,
    policy: &RetryPolicy,
    now_epoch: i64,
) -> Decision {
    let Some(why) = retry_reason(status, hints, message) else {
        return Decision::Accept;
    };
    if attempt >= policy.attempts {
        // A limit that never lifted is a limit, not an answer about permissions.
        return if matches!(status, 403 | 429) {
            Decision::GiveUp {
                why: format!(
                    "{why}, status {status}: still limited after {} attempts",
                    policy.attempts
                ),
            }
        } else {
            Decision::Accept
        };
    }
    // What the server asked for, in seconds: Retry-After first, then the reset time.
    let asked = hints
        .retry_after
        .as_deref()
        .and_then(|v| parse_retry_after(v, now_epoch))
        .or_else(|| {
            let exhausted = hints.ratelimit_remaining.as_deref().map(str::trim) == Some("0");
            let reset = hints
                .ratelimit_reset
                .as_deref()?
                .trim()
                .parse::<i64>()
                .ok()?;
            exhausted.then(|| (reset - now_epoch).max(0) as u64 + 1)
        });
    let why = format!("{why}, status {status}");
    match asked {
        Some(secs) => {
            // Server waits are in real seconds; `base` scales them (1000 ms = as asked).
            let wait = policy.base.saturating_mul(secs.min(u32::MAX as u64) as u32);
            if wait > policy.give_up_beyond {
                return Decision::GiveUp {
                    why: format!("{why}: GitHub asks to wait {secs} s"),
                };
            }
            Decision::Retry {
                wait: wait.min(policy.max_wait),
                why,
            }
        }
        // GitHub's advice for a rate limit without headers: wait at least a minute.
        None if matches!(status, 403 | 429) => Decision::Retry {
            wait: policy.max_wait,
            why,
        },
        None => Decision::Retry {
            wait: policy.backoff(attempt),
            why,
        },
    }
}

/// `Retry-After` is either delta-seconds or an HTTP date.
fn parse_retry_after(v: &str, now_epoch: i64) -> Option<u64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp().as_second();
    Some((when - now_epoch).max(0) as u64)
}

/// The `rel="next"` target of a `Link` header, if any.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::with_base_ms(10)
    }

    fn hints(ra: Option<&str>, rem: Option<&str>, reset: Option<&str>) -> Hints {
        Hints {
            retry_after: ra.map(String::from),
            ratelimit_remaining: rem.map(String::from),
            ratelimit_reset: reset.map(String::from),
        }
    }

    #[test]
    fn server_errors_back_off_exponentially() {
        let p = policy();
        let h = Hints::default();
        let waits: Vec<_> = (1..5)
            .map(|a| match decide(502, &h, "", a, &p, 0) {
                Decision::Retry { wait, .. } => wait.as_millis(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits, vec![10, 20, 40, 80]);
        assert_eq!(decide(502, &h, "", 5, &p, 0), Decision::Accept);
    }

    #[test]
    fn a_rate_limit_that_never_lifts_gives_up_as_a_rate_limit() {
        let p = policy();
        let h = hints(Some("1"), None, None);
        match decide(403, &h, "", p.attempts, &p, 0) {
            Decision::GiveUp { why } => assert!(why.contains("rate limit"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide(503, &Hints::default(), "", p.attempts, &p, 0),
            Decision::Accept
        );
    }

    #[test]
    fn plain_403_and_404_are_final() {
        let p = policy();
        let h = Hints::default();
        assert_eq!(
            decide(403, &h, "Resource not accessible by integration", 1, &p, 0),
            Decision::Accept
        );
        assert_eq!(decide(404, &h, "", 1, &p, 0), Decision::Accept);
        assert_eq!(decide(422, &h, "", 1, &p, 0), Decision::Accept);
    }

    #[test]
    fn retry_after_is_honoured_in_base_units() {
        let p = policy();
        match decide(403, &hints(Some("3"), None, None), "", 1, &p, 0) {
            Decision::Retry { wait, why } => {
                assert_eq!(wait.as_millis(), 30);
                assert!(why.contains("secondary"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // An HTTP date two seconds ahead.
        let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let date = jiff::fmt::rfc2822::to_string(
            &now.checked_add(jiff::SignedDuration::from_secs(2))
                .unwrap()
                .to_zoned(jiff::tz::TimeZone::UTC),
        )
        .unwrap();
        assert_eq!(parse_retry_after(&date, now.as_second()), Some(2));
    }

    #[test]
    fn exhausted_primary_limit_waits_for_reset_or_gives_up() {
        let p = policy();
        let soon = hints(None, Some("0"), Some("1005"));
        assert!(matches!(
            decide(403, &soon, "", 1, &p, 1000),
            Decision::Retry { wait, .. } if wait.as_millis() == 60
        ));
        let late = hints(None, Some("0"), Some("5000"));
        assert!(matches!(
            decide(429, &late, "", 1, &p, 1000),
            Decision::GiveUp { .. }
        ));
        // Remaining quota left: a 403 is about permissions, not limits.
        let left = hints(None, Some("12"), Some("5000"));
        assert_eq!(decide(403, &left, "", 1, &p, 1000), Decision::Accept);
    }

    #[test]
    fn rate_limits_without_headers_wait_the_longest() {
        let p = policy();
        assert!(matches!(
            decide(429, &Hints::default(), "", 1, &p, 0),
            Decision::Retry { wait, .. } if wait == p.max_wait
        ));
        assert!(matches!(
            decide(403, &Hints::default(), "You have exceeded a secondary rate limit", 1, &p, 0),
            Decision::Retry { wait, .. } if wait == p.max_wait
        ));
    }

    #[test]
    fn finds_next_link() {
        let link = "<https://api.github.com/repositories/1/issues/2/comments?page=3>; rel=\"next\", <https://api.github.com/repositories/1/issues/2/comments?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?page=3")
        );
        assert_eq!(next_link("<x>; rel=\"prev\""), None);
    }
}

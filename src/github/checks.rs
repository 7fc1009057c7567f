//! Check runs: one per phase on the head commit, with the phase's Markdown as the output
//! summary and its annotations sent 50 per request (GitHub's cap), the first batch with
//! the create and the rest as updates.

use serde_json::{json, Value};

use super::api::{Api, ApiError, Method, Need};
use crate::output::{Annotation, Level, Status};

/// GitHub takes at most this many annotations per create or update request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// Check-run output `summary` and `text` are limited to 65,535 characters each.
pub const OUTPUT_LIMIT: usize = 65_535;

/// What one check run shows. Serialised as-is into `check-runs/<name>.json` when it
/// cannot be sent (act, no token), so the same content can be inspected.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckRun {
    pub name: String,
    pub head_sha: String,
    pub conclusion: &'static str,
    /// Identifies this run's check so that an unclear create can be looked up again.
    pub external_id: String,
    pub title: String,
    pub summary: String,
    /// In GitHub's annotation format; file-less annotations are listed in `summary`.
    pub annotations: Vec<Value>,
}

pub fn conclusion(status: Status) -> &'static str {
    match status {
        Status::Passed => "success",
        Status::Warned => "neutral",
        Status::Failed => "failure",
    }
}

/// Converts our annotations; ones without a file cannot be placed and are skipped.
pub fn to_github(annotations: &[Annotation]) -> Vec<Value> {
    annotations
        .iter()
        .filter_map(|a| {
            let path = a.file.as_ref()?;
            let start = a.line.unwrap_or(1).max(1);
            let end = a.end_line.unwrap_or(start).max(start);
            let mut v = json!({
                "path": path,
                "start_line": start,
                "end_line": end,
                "annotation_level": match a.level {
                    Level::Error => "failure",
                    Level::Warning => "warning",
                    Level::Notice => "notice",
                },
                "message": cut(&a.message, 64 * 1024 - 1),
            });
            // Columns are only accepted when the annotation stays on one line.
            if start == end {
                if let Some(c) = a.col {
                    v["start_column"] = json!(c);
                    v["end_column"] = json!(a.end_col.unwrap_or(c).max(c));
                }
            }
            if let Some(t) = &a.title {
                v["title"] = json!(cut(t, 255));
            }
            Some(v)
        })
        .collect()
}

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Creates the check run and sends all its annotations. Returns its web URL.
pub async fn publish(api: &Api<'_>, repo: &str, run: &CheckRun) -> Result<String, ApiError> {
    let what = format!("creating the check run {:?}", run.name);
    let mut batches = run.annotations.chunks(ANNOTATIONS_PER_REQUEST);
    let first: Vec<Value> = batches.next().map(<[Value]>::to_vec).unwrap_or_default();
    let output = |annotations: &[Value]| {
        json!({
            "title": cut(&run.title, 255),
            "summary": cut(&run.summary, OUTPUT_LIMIT),
            "annotations": annotations,
        })
    };
    let create = json!({
        "name": run.name,
        "head_sha": run.head_sha,
        "status": "completed",
        "conclusion": run.conclusion,
        "external_id": run.external_id,
        "output": output(&first),
    });
    let url = format!("/repos/{repo}/check-runs");
    let mut created = None;
    for _ in 0..2 {
        match api
            .call(Method::Post, &what, &url, Some(&create), Need::ChecksWrite)
            .await
        {
            Ok(reply) => {
                created = Some(reply.body);
                break;
            }
            Err(e) if e.maybe_applied() => {
                // Not blindly again: it may exist already.
                if let Some(found) = find_existing(api, repo, run).await? {
                    created = Some(found);
                    break;
                }
                api.console_info(&format!("{e}; it was not created, trying once more"));
            }
            Err(e) => return Err(e),
        }
    }
    let Some(body) = created else {
        return Err(ApiError::Status {
            what,
            status: 0,
            message: "the create failed twice".into(),
        });
    };
    let id = body.get("id").and_then(Value::as_u64).unwrap_or_default();
    for batch in batches {
        api.call(
            Method::Patch,
            &format!("adding annotations to the check run {:?}", run.name),
            &format!("/repos/{repo}/check-runs/{id}"),
            Some(&json!({ "output": output(batch) })),
            Need::ChecksWrite,
        )
        .await?;
    }
    Ok(body
        .get("html_url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

async fn find_existing(
    api: &Api<'_>,
    repo: &str,
    run: &CheckRun,
) -> Result<Option<Value>, ApiError> {
    let url = format!(
        "/repos/{repo}/commits/{}/check-runs?check_name={}&filter=all&per_page=100",
        run.head_sha,
        query_escape(&run.name)
    );
    let reply = api
        .call(
            Method::Get,
            "looking up check runs",
            &url,
            None,
            Need::ChecksWrite,
        )
        .await?;
    Ok(reply
        .body
        .get("check_runs")
        .and_then(Value::as_array)
        .and_then(|runs| {
            runs.iter()
                .find(|r| r.get("external_id").and_then(Value::as_str) == Some(&run.external_id))
                .cloned()
        }))
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_annotations_for_github() {
        let mut a = Annotation::new(Level::Error, "bad");
        a.file = Some("src/a.py".into());
        a.line = Some(3);
        a.col = Some(2);
        a.title = Some("E501".into());
        let no_file = Annotation::new(Level::Warning, "run-level");
        let v = to_github(&[a, no_file]);
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0],
            json!({"path": "src/a.py", "start_line": 3, "end_line": 3, "annotation_level": "failure",
                   "message": "bad", "start_column": 2, "end_column": 2, "title": "E501"})
        );
    }

    #[test]
    fn cut_and_escape() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(
            query_escape("htdemucs-devops / lint"),
            "htdemucs-devops%20%2F%20lint"
        );
    }
}

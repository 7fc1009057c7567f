//! A fake GitHub REST API on a local port (tiny_http), playing the parts the `report`
//! phase talks to: PR comments with `Link` paging (and, when asked, a list that lags
//! behind creates), check runs, pulls, and `GET /user` answering 403 like it does for the
//! Actions token (or a login, like it does for a personal token). Faults are scripted
//! per scenario.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "ghs_FAKEtoken0123456789abcdefSECRET";
pub const REPO: &str = "o/r";
pub const REPO_ID: u64 = 123;
pub const PR: u64 = 1;
pub const BOT: &str = "github-actions[bot]";

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub user: String,
    /// When a create made it (comments added by the test are old).
    pub created: Option<Instant>,
}

pub use crate::report_fault::Fault;

#[derive(Debug, Default)]
pub struct State {
    pub comments: Vec<Comment>,
    pub next_id: u64,
    /// The most comments a page holds, whatever `per_page` asks (forces paging).
    pub page_cap: usize,
    pub check_runs: Vec<Value>,
    /// Annotation counts per check-run request, in order.
    pub annotation_batches: Vec<usize>,
    pub faults: VecDeque<Fault>,
    /// "METHOD path?query" of every request.
    pub log: Vec<String>,
    /// When each request of `log` arrived.
    pub stamps: Vec<Instant>,
    /// `GET /user` answers this login (the token is a person's); `None`: 403, like the
    /// Actions token. New comments are written by this login, or by the Actions bot.
    pub user_login: Option<String>,
    /// Comments created less than this long ago are missing from lists.
    pub list_lag: Duration,
    /// Refuse comment bodies longer than this many UTF-8 bytes (422).
    pub body_limit_bytes: Option<usize>,
    /// Comment writes answer 403 (read-only token).
    pub comments_forbidden: bool,
    /// Check-run writes answer 403 (no `checks: write`).
    pub checks_forbidden: bool,
    /// A comment another job creates right after our first listing.
    pub race_comment: Option<String>,
    /// A comment another job creates just before our create lands (the tight race).
    pub race_on_create: Option<String>,
    pub pr_head_sha: String,
    /// Requests without the right token.
    pub unauthorized: usize,
}

pub struct FakeGitHub {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl FakeGitHub {
    pub fn start() -> Self {
        Self::start_at("")
    }

    /// A server whose API lives under `prefix`, like GitHub Enterprise's `/api/v3`.
    pub fn start_at(prefix: &str) -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = server
            .server_addr()
            .to_ip()
            .unwrap_or_else(|| panic!("no ip"));
        let url = format!("http://{addr}{prefix}");
        let prefix = prefix.to_string();
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            page_cap: 100,
            pr_head_sha: "feedface".into(),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, base) = (state.clone(), stop.clone(), url.clone());
        let handle = std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match server.recv_timeout(Duration::from_millis(20)) {
                    Ok(Some(req)) => handle(req, &st, &base, &prefix),
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
        });
        FakeGitHub {
            url,
            state,
            stop,
            handle: Some(handle),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    /// Adds a comment as if posted earlier.
    pub fn add_comment(&self, body: &str, user: &str) -> u64 {
        self.with(|s| {
            s.next_id += 1;
            let id = s.next_id;
            s.comments.push(Comment {
                id,
                body: body.into(),
                user: user.into(),
                created: None,
            });
            id
        })
    }

    pub fn marked(&self, marker: &str) -> Vec<Comment> {
        self.with(|s| {
            s.comments
                .iter()
                .filter(|c| c.body.starts_with(marker))
                .cloned()
                .collect()
        })
    }

    pub fn log(&self) -> Vec<String> {
        self.with(|s| s.log.clone())
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.log().iter().filter(|l| l.starts_with(prefix)).count()
    }
}

fn respond(req: tiny_http::Request, status: u16, headers: &[(String, String)], body: &str) {
    let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
    let mut all = headers.to_vec();
    all.push(("Content-Type".into(), "application/json".into()));
    for (k, v) in all {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp = resp.with_header(h);
        }
    }
    let _ = req.respond(resp);
}

fn query(url: &str, key: &str) -> Option<usize> {
    let q = url.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

fn comment_json(base: &str, c: &Comment) -> Value {
    json!({
        "id": c.id,
        "body": c.body,
        "html_url": format!("{base}/{REPO}/pull/{PR}#issuecomment-{}", c.id),
        "user": {"login": c.user, "type": if c.user.ends_with("[bot]") { "Bot" } else { "User" }},
    })
}

fn handle(mut req: tiny_http::Request, state: &Arc<Mutex<State>>, base: &str, prefix: &str) {
    let method = req.method().as_str().to_string();
    let Some(url) = req.url().strip_prefix(prefix).map(str::to_string) else {
        let raw = req.url().to_string();
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.log.push(format!("{method} {raw} (outside {prefix})"));
        drop(s);
        return respond(req, 404, &[], r#"{"message":"Not Found"}"#);
    };
    let path = url.split('?').next().unwrap_or_default().to_string();
    let auth = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string())
        .unwrap_or_default();
    let mut body_text = String::new();
    let _ = req.as_reader().read_to_string(&mut body_text);
    let body: Value = serde_json::from_str(&body_text).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.log.push(format!("{method} {url}"));
    s.stamps.push(Instant::now());
    if auth != format!("Bearer {TOKEN}") && auth != format!("token {TOKEN}") {
        s.unauthorized += 1;
        return respond(req, 401, &[], r#"{"message":"Bad credentials"}"#);
    }
    let mut deferred: Option<Fault> = None;
    if let Some(i) = s
        .faults
        .iter()
        .position(|f| f.method == method && url.contains(&f.path_contains))
    {
        let mut f = s.faults[i].clone();
        s.faults[i].times -= 1;
        if s.faults[i].times == 0 {
            s.faults.remove(i);
        }
        if f.delay_ms > 0 {
            drop(s);
            std::thread::sleep(Duration::from_millis(f.delay_ms));
            s = state.lock().unwrap_or_else(|e| e.into_inner());
        }
        if f.apply_first || f.status == 0 {
            f.times = 0;
            deferred = Some(f).filter(|f| f.status != 0);
        } else {
            return respond(req, f.status, &f.headers, &f.body);
        }
    }
    let forbidden = r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}"#;
    let comments_path = format!("/repos/{REPO}/issues/{PR}/comments");
    let by_id_path = format!("/repositories/{REPO_ID}/issues/{PR}/comments");
    let author = s.user_login.clone().unwrap_or_else(|| BOT.to_string());
    let (status, headers, out): (u16, Vec<(String, String)>, String) = if path == "/user" {
        match &s.user_login {
            Some(login) => (
                200,
                vec![],
                json!({"login": login, "type": "User"}).to_string(),
            ),
            None => (403, vec![], forbidden.into()),
        }
    } else if method == "GET" && (path == comments_path || path == by_id_path) {
        let per = query(&url, "per_page").unwrap_or(30).min(s.page_cap).max(1);
        let page = query(&url, "page").unwrap_or(1).max(1);
        let lag = s.list_lag;
        let listed: Vec<&Comment> = s
            .comments
            .iter()
            .filter(|c| c.created.is_none_or(|t| t.elapsed() >= lag))
            .collect();
        let total = listed.len();
        let last = total.div_ceil(per).max(1);
        let items: Vec<Value> = listed
            .iter()
            .skip((page - 1) * per)
            .take(per)
            .map(|c| comment_json(base, c))
            .collect();
        let mut headers = Vec::new();
        if page < last {
            // Like GitHub: links use the /repositories/<id>/ form.
            headers.push((
                "Link".to_string(),
                format!(
                    "<{base}{by_id_path}?per_page={per}&page={}>; rel=\"next\", <{base}{by_id_path}?per_page={per}&page={last}>; rel=\"last\"",
                    page + 1
                ),
            ));
        }
        // Another job creates its comment right after our first full listing.
        if page == last {
            if let Some(b) = s.race_comment.take() {
                s.next_id += 1;
                let id = s.next_id;
                s.comments.push(Comment {
                    id,
                    body: b,
                    user: BOT.into(),
                    created: None,
                });
            }
        }
        (200, headers, Value::Array(items).to_string())
    } else if method == "POST" && path == comments_path {
        let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
        if s.comments_forbidden {
            (403, vec![], forbidden.into())
        } else if s.body_limit_bytes.is_some_and(|l| text.len() > l) {
            (422, vec![], too_long())
        } else {
            if let Some(other) = s.race_on_create.take() {
                s.next_id += 1;
                let id = s.next_id;
                s.comments.push(Comment {
                    id,
                    body: other,
                    user: BOT.into(),
                    created: None,
                });
            }
            s.next_id += 1;
            let c = Comment {
                id: s.next_id,
                body: text.into(),
                user: author,
                created: Some(Instant::now()),
            };
            s.comments.push(c.clone());
            (201, vec![], comment_json(base, &c).to_string())
        }
    } else if let Some(id) = path
        .strip_prefix(&format!("/repos/{REPO}/issues/comments/"))
        .and_then(|i| i.parse::<u64>().ok())
    {
        let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
        let pos = s.comments.iter().position(|c| c.id == id);
        match (method.as_str(), pos) {
            (_, None) => (404, vec![], r#"{"message":"Not Found"}"#.into()),
            _ if s.comments_forbidden => (403, vec![], forbidden.into()),
            ("PATCH", Some(_)) if s.body_limit_bytes.is_some_and(|l| text.len() > l) => {
                (422, vec![], too_long())
            }
            ("GET", Some(i)) => (200, vec![], comment_json(base, &s.comments[i]).to_string()),
            ("PATCH", Some(i)) => {
                s.comments[i].body = text.into();
                (200, vec![], comment_json(base, &s.comments[i]).to_string())
            }
            ("DELETE", Some(i)) => {
                s.comments.remove(i);
                (204, vec![], String::new())
            }
            _ => (405, vec![], "{}".into()),
        }
    } else if path == format!("/repos/{REPO}/check-runs") && method == "POST" {
        if s.checks_forbidden {
            (403, vec![], forbidden.into())
        } else {
            let n = body
                .pointer("/output/annotations")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            s.annotation_batches.push(n);
            let id = 5000 + s.check_runs.len() as u64;
            let mut run = body.clone();
            run["id"] = json!(id);
            run["html_url"] = json!(format!("{base}/{REPO}/runs/{id}"));
            s.check_runs.push(run.clone());
            (201, vec![], run.to_string())
        }
    } else if let Some(id) = path
        .strip_prefix(&format!("/repos/{REPO}/check-runs/"))
        .and_then(|i| i.parse::<u64>().ok())
    {
        let n = body
            .pointer("/output/annotations")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        s.annotation_batches.push(n);
        match s.check_runs.iter().position(|r| r["id"] == json!(id)) {
            Some(i) => (200, vec![], s.check_runs[i].to_string()),
            None => (404, vec![], r#"{"message":"Not Found"}"#.into()),
        }
    } else if path.starts_with(&format!("/repos/{REPO}/commits/")) && path.ends_with("/check-runs")
    {
        let runs = s.check_runs.clone();
        (
            200,
            vec![],
            json!({"total_count": runs.len(), "check_runs": runs}).to_string(),
        )
    } else if let Some(n) = path.strip_prefix(&format!("/repos/{REPO}/pulls/")) {
        (
            200,
            vec![],
            json!({"number": n.parse::<u64>().unwrap_or(0), "head": {"sha": s.pr_head_sha}})
                .to_string(),
        )
    } else {
        (404, vec![], r#"{"message":"Not Found"}"#.into())
    };
    drop(s);
    match deferred {
        Some(f) => respond(req, f.status, &f.headers, &f.body),
        None => respond(req, status, &headers, &out),
    }
}

fn too_long() -> String {
    json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}]}).to_string()
}

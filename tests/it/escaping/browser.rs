//! The HTML outputs (parity report, site pages with their SVG charts) opened in headless
//! Chromium with script payloads in every name: no title changes, no live markup, no
//! connection to a loopback listener.

use super::*;
use serde_json::json;

/// A tiny TCP listener on loopback that counts connections.
pub(super) struct Listener {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

pub(super) fn listener() -> Listener {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    Listener { port, hits }
}

/// Payloads that, if they ran, change the title or call the listener.
pub(super) fn script_payloads(port: u16) -> Vec<String> {
    vec![
        format!("<script>document.title='PWNED';fetch('http://127.0.0.1:{port}/s')</script>"),
        format!("\"><img src=x onerror=\"document.title='PWNED';fetch('http://127.0.0.1:{port}/i')\">"),
        format!("'><svg onload=\"document.title='PWNED'\"><image href=\"http://127.0.0.1:{port}/v\"/>"),
        format!("</title></text><script>document.title='PWNED'</script><img src=\"http://127.0.0.1:{port}/t\">"),
        format!("javascript:fetch('http://127.0.0.1:{port}/j')"),
    ]
}

/// The tags of a serialised DOM (where text `<` is always `&lt;`), quotes respected.
pub(super) fn tags(dom: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = dom.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let start = i;
        let mut quote = None;
        while i < b.len() {
            match (quote, b[i]) {
                (None, b'"' | b'\'') => quote = Some(b[i]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            i += 1;
        }
        out.push(&dom[start..i.min(b.len())]);
    }
    out
}

/// A tag's name and attributes (`name`, unquoted value), lower-cased names.
pub(super) fn attributes(tag: &str) -> (String, Vec<(String, String)>) {
    let body = tag.trim_start_matches('<');
    let name_end = body
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(body.len());
    let name = body[..name_end].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut rest = &body[name_end..];
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() || rest.starts_with('>') {
            break;
        }
        let n_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
            .unwrap_or(rest.len());
        let attr = rest[..n_end].to_ascii_lowercase();
        rest = rest[n_end..].trim_start();
        let mut value = String::new();
        if let Some(v) = rest.strip_prefix('=') {
            let v = v.trim_start();
            let (val, after) = match v.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &v[1..];
                    let end = inner.find(q).unwrap_or(inner.len());
                    (&inner[..end], inner.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = v
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(v.len());
                    (&v[..end], &v[end..])
                }
            };
            value = val.to_string();
            rest = after;
        }
        attrs.push((attr, value));
    }
    (name, attrs)
}

/// Script elements, event-handler attributes and `javascript:` or loopback URLs.
pub(super) fn live_markup(dom: &str) -> Vec<String> {
    tags(dom)
        .into_iter()
        .filter(|t| {
            let (name, attrs) = attributes(t);
            name == "script"
                || attrs.iter().any(|(a, v)| {
                    let v = v.trim().to_ascii_lowercase();
                    a.starts_with("on")
                        || (["href", "src", "xlink:href", "action", "formaction", "data"]
                            .contains(&a.as_str())
                            && (v.starts_with("javascript:") || v.contains("127.0.0.1")))
                })
        })
        .map(clip)
        .collect()
}

pub(super) fn assert_inert_in_chromium(page: &Path, l: &Listener) {
    let (dom, log) = chromium_dump_dom(&page.display().to_string());
    assert!(
        dom.contains("</html>"),
        "{} did not load: {log}",
        page.display()
    );
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("");
    // A payload sets exactly this title; the names themselves may show in it as text.
    assert_ne!(
        title.trim(),
        "PWNED",
        "{}: a script changed the title",
        page.display()
    );
    let live = live_markup(&dom);
    assert!(
        live.is_empty(),
        "{}: live markup from a payload: {live:?}",
        page.display()
    );
    assert_eq!(
        l.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "{}: the page called the loopback listener",
        page.display()
    );
}

#[test]
fn parity_html_runs_no_payload_in_chromium() {
    let dir = tempdir();
    let ws = dir.path();
    let l = listener();
    parity_inputs(ws, &script_payloads(l.port));
    let out = run(step(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--html",
        "parity.html",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = read(&ws.join("parity.html"));
    assert!(
        html.contains("<svg"),
        "charts with the hostile names are in"
    );
    assert!(html.contains("PWNED"), "the names are shown");
    assert_inert_in_chromium(&ws.join("parity.html"), &l);
}

#[test]
fn published_site_runs_no_payload_in_chromium() {
    let dir = tempdir();
    let ws = dir.path();
    let l = listener();
    let evil = script_payloads(l.port);
    parity_inputs(ws, &evil);
    let out = run(step(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Backends and metrics named with the payloads, over three runs, for the charts.
    let mut history = serde_json::Map::new();
    for d in 1..=3 {
        let mut run = serde_json::Map::new();
        for (i, p) in evil.iter().enumerate() {
            run.insert(
                format!("b{i}{p}"),
                json!({ format!("{p}_sec"): 1.0 + f64::from(d) / 10.0, "stft_sec": 0.4 }),
            );
        }
        history.insert(format!("2026-02-0{d}"), serde_json::Value::Object(run));
    }
    write(
        &ws.join("benchmarks/baseline.json"),
        &serde_json::Value::Object(history.clone()).to_string(),
    );
    let current = history
        .get("2026-02-03")
        .cloned()
        .unwrap_or_else(|| panic!("run"));
    write(&ws.join("current.json"), &current.to_string());
    write(
        &ws.join(".github/htdemucs-devops.yml"),
        &format!("publish:\n  project: {}\n", yaml_str(&evil[0])),
    );
    let out = run(step(ws).args([
        "benchmark",
        "compare",
        "--baseline",
        "benchmarks/baseline.json",
        "--current",
        "current.json",
    ]));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    std::fs::remove_file(ws.join("summary.md")).unwrap_or_else(|e| panic!("{e}"));
    let out = run(step(ws).env("SOURCE_DATE_EPOCH", "1770300000").args([
        "publish",
        "--site-dir",
        "site",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_clean("publish", &out);
    assert_markdown_clean("publish summary", &read(&ws.join("summary.md")));
    let mut pages = Vec::new();
    let mut stack = vec![ws.join("site")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html" || x == "svg") {
                pages.push(p);
            }
        }
    }
    assert!(pages.len() >= 5, "{pages:?}");
    let charts = pages.iter().filter(|p| read(p).contains("<svg")).count();
    assert!(charts > 0, "the site has SVG charts");
    for p in &pages {
        assert_inert_in_chromium(p, &l);
    }
}

//! The escaping suite's checkers: which lines actions/runner would run as workflow
//! commands, which lines a CR/LF in a field started, and Markdown that breaks out.

use super::browser::live_markup;
use super::*;
use std::process::Output;

/// Command names the product writes.
pub(super) const OURS: [&str; 6] = [
    "error", "warning", "notice", "group", "endgroup", "add-mask",
];
/// What the runner registers (it ignores `::name::` for other names, then tries `##[`).
pub(super) const REGISTERED: [&str; 16] = [
    "error",
    "warning",
    "notice",
    "debug",
    "group",
    "endgroup",
    "add-mask",
    "add-matcher",
    "remove-matcher",
    "set-output",
    "set-env",
    "add-path",
    "save-state",
    "echo",
    "stop-commands",
    "internal-set-repo-path",
];

/// Lines as the runner's `StreamReader.ReadLine` splits them: at LF, CR or CRLF.
pub(super) fn runner_lines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        out.push(&rest[..end]);
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + skip..];
    }
    out
}

/// One command the runner would parse out of a line.
#[derive(Debug)]
pub(super) struct Parsed {
    legacy: bool,
    name: String,
    props: Vec<String>,
    data: String,
}

/// actions/runner `ActionCommand.TryParseV2` (`::name props::data` after `TrimStart`),
/// then, when that fails or names an unregistered command, `TryParse` (`##[name props]data`
/// anywhere in the line). Stricter than the runner: any name counts.
pub(super) fn parse(line: &str) -> Option<Parsed> {
    let t = line.trim_start();
    if let Some(after) = t.strip_prefix("::") {
        if let Some(end) = after.find("::") {
            let info = &after[..end];
            let (name, props) = info.split_once(' ').unwrap_or((info, ""));
            if REGISTERED.contains(&name) || !line.contains("##[") {
                return Some(Parsed {
                    legacy: false,
                    name: name.to_string(),
                    props: props
                        .split(',')
                        .filter_map(|p| p.split_once('=').map(|(_, v)| v.to_string()))
                        .collect(),
                    data: after[end + 2..].to_string(),
                });
            }
        }
    }
    let i = line.find("##[")?;
    let rb = line[i + 3..].find(']')? + i + 3;
    let info = &line[i + 3..rb];
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    Some(Parsed {
        legacy: true,
        name: name.to_string(),
        props: props
            .split(';')
            .filter_map(|p| p.split_once('=').map(|(_, v)| v.to_string()))
            .collect(),
        data: line[rb + 1..].to_string(),
    })
}

/// Every line of `text` the runner would run as a command that we did not write: ours
/// start at column 0, use the modern form and one of our names, and what they carry was
/// escaped (so it never *starts* with a payload's marker).
pub(super) fn forged(text: &str) -> Vec<String> {
    runner_lines(text)
        .into_iter()
        .filter_map(|line| {
            let p = parse(line)?;
            let ours = !p.legacy
                && line.starts_with("::")
                && OURS.contains(&p.name.as_str())
                && !p.data.starts_with("PWN")
                && !p.props.iter().any(|v| v.starts_with("PWN"));
            (!ours).then(|| format!("{p:?} from {:?}", clip(line)))
        })
        .collect()
}

pub(super) fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

/// Lines whose start came from the inside of an untrusted field: the text after a CR or
/// LF in a payload, seen at the start of a line (ZWSPs removed, as a reader sees it).
pub(super) fn broken_lines(text: &str) -> Vec<String> {
    let tails = [
        "::error::PWN07",
        "::error::PWN08",
        "##[warning]PWN09",
        "::error::PWN17",
    ];
    runner_lines(text)
        .into_iter()
        .map(|l| l.replace('\u{200B}', ""))
        .filter(|l| tails.iter().any(|t| l.trim_start().starts_with(t)))
        .map(|l| clip(&l))
        .collect()
}

pub(super) fn assert_clean(what: &str, out: &Output) {
    for (stream, text) in [("stdout", stdout(out)), ("stderr", stderr(out))] {
        let bad = forged(&text);
        assert!(
            bad.is_empty(),
            "{what}: {} forged command(s) on {stream}:\n{}",
            bad.len(),
            bad.join("\n")
        );
        let broken = broken_lines(&text);
        assert!(
            broken.is_empty(),
            "{what}: a CR/LF in a field started a line on {stream}:\n{}",
            broken.join("\n")
        );
    }
}

/// Removes fenced code blocks (their content is literal text in GitHub Markdown).
pub(super) fn outside_fences(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<(char, usize)> = None;
    for line in md.lines() {
        let t = line.trim_start_matches(' ');
        let indent = line.len() - t.len();
        let run = |c: char| t.chars().take_while(|&x| x == c).count();
        match fence {
            Some((c, n)) => {
                if indent < 4 && run(c) >= n && t.trim_start_matches(c).trim().is_empty() {
                    fence = None;
                }
            }
            None => {
                let (bt, tl) = (run('`'), run('~'));
                if indent < 4 && (bt >= 3 || tl >= 3) {
                    fence = Some(if bt >= 3 { ('`', bt) } else { ('~', tl) });
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Markdown that rendered on GitHub would let a payload out of its place.
pub(super) fn markdown_breakouts(md: &str) -> Vec<String> {
    let live = outside_fences(md);
    let mut bad = Vec::new();
    for raw in [
        "<script",
        "<img",
        "onerror=\"",
        "</details>PWN13",
        "<details><summary>x",
        "<!-- htdemucs-devops:comment:default -->PWN14",
    ] {
        if live.contains(raw) {
            bad.push(format!("raw {raw:?}"));
        }
    }
    let opened = live.matches("<details").count();
    let closed = live.matches("</details>").count();
    if opened != closed {
        bad.push(format!("{opened} <details> but {closed} </details>"));
    }
    bad
}

pub(super) fn assert_markdown_clean(what: &str, md: &str) {
    let bad = markdown_breakouts(md);
    if !bad.is_empty() {
        let keep = std::env::temp_dir().join(format!("escaping-{}.md", what.replace(' ', "-")));
        let _ = std::fs::write(&keep, md);
        panic!("{what}: {bad:?} (kept in {})", keep.display());
    }
}

#[test]
fn the_checker_flags_what_the_runner_would_run() {
    let forged_lines = [
        "::error::PWN forged",
        "   ::warning::x",
        "\t::set-output name=a::b",
        "text ##[error]x",
        "##[add-mask]secret",
        "::error file=a.py::ok\r::error::PWN",
        "::bogus::x",
        "::group::PWN",
    ];
    for l in forged_lines {
        assert!(!forged(l).is_empty(), "missed {l:?}");
    }
    let fine = [
        "::error file=a.py,line=3,title=%3A%3Aerror%3A%3APWN::%3A::error::PWN01 forged",
        "::group::lint: ::error::PWN01",
        "::endgroup::",
        "plain text :: with colons",
        "  :\u{200B}:error::PWN02",
        "a ##\u{200B}[error]PWN04",
        "::error::x ##[error]PWN in our escaped data",
    ];
    for l in fine {
        assert!(forged(l).is_empty(), "flagged {l:?}: {:?}", forged(l));
    }
    assert_eq!(runner_lines("a\rb\r\nc\nd"), ["a", "b", "c", "d"]);
    assert!(!broken_lines("x\n  ::error::PWN07 after LF").is_empty());
    assert!(!markdown_breakouts("<details>\n</details>PWN13<details><summary>x\n").is_empty());
    assert!(markdown_breakouts("```\n<script>\n```\n<details>\n</details>\n").is_empty());
    let dom = r#"<p title="&quot;><img onerror=x>">a</p><img src=x onerror="y"><svg onload='z'></svg><a href=" javascript:x">"#;
    assert_eq!(live_markup(dom).len(), 3, "{:?}", live_markup(dom));
    assert!(live_markup("<script>x</script>").len() == 1);
    assert!(live_markup("<p aria-label=\"onerror=x javascript:\">t</p>").is_empty());
}

//! Finds the shell commands in Markdown: fenced blocks of a shell kind (or unlabelled ones
//! that read as commands), their command lines with continuations joined and comments
//! dropped, split at pipes and `&&`/`;` into simple commands without redirections or
//! leading `NAME=value` assignments.

/// One simple command of a documentation code block.
#[derive(Debug, Clone, PartialEq)]
pub struct DocCommand {
    /// The Markdown file, as given to [`commands_in`].
    pub file: String,
    /// 1-based line of the command's first line in that file.
    pub line: usize,
    /// The whole command line as written (continuations joined, comment dropped).
    pub text: String,
    /// The program and its arguments, quotes removed.
    pub words: Vec<String>,
}

impl DocCommand {
    /// The program's name without its folder (`target/release/x` -> `x`).
    pub fn program(&self) -> &str {
        let p = self.words.first().map(String::as_str).unwrap_or("");
        p.rsplit('/').next().unwrap_or(p)
    }

    pub fn args(&self) -> &[String] {
        &self.words[1..]
    }
}

/// Info strings of fenced blocks that hold shell commands.
const SHELL_KINDS: &[&str] = &["sh", "bash", "shell", "console", "zsh", "shell-session"];

/// Every simple command in the shell blocks of `text`. An unlabelled block counts when a
/// line starts with `$ ` or its first command's program is one of `known`.
pub fn commands_in(file: &str, text: &str, known: &[&str]) -> Vec<DocCommand> {
    let mut out = Vec::new();
    for block in fenced_blocks(text) {
        let kind = block.info.split_whitespace().next().unwrap_or("");
        let kind = kind.to_ascii_lowercase();
        let prompted = block
            .lines
            .iter()
            .any(|(_, l)| l.trim_start().starts_with("$ "));
        let shell = if kind.is_empty() {
            prompted || first_program(&block.lines).is_some_and(|p| known.contains(&p.as_str()))
        } else {
            SHELL_KINDS.contains(&kind.as_str())
        };
        if shell {
            for (line, text) in logical_lines(&block.lines, prompted) {
                for words in simple_commands(&text) {
                    out.push(DocCommand {
                        file: file.to_string(),
                        line,
                        text: text.clone(),
                        words,
                    });
                }
            }
        }
    }
    out
}

struct Block {
    info: String,
    /// (1-based line number, text without the fence's indentation)
    lines: Vec<(usize, String)>,
}

fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, char, usize, Block)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        let fence = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = fence.map_or(0, |c| trimmed.chars().take_while(|x| *x == c).count());
        match open.take() {
            None => {
                if let (Some(c), true) = (fence, run >= 3) {
                    let info = trimmed[run..].trim().to_string();
                    let block = Block {
                        info,
                        lines: Vec::new(),
                    };
                    open = Some((indent, c, run, block));
                }
            }
            Some((ind, c, len, mut block)) => {
                if fence == Some(c) && run >= len && trimmed[run..].trim().is_empty() {
                    blocks.push(block);
                } else {
                    let cut = raw.len() - raw.trim_start_matches(' ').len();
                    block.lines.push((i + 1, raw[cut.min(ind)..].to_string()));
                    open = Some((ind, c, len, block));
                }
            }
        }
    }
    blocks
}

/// The program of a block's first command line, if it has one.
fn first_program(lines: &[(usize, String)]) -> Option<String> {
    let (_, text) = logical_lines(lines, false).into_iter().next()?;
    let words = simple_commands(&text).into_iter().next()?;
    let p = words.first()?;
    Some(p.rsplit('/').next().unwrap_or(p).to_string())
}

/// Command lines with their line numbers: `\` continuations joined, comments and blank
/// lines dropped; with `prompted`, only lines after a `$ ` prompt (the rest is output).
fn logical_lines(lines: &[(usize, String)], prompted: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, raw) in lines {
        let body = match (&current, prompted) {
            (Some(_), _) => raw.as_str(),
            (None, true) => match raw.trim_start().strip_prefix("$ ") {
                Some(rest) => rest,
                None => continue,
            },
            (None, false) => raw.as_str(),
        };
        let body = strip_comment(body);
        let (body, continues) = match body.trim_end().strip_suffix('\\') {
            Some(b) => (b.to_string(), true),
            None => (body.trim_end().to_string(), false),
        };
        let (line, mut text) = current.take().unwrap_or((*n, String::new()));
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(body.trim());
        if continues {
            current = Some((line, text));
        } else if !text.is_empty() {
            out.push((line, text));
        }
    }
    if let Some((line, text)) = current {
        out.push((line, text));
    }
    out
}

/// `line` up to a `#` that starts a word outside quotes.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// The simple commands of one command line, as words: split at `|`, `||`, `&&`, `;`
/// and `&`, redirections and leading `NAME=value` assignments removed, quotes undone.
/// `$(...)` stays verbatim inside its word.
pub fn simple_commands(line: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = line.chars().collect();
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut redirect_target = false;
    let mut i = 0;
    let finish = |word: &mut Option<String>, words: &mut Vec<String>, skip: &mut bool| {
        if let Some(w) = word.take() {
            if *skip {
                *skip = false;
            } else {
                words.push(w);
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => finish(&mut word, &mut words, &mut redirect_target),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    w.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    w.push(chars[i]);
                    i += 1;
                }
            }
            '\\' => {
                i += 1;
                if let Some(n) = chars.get(i) {
                    word.get_or_insert_with(String::new).push(*n);
                }
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                let w = word.get_or_insert_with(String::new);
                w.push('$');
                i += 1;
                let mut depth = 0;
                while i < chars.len() {
                    w.push(chars[i]);
                    match chars[i] {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                    i += 1;
                }
            }
            '|' | '&' | ';' => {
                finish(&mut word, &mut words, &mut redirect_target);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
                while matches!(chars.get(i + 1), Some('|' | '&')) {
                    i += 1;
                }
            }
            '>' | '<' => {
                // `2>` names a descriptor, not a word of the command.
                if word
                    .as_deref()
                    .is_some_and(|w| w.chars().all(|d| d.is_ascii_digit()))
                {
                    word = None;
                }
                finish(&mut word, &mut words, &mut redirect_target);
                while matches!(chars.get(i + 1), Some('>' | '<')) {
                    i += 1;
                }
                if chars.get(i + 1) == Some(&'&') {
                    // `>&2`: a descriptor, no file follows.
                    i += 1;
                    while chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                        i += 1;
                    }
                } else {
                    redirect_target = true;
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
        i += 1;
    }
    finish(&mut word, &mut words, &mut redirect_target);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
        .into_iter()
        .map(|ws| ws.into_iter().skip_while(|w| is_assignment(w)).collect())
        .filter(|ws: &Vec<String>| !ws.is_empty())
        .collect()
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Vec<String>> {
        simple_commands(line)
    }

    #[test]
    fn splits_pipes_redirections_quotes_and_assignments() {
        assert_eq!(
            words("ruff check --output-format json . > ruff.json"),
            vec![vec!["ruff", "check", "--output-format", "json", "."]]
        );
        assert_eq!(
            words("swiftformat --lint . 2> out.txt && A=1 B='x y' make demo SOURCES=4"),
            vec![
                vec!["swiftformat", "--lint", "."],
                vec!["make", "demo", "SOURCES=4"]
            ]
        );
        assert_eq!(
            words("htdemucs-devops test --junit 'reports/**/*.xml' \"a b\" 2>&1 | tee log"),
            vec![
                vec![
                    "htdemucs-devops",
                    "test",
                    "--junit",
                    "reports/**/*.xml",
                    "a b"
                ],
                vec!["tee", "log"]
            ]
        );
        assert_eq!(
            words("export P=$(python -c 'import os; print(1)')/lib"),
            vec![vec!["export", "P=$(python -c 'import os; print(1)')/lib"]]
        );
        assert!(words("V=0.1.0 T=x86_64").is_empty());
    }

    #[test]
    fn finds_shell_blocks_joins_continuations_and_skips_output() {
        let doc = "# t\n\n```yaml\nmake: not a command\n```\n\
                   ```sh\nhtdemucs-devops test --junit a.xml \\\n   --junit b.xml   # both\n\
                   # a comment line\n\nmake demo # the demo\n```\n\
                   - a list item:\n  ```console\n  $ make lint\n  lint: ok\n  ```\n\
                   ```\nconfig  a diagram, not commands\n```\n\
                   ```\nmake test\n```\n~~~bash\ncargo build\n~~~\n";
        let found: Vec<(usize, Vec<String>)> = commands_in("d.md", doc, &["make"])
            .into_iter()
            .map(|c| (c.line, c.words))
            .collect();
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            found,
            vec![
                (7, w("htdemucs-devops test --junit a.xml --junit b.xml")),
                (11, w("make demo")),
                (15, w("make lint")),
                (22, w("make test")),
                (25, w("cargo build")),
            ]
        );
    }
}

//! The console: the single sink for everything the binary prints. It shapes output for
//! where we run — workflow commands and plain lines in CI, colour and progress bars in a
//! terminal — and enforces GitHub's per-step annotation limits.

use std::cell::Cell;
use std::io::Write;

use crate::github::commands::{command, random_token};
use crate::github::env::{Host, RunEnv};
use crate::report::terminal::{sanitize, Style};
use crate::report::{Annotation, Level};

/// GitHub shows at most this many annotations of each level per step.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

pub struct Console {
    env: RunEnv,
    /// Annotations already sent this step, per level (error, warning, notice).
    sent: [Cell<usize>; 3],
}

fn slot(level: Level) -> usize {
    match level {
        Level::Error => 0,
        Level::Warning => 1,
        Level::Notice => 2,
    }
}

impl Console {
    pub fn new(env: RunEnv) -> Self {
        Console {
            env,
            sent: Default::default(),
        }
    }

    pub fn env(&self) -> &RunEnv {
        &self.env
    }

    pub fn style(&self) -> Style {
        Style {
            color: self.env.color,
        }
    }

    fn actions(&self) -> bool {
        self.env.host.speaks_workflow_commands()
    }

    /// Writes to stdout; a closed pipe (`| head`) is not an error worth reporting.
    fn write_out(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    }

    /// Progress and notes: stderr locally (stdout stays the result), stdout in Actions so
    /// that lines and workflow commands keep their order in the log.
    fn write_log(&self, text: &str) {
        if self.actions() {
            self.write_out(text);
        } else {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
        }
    }

    /// The phase's result text (already rendered for this host).
    pub fn print(&self, text: &str) {
        self.write_out(text);
        if !text.ends_with('\n') {
            self.write_out("\n");
        }
    }

    /// A plain progress/informational line.
    pub fn info(&self, msg: &str) {
        let line = sanitize(msg);
        if self.env.host == Host::Local {
            self.write_log(&format!("{}\n", self.style().dim(&line)));
        } else {
            self.write_log(&format!("{line}\n"));
        }
    }

    /// A run-level notice or warning (not tied to a file), counted against the caps.
    pub fn say(&self, level: Level, msg: &str) {
        self.annotate(&[Annotation::new(level, msg)], "the report");
    }
    /// Sends annotations: in Actions as workflow commands, at most
    /// [`ANNOTATIONS_PER_LEVEL`] per level per step (the caller orders them most important
    /// first), then one line saying how many more there are and where to find them.
    /// Elsewhere only run-level ones (no file) are printed, as `level: message` lines.
    pub fn annotate(&self, annotations: &[Annotation], full_report: &str) {
        let mut sorted: Vec<&Annotation> = annotations.iter().collect();
        sorted.sort_by_key(|a| a.level); // stable: keeps the caller's order within a level
        let mut dropped = [0usize; 3];
        for a in sorted {
            if !self.actions() {
                // Outside Actions the phase's terminal summary already lists findings
                // with their places; only run-level messages need a line of their own.
                if a.file.is_none() {
                    self.write_log(&format!("{}\n", self.local_line(a)));
                }
                continue;
            }
            let s = slot(a.level);
            // One error slot stays free for the reason of a failure to run (`fatal`).
            let cap = ANNOTATIONS_PER_LEVEL - usize::from(a.level == Level::Error);
            if self.sent[s].get() >= cap {
                dropped[s] += 1;
                continue;
            }
            self.sent[s].set(self.sent[s].get() + 1);
            let props = [
                ("file", a.file.clone().unwrap_or_default()),
                ("line", a.line.map(|v| v.to_string()).unwrap_or_default()),
                (
                    "endLine",
                    a.end_line.map(|v| v.to_string()).unwrap_or_default(),
                ),
                ("col", a.col.map(|v| v.to_string()).unwrap_or_default()),
                (
                    "endColumn",
                    a.end_col.map(|v| v.to_string()).unwrap_or_default(),
                ),
                ("title", a.title.clone().unwrap_or_default()),
            ];
            self.write_out(&format!(
                "{}\n",
                command(a.level.command(), &props, &a.message)
            ));
        }
        let names = ["errors", "warnings", "notices"];
        for (i, n) in dropped.iter().enumerate() {
            if *n > 0 {
                self.write_out(&format!(
                    "{n} more {} than GitHub shows per step are listed in the step summary and {}\n",
                    names[i],
                    sanitize(full_report)
                ));
            }
        }
    }

    /// The reason the tool could not do its job (exit 2), in Actions: an error
    /// annotation in the slot [`Console::annotate`] keeps free, so GitHub's per-step cap
    /// cannot swallow it, and a line in the step summary.
    pub fn fatal(&self, msg: &str) {
        self.write_out(&format!("{}\n", command("error", &[], msg)));
        if let Some(summary) = &self.env.step_summary {
            let md = format!(
                "**htdemucs-devops could not do its job:** {}\n",
                crate::report::markdown::escape(msg)
            );
            let _ = crate::github::files::append_summary(summary, &md, "the log");
        }
    }

    fn local_line(&self, a: &Annotation) -> String {
        let st = self.style();
        let level = match a.level {
            Level::Error => st.red("error"),
            Level::Warning => st.yellow("warning"),
            Level::Notice => st.bold("note"),
        };
        let mut place = a.file.clone().unwrap_or_default();
        if let Some(line) = a.line {
            place.push_str(&format!(":{line}"));
            if let Some(col) = a.col {
                place.push_str(&format!(":{col}"));
            }
        }
        let title = a
            .title
            .as_deref()
            .map(|t| format!("[{}] ", sanitize(t)))
            .unwrap_or_default();
        let msg = sanitize(&a.message);
        if place.is_empty() {
            format!("{level}: {title}{msg}")
        } else {
            format!("{}: {level}: {title}{msg}", sanitize(&place))
        }
    }

    /// Runs `f` inside a foldable group (`::group::` in Actions, a header elsewhere).
    pub fn group<T>(&self, title: &str, f: impl FnOnce() -> T) -> T {
        if self.actions() {
            self.write_out(&format!("{}\n", command("group", &[], title)));
        } else {
            self.write_log(&format!(
                "{}\n",
                self.style().bold(&format!("── {} ", sanitize(title)))
            ));
        }
        let result = f();
        if self.actions() {
            self.write_out("::endgroup::\n");
        }
        result
    }

    /// Echoes raw, untrusted tool output. In Actions it is fenced by
    /// `::stop-commands::<token>` so nothing in it is read as a workflow command; the
    /// token is random, so the text cannot guess it to resume command processing.
    pub fn raw(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let body = if text.ends_with('\n') {
            text.to_string()
        } else {
            format!("{text}\n")
        };
        if self.actions() {
            let token = random_token();
            self.write_out(&format!("::stop-commands::{token}\n{body}::{token}::\n"));
        } else {
            self.write_log(&sanitize_keep_lines(&body));
        }
    }

    /// A progress indicator for `len` steps: a bar in a terminal, plain lines elsewhere.
    pub fn progress(&self, len: u64, label: &str) -> Progress {
        if self.env.progress_bars {
            let bar = indicatif::ProgressBar::new(len);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(sanitize(label));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            Progress {
                bar: Some(bar),
                label: label.to_string(),
                len,
                pos: Cell::new(0),
            }
        } else {
            Progress {
                bar: None,
                label: label.to_string(),
                len,
                pos: Cell::new(0),
            }
        }
    }
}

fn sanitize_keep_lines(s: &str) -> String {
    s.split('\n').map(sanitize).collect::<Vec<_>>().join("\n")
}

/// Progress handle from [`Console::progress`].
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    len: u64,
    pos: Cell<u64>,
}

impl Progress {
    /// Marks the start of the next step, named `what`.
    pub fn step(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(sanitize(what)),
            None => {
                let n = self.pos.get() + 1;
                eprintln!(
                    "[{}/{}] {}: {}",
                    n.min(self.len),
                    self.len,
                    sanitize(&self.label),
                    sanitize(what)
                );
            }
        }
    }

    /// Marks the current step done.
    pub fn inc(&self) {
        self.pos.set(self.pos.get() + 1);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

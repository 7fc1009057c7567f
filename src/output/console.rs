//! The console: the single sink for everything the binary prints. It shapes output for
//! where we run — workflow commands and plain lines in CI, colour and progress bars in a
//! terminal — and enforces GitHub's per-step annotation limits. It is also the output
//! chokepoint: every byte goes through [`Sink`], which masks secrets and, where workflow
//! commands are read, neutralises every line that is not a command we built.

use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;

use crate::output::terminal::{sanitize, Style};
use crate::output::workflow::{command, inert_json, neutralize, WorkflowCommand};
use crate::output::{Annotation, Level};
use crate::run_env::{Host, RunEnv};
use crate::secrets::Secrets;

/// GitHub shows at most this many annotations of each level per step.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

/// Where a piece of text goes.
#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// The one place bytes leave the process. Text is never trusted here: secret values are
/// masked, and in Actions (and act) [`neutralize`] makes every line inert, whatever it
/// carries (tool output, test names, array names, table cells with newlines in them).
/// Only a [`WorkflowCommand`], which escapes what it carries, is written as it is.
#[derive(Clone)]
struct Sink {
    neutralize: bool,
    secrets: Secrets,
}

impl Sink {
    fn clean(&self, text: &str) -> String {
        let masked = self.secrets.mask(text);
        if self.neutralize {
            neutralize(&masked)
        } else {
            masked.into_owned()
        }
    }

    /// Writes text; a closed pipe (`| head`) is not an error worth reporting.
    fn text(&self, stream: Stream, text: &str) {
        self.bytes(stream, self.clean(text).as_bytes());
    }

    fn command(&self, c: &WorkflowCommand) {
        // `add-mask` must carry the value it registers; anything else is masked.
        let line = if c.name() == "add-mask" {
            c.as_str().to_string()
        } else {
            self.secrets.mask(c.as_str()).into_owned()
        };
        self.bytes(Stream::Out, format!("{line}\n").as_bytes());
    }

    fn bytes(&self, stream: Stream, bytes: &[u8]) {
        let _ = match stream {
            Stream::Out => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|_| out.flush())
            }
            Stream::Err => {
                let mut err = std::io::stderr().lock();
                err.write_all(bytes).and_then(|_| err.flush())
            }
        };
    }
}

/// The console keeps what printing needs, fixed at construction; the run environment
/// itself travels on the context ([`crate::context::Ctx::env`]).
pub struct Console {
    host: Host,
    style: Style,
    progress_bars: bool,
    /// Where a fatal error is also written in Actions.
    step_summary: Option<PathBuf>,
    sink: Sink,
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
    /// A console for the run `env` describes: where it runs, colour, progress bars, the
    /// secrets to mask and the step summary a fatal error also goes to.
    pub fn new(env: &RunEnv) -> Self {
        let sink = Sink {
            neutralize: env.host.speaks_workflow_commands(),
            secrets: env.secrets.clone(),
        };
        Console {
            host: env.host,
            style: Style { color: env.color },
            progress_bars: env.progress_bars,
            step_summary: env.step_summary.clone(),
            sink,
            sent: Default::default(),
        }
    }

    pub fn style(&self) -> Style {
        self.style
    }

    /// The secret values this console masks, for text captured before it is printed.
    pub fn secrets(&self) -> &Secrets {
        &self.sink.secrets
    }

    fn actions(&self) -> bool {
        self.host.speaks_workflow_commands()
    }

    fn write_out(&self, text: &str) {
        self.sink.text(Stream::Out, text);
    }

    /// Progress and notes: stderr locally (stdout stays the result), stdout in Actions so
    /// that lines and workflow commands keep their order in the log.
    fn write_log(&self, text: &str) {
        let stream = if self.actions() {
            Stream::Out
        } else {
            Stream::Err
        };
        self.sink.text(stream, text);
    }

    /// Writes one workflow command we built (`::add-mask::`, ...). Only meaningful where
    /// commands are read; elsewhere nothing is written.
    pub fn command(&self, c: &WorkflowCommand) {
        if self.actions() {
            self.sink.command(c);
        }
    }

    /// Routes panic messages through the sink too (a panic's message may quote input).
    /// Only where workflow commands are read; elsewhere the default hook stays.
    pub fn guard_panics(&self) {
        if !self.actions() {
            return;
        }
        let sink = self.sink.clone();
        std::panic::set_hook(Box::new(move |info| {
            sink.text(
                Stream::Err,
                &format!("htdemucs-devops crashed (a bug, please report it): {info}\n"),
            );
        }));
    }

    /// Text that another library rendered for stderr (a usage error): passed through
    /// the sink like everything else.
    pub fn eprint(&self, text: &str) {
        self.sink.text(Stream::Err, text);
    }

    /// The phase's result text (already rendered for this host). A JSON document
    /// (`--format json`) is made inert in a way its parser cannot see.
    pub fn print(&self, text: &str) {
        let json = if self.actions() {
            inert_json(text)
        } else {
            None
        };
        self.write_out(json.as_deref().unwrap_or(text));
        if !text.ends_with('\n') {
            self.write_out("\n");
        }
    }

    /// A plain progress/informational line.
    pub fn info(&self, msg: &str) {
        let line = sanitize(msg);
        if self.host == Host::Local {
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
            self.sink
                .command(&command(a.level.command(), &props, &a.message));
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

    /// The reason the tool could not do its job (exit 2). In Actions: an error
    /// annotation in the slot [`Console::annotate`] keeps free, so GitHub's per-step cap
    /// cannot swallow it, and a line in the step summary. Elsewhere: `error: ` and the
    /// message on stderr, its lines kept (our own messages may span lines) but each
    /// sanitised (tool text may not move the cursor).
    pub fn fatal(&self, msg: &str) {
        if !self.actions() {
            let clean: Vec<String> = msg.lines().map(sanitize).collect();
            self.sink.text(
                Stream::Err,
                &format!("{} {}\n", self.style().red("error:"), clean.join("\n")),
            );
            return;
        }
        self.sink.command(&command("error", &[], msg));
        if let Some(summary) = &self.step_summary {
            let md = format!(
                "**htdemucs-devops could not do its job:** {}\n",
                crate::output::markdown::escape(msg)
            );
            let _ = crate::output::step_files::append_summary(summary, &md, "the log");
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
            self.sink.command(&command("group", &[], title));
        } else {
            self.write_log(&format!(
                "{}\n",
                self.style().bold(&format!("── {} ", sanitize(title)))
            ));
        }
        let result = f();
        if self.actions() {
            self.sink.command(&command("endgroup", &[], ""));
        }
        result
    }

    /// Echoes raw, untrusted tool output. In Actions the sink neutralises each line, so
    /// nothing in it is read as a workflow command while it reads as the tool wrote it;
    /// elsewhere control characters are shown as `?`. Secret values are masked either way.
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
            self.write_out(&body);
        } else {
            self.write_log(&sanitize_keep_lines(&body));
        }
    }

    /// A progress indicator for `len` steps: a bar in a terminal, plain lines elsewhere.
    pub fn progress(&self, len: u64, label: &str) -> Progress {
        if self.progress_bars {
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
                sink: self.sink.clone(),
                label: label.to_string(),
                len,
                pos: Cell::new(0),
            }
        } else {
            Progress {
                bar: None,
                sink: self.sink.clone(),
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
    sink: Sink,
    label: String,
    len: u64,
    pos: Cell<u64>,
}

impl Progress {
    /// Marks the start of the next step, named `what`.
    pub fn step(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(sanitize(&self.sink.secrets.mask(what))),
            None => {
                let n = self.pos.get() + 1;
                self.sink.text(
                    Stream::Err,
                    &format!(
                        "[{}/{}] {}: {}\n",
                        n.min(self.len),
                        self.len,
                        sanitize(&self.label),
                        sanitize(what)
                    ),
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

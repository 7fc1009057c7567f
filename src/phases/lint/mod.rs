//! The lint phase: runs the configured linters (optionally their fix mode first) or
//! ingests reports produced elsewhere, turns everything into one list of diagnostics
//! with workspace-relative paths, and hands the report to the output layer.

pub mod config;
pub mod render;
pub mod report;
pub mod tools;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::ingest::diagnostic::{Diagnostic, Format};
use crate::output::Level;
use crate::process::{run_tool, shell_words, Launch, ToolRun};
use report::{Counts, LintReport, Source, ToolResult};
use tools::{ReportSpec, ToolSpec};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Ingest a report produced elsewhere instead of running the tools: TOOL=FILE, where
    /// TOOL is ruff (`ruff check --output-format json`), ruff-format, swiftlint (JSON
    /// reporter), swiftformat (`--lint` output), generic (`file:line:col: severity:
    /// message` lines) or a tool named in lint.tools (repeatable)
    #[arg(long = "report", value_name = "TOOL=FILE")]
    pub reports: Vec<String>,
    /// Run the formatters' fix mode first (ruff check --fix, ruff format, swiftformat;
    /// `fix_command` in the config), then lint what is left
    #[arg(long)]
    pub fix: bool,
}

pub fn run(ctx: &Ctx, args: &LintArgs) -> Result<Outcome> {
    let config_name = ctx.config_path.as_ref().map_or_else(
        || "the built-in defaults".to_string(),
        |p| p.display().to_string(),
    );
    let specs = tools::resolve(&ctx.config.lint, &ctx.root, &config_name)?;
    let (results, diagnostics) = if args.reports.is_empty() {
        if args.fix {
            run_fixes(ctx, &specs)?;
        }
        run_tools(ctx, &specs, &config_name)?
    } else {
        if args.fix {
            bail!("--fix runs the tools, so it cannot be combined with --report; run `lint --fix` without --report");
        }
        let reports = args
            .reports
            .iter()
            .map(|a| tools::parse_report_arg(a, &specs, &ctx.root))
            .collect::<Result<Vec<_>>>()?;
        ingest_reports(ctx, &reports)?
    };
    let report = LintReport::build(
        results,
        diagnostics,
        ctx.config.lint.fail_on_warnings,
        args.fix,
    );
    ctx.emit(&report, crate::output::Show::Summary)
}

/// Makes every diagnostic's path relative to the workspace root.
fn relativize(ctx: &Ctx, diags: &mut [Diagnostic], base: &std::path::Path) {
    for d in diags {
        if let Some(f) = &d.file {
            d.file = Some(ctx.relative(f, base));
        }
    }
}

fn ingest_reports(ctx: &Ctx, reports: &[ReportSpec]) -> Result<(Vec<ToolResult>, Vec<Diagnostic>)> {
    let mut results = Vec::new();
    let mut all = Vec::new();
    for spec in reports {
        let shown = spec.file.display().to_string();
        let bytes = crate::fs::read_bytes(&spec.file, "the lint report").with_context(|| {
            format!(
                "--report {}={shown}: check the path and the file",
                crate::fs::clip(&spec.tool, 80)
            )
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let mut diags = spec
            .format
            .parse(&spec.tool, &text)
            .map_err(|e| anyhow!("{shown}: {e}"))?;
        if spec.format == Format::Generic && diags.is_empty() && !text.trim().is_empty() {
            bail!(
                "{shown}: not generic lint output (expected lines like `file:line:col: severity: message`): no line has that form — write one finding per line, severity error, warning or note"
            );
        }
        relativize(ctx, &mut diags, &spec.base);
        results.push(ToolResult {
            name: spec.tool.clone(),
            source: Source::Report { file: shown },
            counts: Counts::of(&diags),
        });
        all.extend(diags);
    }
    Ok((results, all))
}

fn ensure_folder(spec: &ToolSpec) -> Result<()> {
    if !spec.cwd.is_dir() {
        bail!(
            "the working directory of {} ({}) is not a folder; fix lint.tools[].working_directory",
            spec.name,
            spec.cwd.display()
        );
    }
    Ok(())
}

fn program(argv: &[String]) -> &str {
    argv.first().map_or("", String::as_str)
}

fn run_fixes(ctx: &Ctx, specs: &[ToolSpec]) -> Result<()> {
    for spec in specs {
        let Some(fix) = &spec.fix_command else {
            ctx.console
                .info(&format!("{} has no fix mode; it is only linted", spec.name));
            continue;
        };
        ensure_folder(spec)?;
        match run_tool(
            ctx.console,
            &format!("{} --fix", spec.name),
            fix,
            &spec.cwd,
            &[],
        )? {
            // The lint run that follows reports the missing tool (or fails if required).
            Launch::NotInstalled => {}
            Launch::Ran(run) => {
                if run.code.is_none() {
                    bail!(
                        "the fix command of {} ({}) was killed by a signal",
                        spec.name,
                        shell_words(fix)
                    );
                }
            }
        }
    }
    Ok(())
}

fn run_tools(
    ctx: &Ctx,
    specs: &[ToolSpec],
    config_name: &str,
) -> Result<(Vec<ToolResult>, Vec<Diagnostic>)> {
    let mut results = Vec::new();
    let mut all = Vec::new();
    for spec in specs {
        ensure_folder(spec)?;
        let prog = program(&spec.command);
        match run_tool(ctx.console, &spec.name, &spec.command, &spec.cwd, &[])? {
            Launch::NotInstalled if spec.required => bail!(
                "{} is required (required: true in {config_name}) but `{prog}` is not installed or not on PATH; install it or put it on PATH",
                spec.name
            ),
            Launch::NotInstalled => {
                ctx.console.say(
                    Level::Notice,
                    &format!(
                        "{} skipped: `{prog}` is not installed (install it, or list only the linters you use under lint.tools in {})",
                        spec.name,
                        ctx.config_path.as_ref().map_or_else(
                            || crate::config::DEFAULT_CONFIG_PATH.to_string(),
                            |p| p.display().to_string()
                        )
                    ),
                );
                results.push(ToolResult {
                    name: spec.name.clone(),
                    source: Source::Skipped {
                        reason: format!("`{prog}` is not installed"),
                    },
                    counts: Counts::default(),
                });
            }
            Launch::Ran(run) => {
                let mut diags = interpret(spec, &run)?;
                relativize(ctx, &mut diags, &spec.cwd);
                results.push(ToolResult {
                    name: spec.name.clone(),
                    source: Source::Ran {
                        command: shell_words(&spec.command),
                        exit_code: run.code,
                        seconds: run.elapsed.as_secs_f64(),
                    },
                    counts: Counts::of(&diags),
                });
                all.extend(diags);
            }
        }
    }
    Ok((results, all))
}

/// The last few non-empty lines of a tool's stderr (or stdout) on one line, for error
/// messages (the whole output is echoed in the tool's log group just before).
fn tail(run: &ToolRun) -> String {
    let text = if run.stderr.trim().is_empty() {
        &run.stdout
    } else {
        &run.stderr
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return "it printed nothing".to_string();
    }
    let start = lines.len().saturating_sub(3);
    format!("“{}”", lines[start..].join(" / "))
}

/// Reads a finished tool's output. Findings with a non-zero exit are the normal case
/// for a linter; a non-zero exit without readable findings means the tool itself
/// failed (bad config, crash), which is exit 2 for us, with its own words.
fn interpret(spec: &ToolSpec, run: &ToolRun) -> Result<Vec<Diagnostic>> {
    let cmd = shell_words(&spec.command);
    let Some(code) = run.code else {
        bail!("{} ({cmd}) was killed by a signal", spec.name);
    };
    let text = if spec.format.stdout_only() {
        run.stdout.clone()
    } else {
        format!("{}\n{}", run.stdout, run.stderr)
    };
    if code == 0 && text.trim().is_empty() {
        return Ok(Vec::new());
    }
    match spec.format.parse(&spec.name, &text) {
        Ok(diags) if code == 0 || !diags.is_empty() => Ok(diags),
        Ok(_) => bail!(
            "{} ({cmd}) exited with {code} but reported no findings in the {} format; its output (shown above) ends with {}",
            spec.name,
            spec.format.name(),
            tail(run)
        ),
        // A non-zero exit with unreadable output: the tool's own words say why.
        Err(_) if code != 0 => bail!(
            "{} ({cmd}) failed with exit code {code}; its output (shown above) ends with {}",
            spec.name,
            tail(run)
        ),
        Err(e) => bail!(
            "{} ({cmd}) printed output that is {e}; set lint.tools[].format to match the command",
            spec.name
        ),
    }
}

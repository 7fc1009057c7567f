//! Running external tools (linters, test runners, the stage runner): no secrets in their
//! environment, captured output with secret values masked, a clear "not installed" case,
//! and the raw output echoed inside a fold through the console's neutralising sink.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::output::console::Console;
use crate::secrets::scrub_child_env;

/// What a finished tool run left behind.
#[derive(Debug, Clone)]
pub struct ToolRun {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// The result of trying to start a tool.
#[derive(Debug)]
pub enum Launch {
    Ran(ToolRun),
    /// The program was not found on `PATH`.
    NotInstalled,
}

/// Runs `argv` in `cwd` with `extra_env`, capturing output. The child inherits our
/// environment minus every secret ([`scrub_child_env`]); `extra_env` is added after, as
/// the caller's deliberate choice. The captured output is masked before anyone sees it and
/// echoed in a fold (neutralised in Actions). A spinner shows in a terminal while it runs.
pub fn run_tool(
    console: &Console,
    title: &str,
    argv: &[String],
    cwd: &Path,
    extra_env: &[(String, String)],
) -> Result<Launch> {
    let (program, args) = argv
        .split_first()
        .with_context(|| format!("the command for {title} is empty"))?;
    let mut cmd = Command::new(program);
    scrub_child_env(&mut cmd);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    console.group(&format!("{title}: {}", shell_words(argv)), || {
        let progress = console.progress(1, title);
        progress.step("running");
        let start = Instant::now();
        let output = cmd.output();
        progress.finish();
        match output {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Launch::NotInstalled),
            Err(e) => Err(anyhow::Error::new(e))
                .with_context(|| format!("cannot start {program} in {}", cwd.display())),
            Ok(out) => {
                let secrets = console.secrets();
                let run = ToolRun {
                    code: out.status.code(),
                    stdout: secrets
                        .mask(&String::from_utf8_lossy(&out.stdout))
                        .into_owned(),
                    stderr: secrets
                        .mask(&String::from_utf8_lossy(&out.stderr))
                        .into_owned(),
                    elapsed: start.elapsed(),
                };
                console.raw(&run.stdout);
                console.raw(&run.stderr);
                console.info(&format!(
                    "{title} exited with {} after {:.1}s",
                    run.code.map_or("a signal".to_string(), |c| c.to_string()),
                    run.elapsed.as_secs_f64()
                ));
                Ok(Launch::Ran(run))
            }
        }
    })
}

/// Renders argv for display, quoting words with spaces.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_words() {
        let argv = vec!["ruff".to_string(), "a b".into(), "it's".into()];
        assert_eq!(shell_words(&argv), "ruff 'a b' 'it'\\''s'");
    }
}

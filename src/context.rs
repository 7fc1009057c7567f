//! What every phase gets: the console, the run environment, the validated config, and the
//! resolved folders.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::exit::Outcome;
use crate::output::console::Console;
use crate::output::{PhaseOutput, Show};
use crate::run_env::RunEnv;

pub struct Ctx<'a> {
    pub console: &'a Console,
    /// The process environment, read once at start-up.
    pub env: &'a RunEnv,
    pub config: Config,
    /// The config file in use, `None` for built-in defaults.
    pub config_path: Option<PathBuf>,
    /// Absolute workspace root.
    pub root: PathBuf,
    /// Output folder for phase reports (absolute).
    pub out_dir: PathBuf,
}

impl Ctx<'_> {
    /// Resolves `p` against the root unless it is absolute.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// Writes the phase's report into the output folder, the step summary and outputs, and
    /// shows `show` ([`crate::output::emit`] with this run's console and environment).
    pub fn emit<R: PhaseOutput>(&self, report: &R, show: Show) -> anyhow::Result<Outcome> {
        crate::output::emit(self.console, self.env, &self.out_dir, report, show)
    }

    /// Makes a path that a tool printed relative to the root (see [`crate::paths`]).
    pub fn relative(&self, path: &str, ran_in: &Path) -> String {
        crate::paths::relativize(path, ran_in, &self.root)
    }
}

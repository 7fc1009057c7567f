//! `htdemucs-devops coreml inspect | check`: a Core ML model's interface, and the pipeline
//! spec checked against its Core ML models; the same check runs first in every `parity`.

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

use crate::context::Ctx;
use crate::coreml_spec::check::{self, Status};
use crate::exit::Outcome;
use crate::runner::PipelineSpec;

#[derive(Debug, Args)]
pub struct CoremlArgs {
    #[command(subcommand)]
    pub command: CoremlCommand,
}

#[derive(Debug, Subcommand)]
pub enum CoremlCommand {
    /// Print an .mlpackage's (or .mlmodel's) inputs and outputs: names, shapes, dtypes
    Inspect(InspectArgs),
    /// Check the pipeline spec's Core ML stages against their models (names, shapes),
    /// as `parity` does before it runs anything
    Check(CheckArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The .mlpackage folder or .mlmodel file
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// A short text listing or the interface as JSON
    #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
    pub format: InspectFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The pipeline spec [default: parity.run.spec]
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &CoremlArgs) -> Result<Outcome> {
    match &args.command {
        CoremlCommand::Inspect(a) => {
            let model = crate::coreml_spec::load(&ctx.resolve(&a.path))?;
            let text = match a.format {
                InspectFormat::Text => model.to_text(),
                InspectFormat::Json => serde_json::to_string_pretty(&model)? + "\n",
            };
            ctx.console.print(&text);
            Ok(Outcome::Ok)
        }
        CoremlCommand::Check(a) => {
            let spec = ctx.resolve(a.spec.as_ref().unwrap_or(&ctx.config.parity.run.spec));
            if !spec.is_file() {
                bail!(
                    "no pipeline spec at {} (give --spec FILE or set parity.run.spec)",
                    spec.display()
                );
            }
            let spec = PipelineSpec::load(&spec)?;
            verify_pipeline(ctx, &spec)?;
            Ok(Outcome::Ok)
        }
    }
}

/// The `parity` phase's first step: when the configured pipeline spec exists and reads,
/// every Core ML model it names and that is present must match it. A spec that does not
/// read is left to the stage runner, which reports it in its own terms (file comparisons
/// do not need one).
pub fn verify_configured(ctx: &Ctx) -> Result<usize> {
    let path = ctx.resolve(&ctx.config.parity.run.spec);
    match PipelineSpec::load(&path) {
        Ok(spec) if path.is_file() => verify_pipeline(ctx, &spec),
        _ => Ok(0),
    }
}

/// Every present Core ML model of `spec` must match it; a mismatch is an error (exit 2)
/// naming the model, the spec, what differs and what to do. Returns how many were checked.
pub fn verify_pipeline(ctx: &Ctx, spec: &PipelineSpec) -> Result<usize> {
    let spec_path = spec.path.as_path();
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in check::check_pipeline(spec) {
        let shown = super::display(ctx, &c.artifact);
        match &c.status {
            Status::Agrees(model) => {
                checked += 1;
                let outs: Vec<String> = model
                    .outputs
                    .iter()
                    .map(|f| format!("{} {}", f.name, f.describe()))
                    .collect();
                ctx.console.info(&format!(
                    "Core ML model {shown} matches stage `{}` (outputs: {})",
                    c.stage,
                    outs.join("; ")
                ));
            }
            Status::Absent => ctx.console.info(&format!(
                "Core ML model {shown} (stage `{}`) is not here; its names and shapes are checked where it is",
                c.stage
            )),
            Status::Unsupported => ctx.console.info(&format!(
                "Core ML artifact {shown} (stage `{}`) is not an .mlpackage or .mlmodel; not checked",
                c.stage
            )),
            Status::Differs(_) | Status::Unreadable(_) => {
                if let Some(text) = check::explain(&c, spec_path) {
                    failures.push(text);
                }
            }
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(checked)
}

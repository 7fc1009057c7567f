//! `parity run`'s plan: from the pipeline spec, which stages each backend runs and which
//! arrays are compared. A stage the candidate does not compute itself (another backend's
//! `shared:` stage, `skip:`) is left out of the comparison, with a note saying what fed its
//! consumers. Starting the runner is `runner::launch`'s.

use anyhow::{bail, Result};
use std::collections::BTreeSet;

/// Which stages each backend runs and which are compared, from the spec and a selection.
#[derive(Debug, Default, PartialEq)]
pub struct StagePlan {
    /// Stages the reference runs (empty: all): the selection and everything upstream of it.
    pub reference: Vec<String>,
    /// Stages the candidate runs (empty: all).
    pub candidate: Vec<String>,
    /// Stages whose arrays are compared.
    pub compared: BTreeSet<String>,
    /// Shared stages: compared only where the candidate ran them (its capture has them).
    pub shared: BTreeSet<String>,
    /// Stages left out of the comparison (or computed unusually), with why.
    pub notes: Vec<crate::parity::stages::StageNote>,
}

/// Plans a `parity run`: `only` (empty: all) minus `skip` are selected; unknown names are
/// errors listing the spec's stages.
pub fn plan_stages(
    spec: &crate::runner::PipelineSpec,
    reference: &str,
    candidate: &str,
    only: &[String],
    skip: &[String],
) -> Result<StagePlan> {
    use crate::parity::stages::StageNote;
    use crate::runner::stage_impl::Implementation;
    spec.backend(reference)?;
    spec.backend(candidate)?;
    let names: Vec<&str> = spec.stages.iter().map(|s| s.name.as_str()).collect();
    for (flag, list) in [("--stage", only), ("--skip-stage", skip)] {
        if let Some(bad) = list.iter().find(|n| !names.contains(&n.as_str())) {
            bail!(
                "{flag} {bad}: the pipeline spec {} has no such stage (its stages: {})",
                spec.path.display(),
                names.join(", ")
            );
        }
    }
    let selected: Vec<String> = names
        .iter()
        .filter(|n| only.is_empty() || only.iter().any(|o| o == *n))
        .filter(|n| !skip.iter().any(|s| s == *n))
        .map(|n| n.to_string())
        .collect();
    if selected.is_empty() {
        bail!("--stage/--skip-stage leave no stage to compare");
    }
    // The reference also runs what feeds the selection, so its capture holds every input.
    let mut needed: BTreeSet<String> = selected.iter().cloned().collect();
    for stage in spec.stages.iter().rev() {
        if needed.contains(&stage.name) {
            for input in &stage.inputs {
                if let Some((producer, _)) = input.from.split_once('.') {
                    needed.insert(producer.to_string());
                }
            }
        }
    }
    let all = selected.len() == names.len();
    let mut plan = StagePlan {
        reference: if all {
            Vec::new()
        } else {
            names
                .iter()
                .filter(|n| needed.contains(**n))
                .map(|n| n.to_string())
                .collect()
        },
        candidate: if all { Vec::new() } else { selected.clone() },
        ..Default::default()
    };
    let computes = |stage: &crate::runner::StageSpec, backend: &str| match &stage.shared {
        Some(owner) => owner == backend,
        None => matches!(
            stage.artifacts.get(backend),
            Some(Implementation::Artifact(_) | Implementation::Command(_))
        ),
    };
    for stage in spec.stages.iter().filter(|s| selected.contains(&s.name)) {
        let name = stage.name.clone();
        let note = |note: String, compared: bool| StageNote {
            stage: name.clone(),
            note,
            compared,
        };
        if let Some(owner) = &stage.shared {
            plan.notes.push(note(
                format!(
                    "shared: backend `{owner}`'s implementation serves both backends; fed the reference's \
                     values (isolated mode, or inputs that do not depend on the candidate) the candidate \
                     takes the reference's outputs and nothing is compared; downstream of the candidate's \
                     own stages (chained mode) it runs on the candidate's values and is compared"
                ),
                true,
            ));
            plan.shared.insert(stage.name.clone());
            plan.compared.insert(stage.name.clone());
            continue;
        }
        if !computes(stage, reference) {
            plan.notes.push(note(
                format!(
                    "the reference `{reference}` does not compute it: nothing to compare against"
                ),
                false,
            ));
            continue;
        }
        match stage.artifacts.get(candidate) {
            Some(Implementation::Artifact(_)) => {}
            Some(Implementation::Command(c)) => plan.notes.push(note(
                format!(
                    "computed on the candidate by an external command (`{}`)",
                    c.command.first().map(String::as_str).unwrap_or_default()
                ),
                true,
            )),
            other => {
                let why = match other {
                    Some(Implementation::Skip { skip }) => {
                        format!("skipped on the candidate ({skip})")
                    }
                    _ => format!("the candidate `{candidate}` has no implementation"),
                };
                plan.notes.push(note(
                    format!("{why}; in chained mode its consumers got the reference's values; not compared"),
                    false,
                ));
                continue;
            }
        }
        plan.compared.insert(stage.name.clone());
    }
    Ok(plan)
}

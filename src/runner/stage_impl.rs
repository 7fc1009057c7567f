//! How a backend computes a stage: a model artifact, an external command, or an explicit skip
//! (the values under a stage's `artifacts:`), and the checks that tie them to the stage.
//!
//! ```yaml
//! artifacts:
//!   pytorch: build/pytorch/stft.pt                       # a model file the engine loads
//!   coreml:                                              # a program (the port's Swift CLI)
//!     command: [bin/htdemucs-cli, stft, "{input:audio}", "{output:spectrogram}"]
//!     timeout_sec: 120
//!   other: {skip: "validated by the Swift unit tests"}   # not computed on this backend
//! ```
//!
//! A command is an argv list (no shell). Placeholders: `{input:NAME}` / `{output:NAME}` the
//! `.npy` file of one input / output (by the stage's input and output names), `{inputs}` /
//! `{outputs}` one `.npz` holding all of them keyed by name, `{dir}` the stage's scratch
//! folder; `{{` and `}}` are literal braces. Every output must be named by `{outputs}` or its
//! own `{output:NAME}`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::spec::{BackendSpec, StageSpec};

/// The default `timeout_sec` of a command: generous for a full song on a CPU.
pub const DEFAULT_TIMEOUT_SEC: f64 = 600.0;

/// One backend's way of computing one stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Implementation {
    /// A model file the backend's engine loads (TorchScript `.pt`, CoreML `.mlpackage`).
    Artifact(PathBuf),
    /// An external program reading and writing `.npy`/`.npz` files.
    Command(CommandSpec),
    /// Not computed on this backend.
    Skip {
        /// Why (shown in results and reports).
        skip: String,
    },
}

/// An external command stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommandSpec {
    /// Program and arguments, with placeholders.
    pub command: Vec<String>,
    /// Seconds one run may take before it is killed.
    pub timeout_sec: f64,
}

/// One piece of a command argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `{input:NAME}`.
    Input(String),
    /// `{output:NAME}`.
    Output(String),
    /// `{inputs}`.
    Inputs,
    /// `{outputs}`.
    Outputs,
    /// `{dir}`.
    Dir,
}

/// Splits one argument into literal text and placeholders.
pub fn parse_arg(arg: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = arg;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            text.push(c);
            rest = &rest[2..];
        } else if c == '{' {
            let end = rest
                .find('}')
                .ok_or_else(|| format!("`{arg}` opens a placeholder with `{{` but never closes it (write `{{{{` for a literal brace)"))?;
            let name = &rest[1..end];
            let piece = match name.split_once(':') {
                None if name == "inputs" => Piece::Inputs,
                None if name == "outputs" => Piece::Outputs,
                None if name == "dir" => Piece::Dir,
                Some(("input", n)) if !n.is_empty() => Piece::Input(n.to_string()),
                Some(("output", n)) if !n.is_empty() => Piece::Output(n.to_string()),
                _ => {
                    return Err(format!(
                        "`{arg}` has the unknown placeholder `{{{name}}}`; use {{input:NAME}}, \
                         {{output:NAME}}, {{inputs}}, {{outputs}} or {{dir}} (`{{{{` for a literal brace)"
                    ))
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            rest = &rest[end + 1..];
        } else if c == '}' {
            return Err(format!(
                "`{arg}` has a lone `}}` (write `}}}}` for a literal brace)"
            ));
        } else {
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

impl CommandSpec {
    /// Checks the command against its stage: placeholders name real inputs and outputs,
    /// and every output is written somewhere.
    pub fn validate(&self, stage: &StageSpec) -> Result<(), String> {
        if self.command.first().is_none_or(String::is_empty) {
            return Err("`command:` is empty; give the program and its arguments as a list".into());
        }
        if !(self.timeout_sec.is_finite() && self.timeout_sec > 0.0) {
            return Err(format!(
                "`timeout_sec: {}` must be a positive number of seconds",
                self.timeout_sec
            ));
        }
        let mut all_outputs = false;
        let mut named = Vec::new();
        for arg in &self.command {
            for piece in parse_arg(arg)? {
                match piece {
                    Piece::Input(n) if !stage.inputs.iter().any(|i| i.name == n) => {
                        return Err(format!(
                            "`{{input:{n}}}` names no input of this stage (its inputs: {})",
                            stage
                                .inputs
                                .iter()
                                .map(|i| i.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    }
                    Piece::Output(n) if !stage.outputs.iter().any(|o| o.name == n) => {
                        return Err(format!(
                            "`{{output:{n}}}` names no output of this stage (its outputs: {})",
                            stage.outputs.join(", ")
                        ))
                    }
                    Piece::Output(n) => named.push(n),
                    Piece::Outputs => all_outputs = true,
                    _ => {}
                }
            }
        }
        let missing: Vec<&str> = stage
            .outputs
            .iter()
            .filter(|o| !all_outputs && !named.contains(&o.name))
            .map(|o| o.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the command never receives a path for output(s) {}; add `{{output:NAME}}` for each, or `{{outputs}}`",
                missing.join(", ")
            ));
        }
        Ok(())
    }
}

/// Checks a stage's `artifacts:` commands and its `shared:` key (names are checked by the spec).
pub fn check_stage(
    stage: &StageSpec,
    backends: &BTreeMap<String, BackendSpec>,
) -> Result<(), String> {
    for (backend, imp) in &stage.artifacts {
        if let Implementation::Command(c) = imp {
            c.validate(stage)
                .map_err(|m| format!("artifacts.{backend}: {m}"))?;
        }
    }
    let Some(owner) = &stage.shared else {
        return Ok(());
    };
    if !backends.contains_key(owner) {
        return Err(format!(
            "`shared: {owner}` names no backend under `backends:` (it defines: {})",
            backends.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    match stage.artifacts.get(owner) {
        Some(Implementation::Artifact(_) | Implementation::Command(_)) => {}
        Some(Implementation::Skip { .. }) => {
            return Err(format!(
                "`shared: {owner}` but `artifacts.{owner}` is `skip:`; the shared implementation \
                 must be a model path or a `command:`"
            ))
        }
        None => {
            return Err(format!(
                "`shared: {owner}` needs `artifacts.{owner}`: the one implementation every backend uses"
            ))
        }
    }
    if let Some(other) = stage.artifacts.keys().find(|b| *b != owner) {
        return Err(format!(
            "`shared: {owner}` means one implementation for every backend, but `artifacts:` also \
             lists `{other}`; remove `artifacts.{other}` (or drop `shared:`)"
        ));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Implementation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ImplVisitor)
    }
}

const EXPECTED: &str =
    "a model file path, `{command: [PROGRAM, ARGS...], timeout_sec: N}` or `{skip: REASON}`";

struct ImplVisitor;

impl<'de> Visitor<'de> for ImplVisitor {
    type Value = Implementation;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Implementation, E> {
        if v.is_empty() {
            return Err(E::custom(format!(
                "an empty artifact path; give {EXPECTED}"
            )));
        }
        Ok(Implementation::Artifact(PathBuf::from(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Implementation, A::Error> {
        let mut command: Option<Vec<String>> = None;
        let mut timeout: Option<f64> = None;
        let mut skip: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "command" => command = Some(map.next_value()?),
                "timeout_sec" => timeout = Some(map.next_value()?),
                "skip" => {
                    let reason: SkipReason = map.next_value()?;
                    skip = Some(reason.0);
                }
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown key `{other}`; an artifact entry is {EXPECTED}"
                    )))
                }
            }
        }
        match (command, skip) {
            (Some(_), Some(_)) => Err(de::Error::custom(
                "`command:` and `skip:` exclude each other; keep one",
            )),
            (Some(command), None) => Ok(Implementation::Command(CommandSpec {
                command,
                timeout_sec: timeout.unwrap_or(DEFAULT_TIMEOUT_SEC),
            })),
            (None, Some(_)) if timeout.is_some() => Err(de::Error::custom(
                "`timeout_sec:` belongs to a `command:`, not to `skip:`",
            )),
            (None, Some(skip)) => Ok(Implementation::Skip { skip }),
            (None, None) => Err(de::Error::custom(format!(
                "an artifact entry needs `command:` or `skip:`; it is {EXPECTED}"
            ))),
        }
    }
}

/// `skip: "reason"`, or `skip: true` (no reason given).
struct SkipReason(String);

impl<'de> Deserialize<'de> for SkipReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Reason(String),
        }
        match Raw::deserialize(d)
            .map_err(|_| de::Error::custom("`skip:` takes a reason (text) or `true`"))?
        {
            Raw::Flag(true) => Ok(Self("skipped in the pipeline spec".into())),
            Raw::Flag(false) => Err(de::Error::custom(
                "`skip: false` is not needed; remove it and give an artifact path or `command:`",
            )),
            Raw::Reason(r) if r.trim().is_empty() => {
                Ok(Self("skipped in the pipeline spec".into()))
            }
            Raw::Reason(r) => Ok(Self(r)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn imp(yaml: &str) -> Result<Implementation, String> {
        serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn three_forms_parse() {
        assert_eq!(
            imp("a/b.pt").unwrap(),
            Implementation::Artifact("a/b.pt".into())
        );
        assert_eq!(
            imp("{command: [x, '{input:a}'], timeout_sec: 5}").unwrap(),
            Implementation::Command(CommandSpec {
                command: vec!["x".into(), "{input:a}".into()],
                timeout_sec: 5.0
            })
        );
        assert_eq!(
            imp("{skip: vDSP}").unwrap(),
            Implementation::Skip {
                skip: "vDSP".into()
            }
        );
        assert!(matches!(
            imp("{skip: true}").unwrap(),
            Implementation::Skip { .. }
        ));
    }

    #[test]
    fn bad_entries_say_what_is_allowed() {
        let e = imp("{comand: [x]}").unwrap_err();
        assert!(
            e.contains("unknown key `comand`") && e.contains("skip"),
            "{e}"
        );
        assert!(imp("{command: [x], skip: y}")
            .unwrap_err()
            .contains("exclude"));
        assert!(imp("{skip: false}").unwrap_err().contains("skip: false"));
        assert!(imp("{timeout_sec: 3}")
            .unwrap_err()
            .contains("needs `command:`"));
        assert!(imp("{command: x}").is_err());
    }

    #[test]
    fn placeholders_split_and_unknown_ones_fail() {
        assert_eq!(
            parse_arg("--in={input:audio}.x").unwrap(),
            vec![
                Piece::Text("--in=".into()),
                Piece::Input("audio".into()),
                Piece::Text(".x".into())
            ]
        );
        assert_eq!(
            parse_arg("{{json}}").unwrap(),
            vec![Piece::Text("{json}".into())]
        );
        assert!(parse_arg("{inptus}")
            .unwrap_err()
            .contains("unknown placeholder"));
        assert!(parse_arg("{input:").is_err());
        assert!(parse_arg("a}b").is_err());
    }
}

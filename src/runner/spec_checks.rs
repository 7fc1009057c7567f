//! Checks across a pipeline spec's stages: where an input and the output it comes from
//! both declare a shape or dtype, the two must agree; a per-backend dtype map may only
//! name defined backends; and a YAML error under `stages[N]` is given the stage's name.

use super::declare::{self, DTypeSpec, InputSpec, OutputSpec};
use super::spec::{PipelineSpec, StageSpec};

impl PipelineSpec {
    /// An input's declared shape and dtype against those of the output it comes from.
    pub(super) fn agree(
        &self,
        stage: &StageSpec,
        input: &InputSpec,
        out: &OutputSpec,
    ) -> Result<(), String> {
        let s = &stage.name;
        if let (Some(want), Some(have)) = (&input.shape, &out.shape) {
            if !declare::shapes_compatible(want, have) {
                return Err(format!(
                    "stage `{s}` input `{}` declares shape {want}, but `{}` is declared with shape \
                     {have}; make the two declarations agree",
                    input.name, input.from
                ));
            }
        }
        if let (Some(want), Some(have)) = (&input.dtype, &out.dtype) {
            for backend in self.backends.keys() {
                if let (Some(w), Some(h)) = (want.for_backend(backend), have.for_backend(backend)) {
                    if w != h {
                        return Err(format!(
                            "stage `{s}` input `{}` declares dtype {w}, but `{}` is declared as {h} \
                             (backend `{backend}`); make the two declarations agree",
                            input.name, input.from
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A per-backend dtype map may only name backends the spec defines.
    pub(super) fn known_backends(
        &self,
        stage: &str,
        what: &str,
        dtype: Option<&DTypeSpec>,
    ) -> Result<(), String> {
        for b in dtype.map(DTypeSpec::backends).unwrap_or_default() {
            if !self.backends.contains_key(b) {
                return Err(format!(
                    "stage `{stage}` `{what}`: `dtype` names backend `{b}`, which is not under `backends:` ({})",
                    self.backends.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Adds the stage's name to a YAML error located under `stages[N]`, so the message names
/// the stage as the user wrote it, not only its position.
pub(super) fn locate(text: &str, message: &str) -> String {
    let index = message
        .strip_prefix("stages[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(n, _)| n.parse::<usize>().ok());
    let name = index.and_then(|n| {
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).ok()?;
        doc.get("stages")?
            .get(n)?
            .get("name")?
            .as_str()
            .map(str::to_string)
    });
    match name {
        Some(name) => format!("stage `{name}`: {message}"),
        None => message.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::path::Path;

    use super::*;

    const HEAD: &str = "sample_rate: 44100\nchannels: 2\nbackends: {pytorch: {engine: torch}}\n";

    fn parse(yaml: &str) -> Result<PipelineSpec, String> {
        let spec: PipelineSpec = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        spec.validate().map(|()| spec)
    }

    #[test]
    fn a_typo_in_an_input_names_file_stage_key_and_allowed_keys() {
        let text = format!(
            "{HEAD}stages:\n - {{name: stft, inputs: [audio], outputs: [spec]}}\n - name: istft\n   inputs:\n     - {{from: stft.spec, shpae: [1, 2]}}\n   outputs: [y]\n"
        );
        let err = PipelineSpec::parse(&text, Path::new("dir/p.yml"))
            .unwrap_err()
            .to_string();
        for want in [
            "dir/p.yml",
            "stage `istft`",
            "`shpae`",
            "`from`",
            "`shape`",
            "`dtype`",
            "line",
        ] {
            assert!(err.contains(want), "{want}: {err}");
        }
        assert!(!err.contains("untagged"), "{err}");
    }

    #[test]
    fn declarations_of_producer_and_consumer_must_agree() {
        let stages = |out: &str, inp: &str| {
            format!(
                "{HEAD}stages:\n - {{name: a, inputs: [audio], outputs: [{out}]}}\n - {{name: b, inputs: [{inp}], outputs: [z]}}\n"
            )
        };
        let err = parse(&stages(
            "{name: y, shape: [1, 4, 2048, -1]}",
            "{from: a.y, shape: [1, 4, 2049, 336]}",
        ))
        .unwrap_err();
        assert!(
            err.contains("stage `b`") && err.contains("[1, 4, 2048, *]") && err.contains("2049"),
            "{err}"
        );
        let err = parse(&stages(
            "{name: y, dtype: complex64}",
            "{from: a.y, dtype: float32}",
        ))
        .unwrap_err();
        assert!(
            err.contains("complex64") && err.contains("float32"),
            "{err}"
        );
        assert!(parse(&stages(
            "{name: y, shape: [1, -1]}",
            "{from: a.y, shape: [1, 7]}"
        ))
        .is_ok());
        let err = parse(&stages("{name: y, dtype: {coreml: float16}}", "a.y")).unwrap_err();
        assert!(err.contains("`coreml`"), "{err}");
    }
}

//! Fuzz target `pipeline_yaml`: see `htdemucs_devops::fuzzing::pipeline_yaml` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::pipeline_yaml(data));

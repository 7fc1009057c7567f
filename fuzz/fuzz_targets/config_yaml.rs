//! Fuzz target `config_yaml`: see `htdemucs_devops::fuzzing::config_yaml` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::config_yaml(data));

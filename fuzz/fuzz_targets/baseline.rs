//! Fuzz target `baseline`: see `htdemucs_devops::fuzzing::baseline` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::baseline(data));

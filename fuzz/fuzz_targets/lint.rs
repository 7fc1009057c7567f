//! Fuzz target `lint`: see `htdemucs_devops::fuzzing::lint` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::lint(data));

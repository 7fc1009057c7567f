//! Fuzz target `wav`: see `htdemucs_devops::fuzzing::wav` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::wav(data));

//! Fuzz target `junit`: see `htdemucs_devops::fuzzing::junit` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::junit(data));

//! Fuzz target `npz`: see `htdemucs_devops::fuzzing::npz` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::npz(data));

//! Audio files as arrays: a streaming WAV reader shared by the parity phase (stems) and
//! anything else that needs samples without loading whole files.

pub mod wav;

//! Everything GitHub-specific: the environment, workflow commands and the step files.

pub mod commands;
pub mod env;
pub mod files;

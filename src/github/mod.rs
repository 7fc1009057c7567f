//! Everything GitHub-specific: the environment, workflow commands and the step files.

pub mod api;
pub mod checks;
pub mod commands;
pub mod comment;
pub mod env;
pub mod error;
pub mod event;
pub mod files;
pub mod retry;
pub mod token;

//! Talking to GitHub: the REST client (PR comment, check runs), the event file, the
//! token and retries. The run environment is [`crate::run_env`]; workflow commands and
//! the step files are output ([`crate::output`]).

pub mod api;
pub mod checks;
pub mod comment;
pub mod error;
pub mod event;
pub mod retry;

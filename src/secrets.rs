//! Secrets in the environment: which variables hold one (by name), keeping them out of the
//! processes we start (linters, test commands, benchmark producers, the stage runner), and
//! masking their values in everything we print or store from those processes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

/// Values shorter than this are not masked: replacing `1` or `true` everywhere would
/// mangle ordinary output, and no real token is that short.
const MIN_MASKED: usize = 6;

/// Name parts (split at `_`, `-` and `.`) that mark a variable as a secret wherever they
/// appear: `GITHUB_TOKEN`, `GH_TOKEN`, `ACTIONS_RUNTIME_TOKEN`, `AWS_SECRET_ACCESS_KEY`,
/// `PYPI_PASSWORD`... `TOKENIZERS_PARALLELISM` is not one (no part is exactly `TOKEN`).
const SECRET_PARTS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "CREDENTIALS",
    "APIKEY",
    "PAT",
];

/// True when a variable of this name holds a secret: a part listed in [`SECRET_PARTS`]
/// (which also catches the runner's `ACTIONS_ID_TOKEN_REQUEST_URL`, useless to a child
/// without its token anyway) or a name ending in `_KEY` (`API_KEY`, `PRIVATE_KEY`).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let last_is_key = upper.ends_with("_KEY") || upper.ends_with("-KEY");
    last_is_key
        || upper
            .split(['_', '-', '.'])
            .any(|p| SECRET_PARTS.contains(&p))
}

/// The secret values found in the environment, longest first (so a token that contains
/// another is masked whole). `Debug` shows only how many there are.
#[derive(Clone, Default)]
pub struct Secrets {
    values: Arc<Vec<String>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values, ***)", self.values.len())
    }
}

impl Secrets {
    /// Collects the values of every secret-named variable in `vars`.
    pub fn from_vars(vars: &HashMap<String, String>) -> Self {
        let mut values: Vec<String> = vars
            .iter()
            .filter(|(k, _)| is_secret_name(k))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| v.chars().count() >= MIN_MASKED)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets {
            values: Arc::new(values),
        }
    }

    /// Replaces every occurrence of a secret value in `text` with `***`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for v in self.values.iter() {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), "***"));
            }
        }
        out
    }

    /// True when `value` holds one of the secrets (a copy under another name).
    fn leaks_into(&self, value: &str) -> bool {
        self.values.iter().any(|s| value.contains(s.as_str()))
    }
}

/// Removes from `cmd`'s inherited environment every variable that holds a secret, by name
/// or by value (a token copied into an innocuous-looking variable). The child still gets
/// everything else (PATH, HOME, the virtualenv, the user's own settings), and variables
/// set on `cmd` afterwards are the caller's deliberate choice.
pub fn scrub_child_env(cmd: &mut Command) {
    let vars: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .collect();
    let secrets = Secrets::from_vars(&vars);
    for (k, v) in &vars {
        if is_secret_name(k) || secrets.leaks_into(v) {
            cmd.env_remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "AWS_SECRET_ACCESS_KEY",
            "PYPI_PASSWORD",
            "OPENAI_API_KEY",
            "hf_token",
            "MY_PAT",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "PATH",
            "HOME",
            "TOKENIZERS_PARALLELISM",
            "GITHUB_WORKSPACE",
            "KEYCHAIN",
            "PATH_EXT",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn masks_longest_first_and_skips_short_values() {
        let vars: HashMap<String, String> = [
            ("GITHUB_TOKEN", "ghs_abcdef123456"),
            ("OTHER_TOKEN", "ghs_abcdef"),
            ("SHORT_TOKEN", "true"),
            ("PATH", "/usr/bin"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = Secrets::from_vars(&vars);
        assert_eq!(
            s.mask("a ghs_abcdef123456 b ghs_abcdef c true /usr/bin"),
            "a *** b *** c true /usr/bin"
        );
        assert!(matches!(s.mask("nothing"), Cow::Borrowed(_)));
        assert!(s.leaks_into("Bearer ghs_abcdef123456"));
        assert_eq!(format!("{s:?}"), "Secrets(2 values, ***)");
    }
}

//! The allocator and threading settings every backend process runs under: one setting for
//! every backend by default, chosen for stable numbers, overridable in the config
//! (`runner:`), set by whoever launches the stage runner and recorded by the runner itself
//! in its results (`$meta.run_settings`, also in the fingerprint), so runs made under
//! different settings are never compared as if they were alike.
//!
//! Why these defaults (glibc, Linux): glibc adapts its mmap and trim thresholds to the
//! program's history (a freed large block raises the mmap threshold), so the same module
//! can allocate through fresh, page-faulting `mmap`s on one backend and through a warm heap
//! on another, which made one fp32 iSTFT module +117 % slower on one side. Fixing both
//! thresholds removes that history; a fixed arena count keeps the heap layout independent
//! of the thread count; `glibc.malloc.hugetlb=1` lets large heaps use transparent huge
//! pages (fewer TLB misses on the model's big tensors). Threads are fixed to the cores the
//! job may use, the same for every backend, and passed to OpenMP/MKL too. On macOS the
//! glibc variables mean nothing and are not set; threads still are.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

/// The stage runner reads its default `--threads` from this variable.
pub const THREADS_ENV: &str = "HTDEMUCS_RUNNER_THREADS";
/// Extra variable names (comma-separated) the runner records, set by the launcher for a
/// config's own `runner.env` keys.
pub const RECORD_ENV: &str = "HTDEMUCS_RUNNER_RECORD";

/// Variables that change how an allocator or thread pool behaves, recorded when set.
const RECORDED: &[&str] = &[
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_CONF",
    "GLIBC_TUNABLES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "LD_PRELOAD",
];

/// The `runner:` section of the config.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunnerSettings {
    /// Intra-op threads for every backend [default: the cores this job may use].
    pub threads: Option<usize>,
    /// Environment for every backend process, replacing the default allocator settings
    /// (e.g. `{LD_PRELOAD: /usr/lib/libjemalloc.so.2, MALLOC_CONF: "background_thread:false"}`).
    pub env: Option<BTreeMap<String, String>>,
}

/// The default allocator environment (see the module documentation).
pub fn default_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        for (k, v) in [
            ("MALLOC_ARENA_MAX", "2"),
            // 32 MiB, glibc's largest: buffers below it come from the heap.
            ("MALLOC_MMAP_THRESHOLD_", "33554432"),
            // 256 MiB kept at the top of the heap between runs instead of re-faulted.
            ("MALLOC_TRIM_THRESHOLD_", "268435456"),
            ("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
    }
    env
}

impl RunnerSettings {
    /// The thread count every backend gets.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        })
    }

    /// The variables a launcher sets on every backend process.
    pub fn launch_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .env
            .clone()
            .unwrap_or_else(default_env)
            .into_iter()
            .collect();
        if let Some(own) = &self.env {
            let names: Vec<&str> = own.keys().map(String::as_str).collect();
            env.push((RECORD_ENV.into(), names.join(",")));
        }
        let t = self.threads().to_string();
        for k in [THREADS_ENV, "OMP_NUM_THREADS", "MKL_NUM_THREADS"] {
            if !env.iter().any(|(name, _)| name == k) {
                env.push((k.into(), t.clone()));
            }
        }
        env
    }
}

/// What this process runs under, for its results: threads in effect, the recorded
/// variables that are set (a preloaded library by file name only), and the kernel's
/// transparent huge page mode where there is one.
pub fn in_effect(threads: usize) -> Value {
    let extra = std::env::var(RECORD_ENV).unwrap_or_default();
    let names = RECORDED.iter().map(|s| (*s).to_string()).chain(
        extra
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
    let mut env = BTreeMap::new();
    for name in names {
        if let Ok(v) = std::env::var(&name) {
            let v = if name == "LD_PRELOAD" {
                v.split([':', ' '])
                    .filter_map(|p| std::path::Path::new(p).file_name())
                    .map(|f| f.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                v
            };
            env.insert(name, v);
        }
    }
    let mut out = json!({"threads": threads, "env": env});
    if let Some(mode) = hugepage_mode() {
        out["transparent_hugepage"] = json!(mode);
    }
    out
}

/// The bracketed choice in `/sys/kernel/mm/transparent_hugepage/enabled`.
fn hugepage_mode() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn the_same_threads_everywhere_and_config_replaces_the_allocator_env() {
        let default = RunnerSettings {
            threads: Some(3),
            env: None,
        };
        let env: BTreeMap<_, _> = default.launch_env().into_iter().collect();
        assert_eq!(env[THREADS_ENV], "3");
        assert_eq!(env["OMP_NUM_THREADS"], "3");
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(env["MALLOC_ARENA_MAX"], "2");
        }
        let own = RunnerSettings {
            threads: Some(1),
            env: Some(BTreeMap::from([("MALLOC_CONF".into(), "narenas:1".into())])),
        };
        let env: BTreeMap<_, _> = own.launch_env().into_iter().collect();
        assert!(!env.contains_key("MALLOC_ARENA_MAX"));
        assert_eq!(env["MALLOC_CONF"], "narenas:1");
        assert_eq!(env[RECORD_ENV], "MALLOC_CONF");
    }
}

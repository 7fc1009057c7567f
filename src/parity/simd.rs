//! The instruction set the parity loop runs with, chosen once per process.
//!
//! Release binaries are built for baseline x86-64 (SSE2) so they run on any runner. The
//! metrics loop is also compiled for AVX2 and for AVX-512 and picked at run time: on the
//! benchmark machine that made a parity run 18 % (AVX2) and 24 % (AVX-512) cheaper in
//! CPU time than the baseline code. The arithmetic is the same in every variant (each
//! lane adds its values in the same order, and nothing is fused), so the figures are
//! bit for bit the same whichever runs.
//!
//! `HTDEMUCS_DEVOPS_SIMD=auto|baseline|avx2|avx512` overrides the choice (to compare
//! variants, or to rule one out while chasing a problem).

use anyhow::{bail, Result};

/// The environment variable that overrides the detected level.
pub const ENV: &str = "HTDEMUCS_DEVOPS_SIMD";

/// An instruction-set level of the parity loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Baseline,
    Avx2,
    Avx512,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Whether this CPU runs the level's code.
    pub fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx") && is_x86_feature_detected!("avx2");
            match self {
                Level::Baseline => true,
                Level::Avx2 => avx2,
                Level::Avx512 => {
                    avx2 && is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512dq")
                        && is_x86_feature_detected!("avx512vl")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Level::Baseline
        }
    }

    /// The best supported level.
    pub fn best() -> Level {
        Level::ALL
            .into_iter()
            .rev()
            .find(|l| l.supported())
            .unwrap_or(Level::Baseline)
    }

    /// The level to use: [`ENV`] when set (an error when unknown or unsupported here),
    /// else the best one.
    pub fn from_env() -> Result<Level> {
        let Some(value) = std::env::var_os(ENV) else {
            return Ok(Level::best());
        };
        let value = value.to_string_lossy();
        let wanted = value.trim();
        if wanted.is_empty() || wanted == "auto" {
            return Ok(Level::best());
        }
        let Some(level) = Level::ALL.into_iter().find(|l| l.name() == wanted) else {
            bail!("{ENV}={wanted:?} is not a level: use auto, baseline, avx2 or avx512");
        };
        if !level.supported() {
            bail!(
                "{ENV}={wanted}: this CPU cannot run the {wanted} code; use auto (here: {})",
                Level::best().name()
            );
        }
        Ok(level)
    }
}

//! The instruction set the parity loop runs with, chosen once per process.
//!
//! Release binaries are built for baseline x86-64 (SSE2) so they run on any runner. The
//! metrics loop is also compiled for AVX2 and for AVX-512 and picked at run time: on the
//! benchmark machine, in interleaved A/B runs against the four-lane, baseline-only code
//! this replaced, that made a parity run 14 % (AVX2) and 22 % (AVX-512) cheaper in CPU
//! time. The arithmetic is the same in every variant (each
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

/// Defines `fn $name(level: Level, args…)` that runs `$body(args…)` compiled for `level`
/// when this CPU has it, and the baseline build of `$body` otherwise. `$body` should be
/// `#[inline(always)]` so each variant gets its own copy of the loop. The target features
/// here and the checks in [`Level::supported`] are the one place that must agree: the
/// dispatch calls a variant only after `supported` (a cached CPU flag) said yes, so no
/// caller can get code run that the CPU lacks.
macro_rules! multiversion {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:path;) => {
        $(#[$attr])*
        $vis fn $name(level: $crate::simd::Level, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::simd::Level;
                #[target_feature(enable = "avx,avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx,avx2,avx512f,avx512bw,avx512dq,avx512vl")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if level == Level::Avx512 && level.supported() {
                    // SAFETY: the CPU has every feature `avx512` is compiled with.
                    #[allow(unsafe_code)]
                    return unsafe { avx512($($arg),*) };
                }
                if level == Level::Avx2 && level.supported() {
                    // SAFETY: the CPU has every feature `avx2` is compiled with.
                    #[allow(unsafe_code)]
                    return unsafe { avx2($($arg),*) };
                }
            }
            let _ = level;
            $body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

//! Resident memory: per stage, what the stage added (its high-water mark while it loads and
//! runs, minus what the process held just before), and the process's peak.
//!
//! A stage's peak alone would include everything loaded before it (an iSTFT "peak" of
//! 957 MB that is mostly the model still held), so the figure reported per stage is the
//! increase. Before each stage the C allocator returns its free memory to the system
//! (glibc's `malloc_trim`), so "held before" is memory in use, not an earlier stage's
//! freed buffers still cached.
//!
//! Linux: `VmHWM` from `/proc/self/status` is the process's peak RSS, and writing `5` to
//! `/proc/self/clear_refs` resets it to the current RSS (Linux >= 4.0), so each stage gets
//! its own high-water mark. The process peak is the largest value ever read, since resetting
//! erases the kernel's own. Elsewhere (macOS) only `getrusage`'s lifetime `ru_maxrss` is
//! available without private APIs: the process peak is exact, per-stage peaks are not
//! reported rather than reported wrong. Python's tracemalloc, which the seed project used,
//! sees only the Python heap and never the model's memory; RSS sees everything.

/// Tracks peak resident memory across stages.
#[derive(Debug, Default)]
pub struct MemoryProbe {
    process_peak: u64,
    /// Resident bytes when the current stage window began.
    stage_start: Option<u64>,
}

/// How peaks were measured, recorded in the results metadata.
pub fn method() -> &'static str {
    if cfg!(target_os = "linux") {
        "linux: per stage VmHWM (reset with /proc/self/clear_refs) minus VmRSS before the stage, after malloc_trim"
    } else {
        "getrusage ru_maxrss (process peak only)"
    }
}

impl MemoryProbe {
    /// Starts tracking; records the peak reached so far (libraries loaded, audio read).
    pub fn new() -> Self {
        let mut probe = Self::default();
        probe.observe();
        probe
    }

    /// Starts a stage window: folds the current peak into the process peak, then resets the
    /// kernel's high-water mark so the next reading covers only the stage. Returns false when
    /// the platform cannot reset, in which case [`Self::stage_peak`] returns `None`.
    pub fn begin_stage(&mut self) -> bool {
        self.observe();
        release_free_memory();
        self.stage_start = current_resident();
        reset_peak()
    }

    /// What a stage added: its peak (from [`Self::stage_peak`]) over the resident memory
    /// when it began; `None` where either is not measurable.
    pub fn increase(&self, stage_peak: Option<u64>) -> Option<u64> {
        let (peak, start) = (stage_peak?, self.stage_start?);
        Some(peak.saturating_sub(start))
    }

    /// The high-water mark since [`Self::begin_stage`], in bytes, when measurable.
    pub fn stage_peak(&mut self, reset_ok: bool) -> Option<u64> {
        let peak = self.observe();
        reset_ok.then_some(peak).flatten()
    }

    /// The process's peak resident memory so far, in bytes.
    pub fn process_peak(&mut self) -> u64 {
        self.observe();
        self.process_peak
    }

    fn observe(&mut self) -> Option<u64> {
        let peak = current_peak();
        if let Some(p) = peak {
            self.process_peak = self.process_peak.max(p);
        }
        peak
    }
}

/// Bytes -> mebibytes, the unit of `*_peak_mb` metrics.
pub fn to_mb(bytes: u64) -> f64 {
    // Precision loss only above 2^53 bytes.
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(target_os = "linux")]
fn current_peak() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(target_os = "linux")]
fn current_resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(not(target_os = "linux"))]
fn current_resident() -> Option<u64> {
    None
}

/// Returns the C allocator's free memory to the system where it can (glibc).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks glibc's own heaps; it takes no pointers from us.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(target_os = "linux")]
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn current_peak() -> Option<u64> {
    // SAFETY: getrusage only writes into the zeroed struct we own; no other invariants.
    #[allow(unsafe_code)]
    let (rc, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage), usage)
    };
    // ru_maxrss is in bytes on macOS (kilobytes on the BSDs, which we do not target).
    (rc == 0).then(|| u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

#[cfg(not(unix))]
fn current_peak() -> Option<u64> {
    None
}

#[cfg(not(target_os = "linux"))]
fn reset_peak() -> bool {
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    /// Process-wide figures: the memory tests must not run beside each other.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    #[cfg(target_os = "linux")]
    fn stage_peak_sees_an_allocation_and_resets() {
        let _one = SERIAL.lock();
        let mut probe = MemoryProbe::new();
        let ok = probe.begin_stage();
        assert!(ok, "clear_refs should be writable for our own process");
        // Touch 64 MiB so it becomes resident.
        let big = vec![1u8; 64 << 20];
        let with = probe.stage_peak(ok).unwrap();
        assert!(big.iter().step_by(4096).all(|b| *b == 1));
        drop(big);
        let ok = probe.begin_stage();
        let without = probe.stage_peak(ok).unwrap();
        assert!(
            with >= without + (48 << 20),
            "with {with} without {without}"
        );
        assert!(probe.process_peak() >= with);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn increase_leaves_out_what_was_held_before() {
        let _one = SERIAL.lock();
        let mut probe = MemoryProbe::new();
        // 96 MiB held across the stage, 32 MiB more allocated inside it.
        let held = vec![1u8; 96 << 20];
        let ok = probe.begin_stage();
        let added = vec![2u8; 32 << 20];
        let peak = probe.stage_peak(ok);
        let inc = probe.increase(peak).unwrap();
        assert!(held[4096] == 1 && added[4096] == 2);
        assert!(peak.unwrap() >= (128 << 20), "{peak:?}");
        assert!(
            ((30 << 20)..(80 << 20)).contains(&inc),
            "increase {inc} should be about 32 MiB, not the 128 MiB peak"
        );
    }
}

//! Bounded text for failure details and captured output: huge outputs keep their head
//! and tail, so memory stays flat whatever a test prints.

/// Captured text kept per issue: the head and the tail (where pytest puts the
/// location and Python the exception) survive, the middle of huge output is cut.
pub const ISSUE_HEAD: usize = 16 * 1024;
pub const ISSUE_TAIL: usize = 16 * 1024;
/// Captured stdout/stderr is context only: keep less.
pub const OUTPUT_HEAD: usize = 2 * 1024;
pub const OUTPUT_TAIL: usize = 6 * 1024;

/// A string that keeps at most `head + tail` bytes (plus a marker) however much is pushed.
pub struct Capped {
    head: String,
    tail: String,
    cut: usize,
    head_cap: usize,
    tail_cap: usize,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Capped {
    pub fn new(head_cap: usize, tail_cap: usize) -> Self {
        Capped {
            head: String::new(),
            tail: String::new(),
            cut: 0,
            head_cap,
            tail_cap,
        }
    }

    pub fn push(&mut self, s: &str) {
        let mut rest = s;
        if self.tail.is_empty() && self.cut == 0 && self.head.len() < self.head_cap {
            let room = floor_boundary(rest, (self.head_cap - self.head.len()).min(rest.len()));
            self.head.push_str(&rest[..room]);
            rest = &rest[room..];
        }
        self.tail.push_str(rest);
        if self.tail.len() > 2 * self.tail_cap {
            let start = floor_boundary(&self.tail, self.tail.len() - self.tail_cap);
            self.cut += start;
            self.tail.drain(..start);
        }
    }

    pub fn finish(self) -> String {
        let Capped {
            mut head,
            tail,
            mut cut,
            tail_cap,
            ..
        } = self;
        let tail = if tail.len() > tail_cap {
            let start = floor_boundary(&tail, tail.len() - tail_cap);
            cut += start;
            &tail[start..]
        } else {
            &tail[..]
        };
        if cut > 0 {
            head.push_str(&format!("\n[... {cut} bytes cut ...]\n"));
        }
        head.push_str(tail);
        head
    }
}

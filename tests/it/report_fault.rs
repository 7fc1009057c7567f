//! A scripted fault of the fake GitHub (`report_server`): the answer for the next
//! requests matching a method and a path fragment.
#![allow(dead_code)]

/// A scripted answer for the next `times` requests matching method and path fragment.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path_contains: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub times: usize,
    /// Carry out the request anyway, then answer with the fault (a 502 from a proxy
    /// after GitHub did the work).
    pub apply_first: bool,
    /// Sleep this long before answering normally (status 0) or with the fault.
    pub delay_ms: u64,
}

impl Fault {
    pub fn new(method: &'static str, path_contains: &str, status: u16, body: &str) -> Self {
        Fault {
            method,
            path_contains: path_contains.into(),
            status,
            headers: Vec::new(),
            body: body.into(),
            times: 1,
            apply_first: false,
            delay_ms: 0,
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

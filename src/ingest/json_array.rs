//! Streaming read of a JSON array of entries (ruff's and SwiftLint's reports): each entry
//! is deserialised straight into its typed form and handed on, with no `serde_json::Value`
//! tree of the whole document, so a large report costs about its own size in memory.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Error as _, IgnoredAny, SeqAccess, Visitor};
use serde::Deserializer as _;

/// Why the text is not an array of entries.
#[derive(Debug)]
pub enum ArrayError {
    /// Empty, or not JSON at all (the parser's message).
    NotJson(String),
    Empty,
    /// Valid JSON of another kind: "an object", "a string"...
    NotArray(&'static str),
    /// An entry that does not have the expected shape, or that `each` refused.
    Entry(String),
}

/// Calls `each(index, entry)` for every element of the JSON array in `text`.
pub fn for_each<T, F>(text: &str, each: F) -> Result<(), ArrayError>
where
    T: DeserializeOwned,
    F: FnMut(usize, T) -> Result<(), String>,
{
    let start = text.trim_start();
    if start.is_empty() {
        return Err(ArrayError::Empty);
    }
    if !start.starts_with('[') {
        // Check that it is JSON at all (without building it) to say what it is.
        return match serde_json::from_str::<IgnoredAny>(text) {
            Err(e) => Err(ArrayError::NotJson(e.to_string())),
            Ok(_) => Err(ArrayError::NotArray(kind_of(start))),
        };
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // Reports nest a few levels; the parser's own recursion limit stays on.
    let index = Cell::new(0usize);
    let visitor = Each {
        each,
        index: &index,
        _entry: PhantomData,
    };
    let done = de.deserialize_seq(visitor).and_then(|()| de.end());
    done.map_err(|e| match e.classify() {
        // Shape errors (and refusals of `each`) belong to the entry being read.
        serde_json::error::Category::Data => {
            ArrayError::Entry(format!("entry {}: {e}", index.get()))
        }
        _ => ArrayError::NotJson(e.to_string()),
    })
}

fn kind_of(start: &str) -> &'static str {
    match start.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

struct Each<'i, T, F> {
    each: F,
    index: &'i Cell<usize>,
    _entry: PhantomData<fn() -> T>,
}

impl<'de, T, F> Visitor<'de> for Each<'_, T, F>
where
    T: DeserializeOwned,
    F: FnMut(usize, T) -> Result<(), String>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<T>()? {
            let i = self.index.get();
            (self.each)(i, entry).map_err(A::Error::custom)?;
            self.index.set(i + 1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(text: &str) -> Result<u64, ArrayError> {
        let mut total = 0u64;
        for_each::<u64, _>(text, |_, v| {
            total += v;
            Ok(())
        })?;
        Ok(total)
    }

    #[test]
    fn visits_every_entry() {
        assert_eq!(sum(" [1, 2, 3] ").ok(), Some(6));
        assert_eq!(sum("[]").ok(), Some(0));
    }

    #[test]
    fn tells_the_failures_apart() {
        assert!(matches!(sum("  "), Err(ArrayError::Empty)));
        assert!(matches!(
            sum("{\"a\": 1}"),
            Err(ArrayError::NotArray("an object"))
        ));
        assert!(matches!(sum("a.py:1:1: x"), Err(ArrayError::NotJson(_))));
        assert!(matches!(sum("[1, 2"), Err(ArrayError::NotJson(_))));
        assert!(matches!(sum("[1] x"), Err(ArrayError::NotJson(_))));
        match sum("[1, \"two\"]") {
            Err(ArrayError::Entry(e)) => assert!(e.starts_with("entry 1: "), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}

//! The Protocol Buffers wire format, decoded by hand: just enough to walk a Core ML `Model`.
//!
//! A message is a sequence of `(field number, wire type)` keys each followed by a value:
//! a varint (type 0), 8 fixed bytes (1), a length-prefixed byte run (2: strings, nested
//! messages, packed repeated numbers) or 4 fixed bytes (5). Unknown fields are skipped,
//! which is how a reader of a message subset stays compatible with newer specs. The
//! deprecated group types (3, 4) never occur in Core ML's proto3 files and are errors.

/// A malformed byte run: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {message}")]
pub struct WireError {
    /// Offset into the message being decoded.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// One field's value as it sits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0: ints, bools, enums.
    Varint(u64),
    /// Wire type 1: fixed64, double.
    Fixed64(u64),
    /// Wire type 2: strings, bytes, nested messages, packed repeated scalars.
    Bytes(&'a [u8]),
    /// Wire type 5: fixed32, float.
    Fixed32(u32),
}

/// Iterates over the fields of one message.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    /// Fields of the message encoded in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Result<T, WireError> {
        Err(WireError {
            offset: at,
            message: message.into(),
        })
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return self.fail(start, "the message ends inside a varint");
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.fail(start, "a varint longer than 10 bytes")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let start = self.pos;
        match start.checked_add(n).filter(|end| *end <= self.buf.len()) {
            Some(end) => {
                self.pos = end;
                Ok(&self.buf[start..end])
            }
            None => self.fail(
                start,
                format!(
                    "a field of {n} bytes runs past the end of its {}-byte message",
                    self.buf.len()
                ),
            ),
        }
    }

    /// The next `(field number, value)`, `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let at = self.pos;
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).unwrap_or(0);
        if number == 0 {
            return self.fail(at, "field number 0 (not a protobuf message?)");
        }
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                Value::Fixed64(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            }
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
            }
            other => return self.fail(at, format!("unsupported wire type {other}")),
        };
        Ok(Some((number, value)))
    }
}

impl<'a> Value<'a> {
    /// The value as a nested message or string's bytes.
    pub fn bytes(self) -> Result<&'a [u8], String> {
        match self {
            Value::Bytes(b) => Ok(b),
            other => Err(format!(
                "expected a length-delimited field, found {other:?}"
            )),
        }
    }

    /// The value as UTF-8 text.
    pub fn string(self) -> Result<String, String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| "a string field is not UTF-8".to_string())
    }

    /// Appends the numbers of a repeated varint field: packed (one length-delimited run)
    /// or not (one varint per occurrence); a writer may use either.
    pub fn varints(self, out: &mut Vec<u64>) -> Result<(), String> {
        match self {
            Value::Varint(v) => out.push(v),
            Value::Bytes(b) => {
                let mut run = Fields::new(b);
                while run.pos < b.len() {
                    out.push(run.varint().map_err(|e| format!("packed numbers: {e}"))?);
                }
            }
            other => return Err(format!("expected varints, found {other:?}")),
        }
        Ok(())
    }

    /// The value as a varint (ints, enums, bools).
    pub fn varint(self) -> Result<u64, String> {
        match self {
            Value::Varint(v) => Ok(v),
            other => Err(format!("expected a varint, found {other:?}")),
        }
    }
}

/// A protobuf `int64` as written: negative numbers are ten-byte two's complement varints.
pub fn as_i64(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type_and_skips_nothing() {
        // field 1 varint 300; field 2 "hi"; field 3 fixed32; field 4 fixed64
        let buf = [
            0x08, 0xac, 0x02, 0x12, 2, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut f = Fields::new(&buf);
        assert_eq!(f.next_field().unwrap(), Some((1, Value::Varint(300))));
        let (n, v) = f.next_field().unwrap().unwrap();
        assert_eq!((n, v.string().unwrap().as_str()), (2, "hi"));
        assert_eq!(f.next_field().unwrap(), Some((3, Value::Fixed32(1))));
        assert_eq!(f.next_field().unwrap(), Some((4, Value::Fixed64(2))));
        assert_eq!(f.next_field().unwrap(), None);
    }

    #[test]
    fn packed_and_unpacked_numbers_and_negative_int64() {
        let mut out = Vec::new();
        Value::Bytes(&[1, 0xac, 0x02]).varints(&mut out).unwrap();
        Value::Varint(7).varints(&mut out).unwrap();
        assert_eq!(out, vec![1, 300, 7]);
        assert_eq!(as_i64(u64::MAX), -1);
    }

    #[test]
    fn truncation_and_garbage_are_errors_with_offsets() {
        let err = Fields::new(&[0x12, 5, b'a']).next_field().unwrap_err();
        assert!(err.message.contains("runs past the end"), "{err}");
        assert_eq!(err.offset, 2);
        assert!(Fields::new(&[0x08, 0x80]).next_field().is_err());
        assert!(Fields::new(&[0x0b]).next_field().is_err()); // group start
        assert!(Fields::new(&[0x00]).next_field().is_err());
        assert!(Fields::new(&[0xff; 12]).next_field().is_err());
    }
}

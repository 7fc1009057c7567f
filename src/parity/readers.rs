//! Byte readers under an array source: a stored archive member checked against its
//! CRC-32, and a counter for how long a header was.

use std::io::{self, Read};

/// Reads a stored archive member and checks its CRC-32 once the member has been read to
/// its end (the zip reader does the same for compressed members). crc32fast picks a
/// carry-less-multiply loop at run time when the CPU has one.
pub struct CrcCheck<R> {
    pub inner: R,
    pub hasher: crc32fast::Hasher,
    pub expected: u32,
}

impl<R: Read> Read for CrcCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let got = self.hasher.clone().finalize();
            if got != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "CRC-32 mismatch (the archive records {:08x}, the member's bytes give \
                         {got:08x}): the member is corrupted",
                        self.expected
                    ),
                ));
            }
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Counts the bytes read through it (how long a header was).
pub struct Counted<'r, R: ?Sized> {
    pub inner: &'r mut R,
    pub n: u64,
}

impl<R: Read + ?Sized> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_mismatch_is_found_at_the_end() {
        let data = b"some member bytes";
        let read = |expected: u32| {
            let mut r = CrcCheck {
                inner: &data[..],
                hasher: crc32fast::Hasher::new(),
                expected,
            };
            io::copy(&mut r, &mut io::sink())
        };
        assert!(read(crc32fast::hash(data)).is_ok());
        let err = read(crc32fast::hash(data) ^ 1).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("CRC-32 mismatch")));
    }
}

//! A pass-through writer that counts and SHA-256-hashes the bytes it forwards.

use sha2::{Digest as _, Sha256};
use std::io::{self, Write};

/// Size and SHA-256 of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDigest {
    pub size: u64,
    pub sha256: [u8; 32],
}

impl StreamDigest {
    /// The SHA-256 as lower-case hex (what `sha256sum` prints).
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// Forwards every write to `inner`, hashing and counting exactly the bytes `inner` accepted.
pub struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> DigestWriter<W> {
    pub fn new(inner: W) -> DigestWriter<W> {
        DigestWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Returns the inner writer and the digest of everything written so far.
    pub fn finish(self) -> (W, StreamDigest) {
        let digest = StreamDigest {
            size: self.size,
            sha256: self.hasher.finalize().into(),
        };
        (self.inner, digest)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let accepted = buf.get(..n).unwrap_or(buf);
        self.hasher.update(accepted);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts at most 3 bytes per call, like a slow socket.
    struct Trickle(Vec<u8>);
    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn hashes_exactly_what_was_accepted() {
        let mut w = DigestWriter::new(Trickle(Vec::new()));
        w.write_all(b"abc").unwrap();
        w.write_all(b"defgh").unwrap();
        let (inner, d) = w.finish();
        assert_eq!(inner.0, b"abcdefgh");
        assert_eq!(d.size, 8);
        assert_eq!(
            d.sha256_hex(),
            "9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab"
        );
    }
}

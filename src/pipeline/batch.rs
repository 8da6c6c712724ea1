//! Gathers a writer's small writes into large ones, wiping the buffer when done.
//!
//! Format writers emit a row or an element at a time (a few hundred bytes). Every layer below
//! them (SHA-256, deflate, zip AES + HMAC, OpenPGP) pays a fixed cost per call, so they are fed
//! in [`BATCH`]-byte pieces instead. The buffer holds plaintext seeds, so unlike `BufWriter`'s
//! it is zeroized when dropped.

use std::io::{self, Write};
use zeroize::Zeroizing;

/// Bytes gathered before they are passed on.
pub const BATCH: usize = 64 * 1024;

/// A buffered writer whose buffer is wiped on drop. Call [`Batched::finish`] (or `flush`) to
/// pass on the last bytes; dropping it unflushed loses them.
pub struct Batched<W: Write> {
    inner: W,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write> Batched<W> {
    pub fn new(inner: W) -> Batched<W> {
        Batched {
            inner,
            buf: Zeroizing::new(Vec::with_capacity(BATCH)),
        }
    }

    /// Passes on what is left and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.pass_on()?;
        Ok(self.inner)
    }

    fn pass_on(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
            // `clear` keeps the capacity; the bytes are overwritten by the next batch and
            // wiped when the buffer is dropped.
            self.buf.clear();
        }
        Ok(())
    }
}

impl<W: Write> Write for Batched<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > BATCH {
            self.pass_on()?;
        }
        if data.len() >= BATCH {
            return self.inner.write(data);
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pass_on()?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the size of every write it is given.
    #[derive(Default)]
    struct Calls {
        bytes: Vec<u8>,
        sizes: Vec<usize>,
    }

    impl Write for Calls {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(data);
            self.sizes.push(data.len());
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn small_writes_arrive_in_order_in_few_large_ones() {
        let mut w = Batched::new(Calls::default());
        let mut want = Vec::new();
        for i in 0..1000u32 {
            let piece = format!("<row n=\"{i}\"/>\n").repeat(1 + (i % 7) as usize);
            w.write_all(piece.as_bytes()).unwrap();
            want.extend_from_slice(piece.as_bytes());
        }
        let big = vec![b'x'; BATCH + 1];
        w.write_all(&big).unwrap();
        want.extend_from_slice(&big);
        w.write_all(b"end\n").unwrap();
        want.extend_from_slice(b"end\n");
        let calls = w.finish().unwrap();
        assert_eq!(calls.bytes, want);
        assert!(
            calls.sizes.len() <= want.len() / BATCH + 3,
            "{:?}",
            calls.sizes
        );
        assert!(calls.sizes.iter().all(|&n| n > 0));
    }
}

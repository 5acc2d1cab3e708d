//! The bytes waiting to be written to the client: one contiguous buffer the caller drains
//! at the pace the socket takes them.

use std::io;

/// Output of a session. Append-only for the session, drain-from-the-front for the caller.
#[derive(Debug, Default)]
pub struct OutputBuffer {
    buf: Vec<u8>,
    /// Bytes before this offset were already written.
    start: usize,
}

impl OutputBuffer {
    /// The bytes not yet written, oldest first.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Marks the first `n` pending bytes as written (`n` is clamped to what is pending).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.buf.len());
        if self.start == self.buf.len() {
            // Emptied: start over at the front, keeping the capacity.
            self.buf.clear();
            self.start = 0;
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes all pending bytes, leaving the buffer empty.
    pub fn take(&mut self) -> Vec<u8> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        std::mem::take(&mut self.buf)
    }

    /// Writes pending bytes with one `write` call and consumes what it took. `WouldBlock`
    /// and other errors are passed on with nothing consumed.
    pub fn write_to(&mut self, w: &mut impl io::Write) -> io::Result<usize> {
        let n = w.write(self.pending())?;
        self.consume(n);
        Ok(n)
    }

    /// The vector to append output to (the pretty printer writes into it directly).
    pub(crate) fn appender(&mut self) -> &mut Vec<u8> {
        // Move the unwritten tail to the front once the written part is at least as big, so
        // each byte is moved at most once on average and the buffer does not creep.
        if self.start > 0 && self.start >= self.buf.len() - self.start {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        &mut self.buf
    }
}

//! Builds one output line in a buffer and sends it with as few port writes as
//! possible. Small hand-written number printers: `core::fmt` would cost many
//! emulated kernel-mode instructions per character.

use crate::abi::MAX_CPUS;
use crate::global::Global;
use crate::serial;

const CAPACITY: usize = 128;
const HEX: &[u8; 16] = b"0123456789abcdef";

/// One line buffer per CPU, static and not zeroed at boot: a buffer on the
/// stack would be zeroed by compiled code (with SSE stores the CPL0 emulator
/// cannot run, see README).
#[link_section = ".bss.noinit.line"]
static BUFFERS: Global<[[u8; CAPACITY]; MAX_CPUS]> = Global::new([[0; CAPACITY]; MAX_CPUS]);

/// A line being built in this CPU's buffer. One at a time per CPU: a nested one
/// (an exception while printing) restarts the buffer.
pub struct Line {
    buf: *mut [u8; CAPACITY],
    len: usize,
}

impl Line {
    pub fn new() -> Line {
        Line {
            buf: BUFFERS.element(crate::smp::this_cpu()),
            len: 0,
        }
    }

    /// Room for `n` more bytes (sends what is buffered if needed; n <= CAPACITY).
    fn reserve(&mut self, n: usize) -> *mut u8 {
        if self.len + n > CAPACITY {
            self.flush();
        }
        // SAFETY: in bounds of this CPU's buffer.
        unsafe { self.buf.cast::<u8>().add(self.len) }
    }

    pub fn bytes(&mut self, mut s: &[u8]) -> &mut Line {
        // Block copies (one `rep movs` each) rather than a loop per byte.
        loop {
            let n = s.len().min(CAPACITY - self.len);
            // SAFETY: n bytes fit after len.
            unsafe {
                core::ptr::copy_nonoverlapping(s.as_ptr(), self.buf.cast::<u8>().add(self.len), n)
            };
            self.len += n;
            s = &s[n..];
            if s.is_empty() {
                return self;
            }
            self.flush();
        }
    }

    pub fn str(&mut self, s: &str) -> &mut Line {
        self.bytes(s.as_bytes())
    }

    /// `0x` and the hexadecimal digits without leading zeros.
    pub fn hex(&mut self, v: u64) -> &mut Line {
        let digits = (64 - (v | 1).leading_zeros() as usize).div_ceil(4);
        self.hex_digits(v, digits)
    }

    /// `0x` and exactly 16 hexadecimal digits (Linux's e820 format).
    pub fn hex16(&mut self, v: u64) -> &mut Line {
        self.hex_digits(v, 16)
    }

    fn hex_digits(&mut self, v: u64, digits: usize) -> &mut Line {
        let out = self.reserve(2 + digits);
        // SAFETY: reserve made room for "0x" and the digits.
        unsafe {
            out.write(b'0');
            out.add(1).write(b'x');
            for i in 0..digits {
                out.add(2 + i)
                    .write(HEX[((v >> ((digits - 1 - i) * 4)) & 0xf) as usize]);
            }
        }
        self.len += 2 + digits;
        self
    }

    pub fn dec(&mut self, mut v: u64) -> &mut Line {
        let mut digits = 1;
        let mut rest = v;
        while rest >= 10 {
            rest /= 10;
            digits += 1;
        }
        let out = self.reserve(digits);
        // Written from the right.
        for i in (0..digits).rev() {
            // SAFETY: reserve made room (digits <= 20 < CAPACITY).
            unsafe { out.add(i).write(b'0' + (v % 10) as u8) };
            v /= 10;
        }
        self.len += digits;
        self
    }

    /// Sends the buffered part of the line (without ending it).
    fn flush(&mut self) {
        // SAFETY: this CPU's buffer.
        serial::write(unsafe { core::slice::from_raw_parts(self.buf.cast::<u8>(), self.len) });
        self.len = 0;
    }

    /// Ends the line with "\r\n" and sends it.
    pub fn send(&mut self) {
        self.bytes(b"\r\n");
        self.flush();
    }
}

/// Sends `s` as one line.
pub fn println(s: &str) {
    Line::new().str(s).send();
}

//! The terminal feeding a serial port, with QEMU's Ctrl-A mux commands when a monitor shares
//! the terminal (`-nographic`, `mon:stdio`).

use std::collections::VecDeque;
use std::io::Write;

const CTRL_A: u8 = 0x01;

const MUX_HELP: &[&str] = &[
    "% h    print this help\n\r",
    "% x    exit emulator\n\r",
    "% s    save disk data back to file (if -snapshot)\n\r",
    "% t    toggle console timestamps\n\r",
    "% b    send break (magic sysrq)\n\r",
    "% c    switch between console and monitor\n\r",
    "% %  sends %\n\r",
];

/// What the mux asks of the loop.
#[derive(Debug, PartialEq, Eq)]
pub enum MuxAction {
    None,
    /// Ctrl-A x.
    Quit,
}

pub struct SerialFeed {
    pub port: usize,
    pub mux: bool,
    pending: VecDeque<u8>,
    escape: bool,
    pub readable: bool,
    pub eof: bool,
}

pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

impl SerialFeed {
    pub fn new(port: usize, mux: bool) -> Self {
        SerialFeed {
            port,
            mux,
            pending: VecDeque::new(),
            escape: false,
            readable: true,
            eof: false,
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The bytes waiting for the guest, as one slice (front part).
    pub fn pending_front(&self) -> &[u8] {
        self.pending.as_slices().0
    }

    pub fn consume(&mut self, n: usize) {
        self.pending.drain(..n.min(self.pending.len()));
    }

    /// Applies mux escapes and queues the rest for the guest.
    pub fn input(&mut self, bytes: &[u8]) -> MuxAction {
        if !self.mux {
            self.pending.extend(bytes);
            return MuxAction::None;
        }
        for &b in bytes {
            if self.escape {
                self.escape = false;
                match b {
                    CTRL_A => self.pending.push_back(CTRL_A),
                    b'x' => {
                        write_stdout(b"QEMU: Terminated\n\r");
                        return MuxAction::Quit;
                    }
                    b'h' | b'?' => {
                        let mut help = String::from("\n\r");
                        for line in MUX_HELP {
                            help.push_str(&line.replace('%', "C-a"));
                        }
                        write_stdout(help.as_bytes());
                    }
                    // Monitor focus, break, timestamps: like QEMU, other bytes after the
                    // escape are dropped.
                    _ => {}
                }
            } else if b == CTRL_A {
                self.escape = true;
            } else {
                self.pending.push_back(b);
            }
        }
        MuxAction::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut f = SerialFeed::new(0, true);
        assert_eq!(f.input(b"ab\x01\x01c\x01zd"), MuxAction::None);
        assert_eq!(f.pending_front(), b"ab\x01cd");
        let mut plain = SerialFeed::new(0, false);
        plain.input(b"\x01x");
        assert_eq!(plain.pending_front(), b"\x01x");
    }
}

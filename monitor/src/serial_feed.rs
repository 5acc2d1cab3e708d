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
    /// Ctrl-A c: the terminal switches between the serial console and the monitor. The
    /// bytes after it are left in the feed for [`SerialFeed::take_monitor_input`] or the
    /// guest, as the new focus decides.
    SwitchFocus,
    /// Ctrl-A b: a break condition on the serial line.
    Break,
}

pub struct SerialFeed {
    pub port: usize,
    pub mux: bool,
    pending: VecDeque<u8>,
    /// Bytes typed while the monitor has the focus.
    monitor_input: Vec<u8>,
    /// The monitor (not the guest) has the terminal.
    pub monitor_focus: bool,
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
            monitor_input: Vec::new(),
            monitor_focus: false,
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

    /// Input for the monitor typed since the last call.
    pub fn take_monitor_input(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.monitor_input)
    }

    fn push(&mut self, b: u8) {
        if self.monitor_focus {
            self.monitor_input.push(b);
        } else {
            self.pending.push_back(b);
        }
    }

    /// Applies mux escapes and queues the rest for the guest or the monitor. Stops after a
    /// focus switch; call again with the remaining bytes (`rest`).
    pub fn input(&mut self, bytes: &[u8]) -> MuxAction {
        self.input_from(bytes).0
    }

    /// [`Self::input`], also returning how many bytes were consumed.
    pub fn input_from(&mut self, bytes: &[u8]) -> (MuxAction, usize) {
        if !self.mux {
            self.pending.extend(bytes);
            return (MuxAction::None, bytes.len());
        }
        for (i, &b) in bytes.iter().enumerate() {
            if self.escape {
                self.escape = false;
                match b {
                    CTRL_A => self.push(CTRL_A),
                    b'c' => return (MuxAction::SwitchFocus, i + 1),
                    // Only the console's focus sends it to the guest (QEMU's mux_proc_byte).
                    b'b' if !self.monitor_focus => return (MuxAction::Break, i + 1),
                    b'x' => {
                        write_stdout(b"QEMU: Terminated\n\r");
                        return (MuxAction::Quit, i + 1);
                    }
                    b'h' | b'?' => {
                        let mut help = String::from("\n\r");
                        for line in MUX_HELP {
                            help.push_str(&line.replace('%', "C-a"));
                        }
                        write_stdout(help.as_bytes());
                    }
                    // Timestamps, break with the monitor's focus: like QEMU, other bytes
                    // after the escape are dropped.
                    _ => {}
                }
            } else if b == CTRL_A {
                self.escape = true;
            } else {
                self.push(b);
            }
        }
        (MuxAction::None, bytes.len())
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
        assert_eq!(f.input_from(b"x\x01cinfo"), (MuxAction::SwitchFocus, 3));
        assert_eq!(f.input_from(b"\x01bz"), (MuxAction::Break, 2));
        let mut plain = SerialFeed::new(0, false);
        plain.input(b"\x01x");
        assert_eq!(plain.pending_front(), b"\x01x");
    }
}

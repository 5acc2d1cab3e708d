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
    /// Where in `pending` a Ctrl-A b break goes: the bytes typed before it reach the port
    /// first ([`Self::take_break`]).
    break_at: Option<usize>,
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
            break_at: None,
        }
    }

    /// Bytes wait for the guest ahead of any break.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() && self.break_at != Some(0)
    }

    /// The bytes waiting for the guest, as one slice (front part, up to a break).
    pub fn pending_front(&self) -> &[u8] {
        let front = self.pending.as_slices().0;
        match self.break_at {
            Some(at) => &front[..at.min(front.len())],
            None => front,
        }
    }

    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.pending.len());
        self.pending.drain(..n);
        if let Some(at) = &mut self.break_at {
            *at = at.saturating_sub(n);
        }
    }

    /// Whether a break is due now (every byte typed before it has gone); clears it.
    pub fn take_break(&mut self) -> bool {
        let due = self.break_at == Some(0);
        if due {
            self.break_at = None;
        }
        due
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
                    // A break on the line, in order with the bytes around it; only with the
                    // console's focus (QEMU's mux_proc_byte). One waits at a time.
                    b'b' if !self.monitor_focus => {
                        self.break_at.get_or_insert(self.pending.len());
                    }
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
        let mut plain = SerialFeed::new(0, false);
        plain.input(b"\x01x");
        assert_eq!(plain.pending_front(), b"\x01x");
    }

    #[test]
    fn break_comes_between_the_bytes_around_it() {
        let mut f = SerialFeed::new(0, true);
        assert_eq!(f.input(b"ab\x01bcd"), MuxAction::None);
        assert!(!f.take_break());
        assert_eq!(f.pending_front(), b"ab");
        f.consume(1);
        assert_eq!(f.pending_front(), b"b");
        f.consume(1);
        assert!(!f.has_pending());
        assert!(f.take_break());
        assert_eq!(f.pending_front(), b"cd");
        assert!(f.has_pending());
    }
}

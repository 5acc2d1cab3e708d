//! The human monitor's line editor, byte for byte what QEMU 10's readline (`util/readline.c`)
//! sends and accepts at the `(qemu) ` prompt, with no I/O of its own.
//!
//! # Driving it
//! ```
//! use monitor::readline::{crlf, NoCompletion, Readline, ReadlineEvent, GREETING};
//!
//! let mut rl = Readline::new();
//! let mut wire = GREETING.as_bytes().to_vec();
//! wire.extend(rl.start("(qemu) "));
//! let mut events = rl.feed(b"info status\r", &mut NoCompletion);
//! loop {
//!     for event in events {
//!         match event {
//!             ReadlineEvent::Output(bytes) => wire.extend(bytes),
//!             ReadlineEvent::Line(line) => {
//!                 assert_eq!(line, "info status");
//!                 wire.extend(crlf("VM status: running\n"));
//!                 wire.extend(rl.prompt_after_command());
//!             }
//!         }
//!     }
//!     if !rl.has_pending_input() {
//!         break;
//!     }
//!     events = rl.feed(&[], &mut NoCompletion);
//! }
//! assert!(wire.ends_with(b"\r\nVM status: running\r\n(qemu) "));
//! ```
//!
//! * Every typed byte is echoed by redrawing: the cursor goes back to the start of the line
//!   with one `ESC [ D` per character, the whole line is written, `ESC [ K` clears what is
//!   left of the old one, and `ESC [ D` / `ESC [ C` put the cursor in place. Nothing is sent
//!   when a key changes nothing.
//! * `\r` and `\n` each end a line (`\r\n` is a line and then an empty line), echoed as `\r\n`.
//!   A `Line` event is always the last event of a `feed`: like QEMU, which suspends the
//!   monitor while a command runs, the editor holds back further input until
//!   [`Readline::prompt_after_command`]. The caller runs the command, writes its output (with
//!   [`crlf`], as QEMU's `monitor_puts` turns `\n` into `\r\n`), writes the prompt that call
//!   returns, and calls `feed(&[], …)` while [`Readline::has_pending_input`] says bytes are
//!   waiting. [`Readline::wants_input`] is false meanwhile, for flow control.
//! * Keys (QEMU 10.0.2, measured): printable bytes insert; `←`/`→` (`ESC [ D`, `ESC [ C`,
//!   also 8-bit CSI `0x9b D`); Home: `ESC [ 1 ~`, `ESC O H`, Ctrl-A; End: `ESC [ 4 ~`,
//!   `ESC O F`, Ctrl-E; Backspace: 0x7f, Ctrl-H; Delete: `ESC [ 3 ~`, Ctrl-D (also on an empty
//!   line: no end-of-file); Ctrl-U deletes from the start of the line to the cursor; Ctrl-W
//!   deletes the word before the cursor; Ctrl-L clears the screen and redraws; history:
//!   `ESC [ A`, `ESC [ F` (sic) and Ctrl-P go back, `ESC [ B`, `ESC [ E` and Ctrl-N forward;
//!   Tab completes. Ctrl-B, Ctrl-F, Ctrl-K and the other control bytes do nothing.
//!   `ESC [ H`, `ESC [ 2 ~`, `ESC [ 5 ~` … are swallowed. An escape sequence with `;` ends at
//!   the `;` and the rest is typed text, as in QEMU (`ESC [ 1 ; 5 D` inserts `5D`).
//! * Escape sequences and UTF-8 characters may be split across `feed` calls anywhere.
//!
//! # Byte mode and UTF-8 mode
//! QEMU edits bytes: one `ESC [ D` per byte, Backspace deletes one byte of a multi-byte
//! character. [`CharMode::Bytes`] reproduces that exactly. The default, [`CharMode::Utf8`],
//! treats a UTF-8 character as one cursor step and one column and waits for all of its bytes
//! before echoing it; bytes that do not form a character are entered as U+FFFD, C1 control
//! characters are ignored like C0 ones, so the line and the echo are always valid UTF-8.
//! For ASCII input the two modes send identical bytes. (Double-width characters still count
//! as one column.)
//!
//! # Mux and reconnection
//! On each new connection of a socket monitor QEMU sends [`GREETING`] then the prompt, with
//! an empty line and the history kept: [`Readline::new_client`] returns both. On the stdio mux (measured with
//! `-serial mon:stdio`) the greeting is held until the monitor first gets the focus; Ctrl-A c
//! to the monitor sends the held greeting then [`Readline::mux_in`] (the line being typed is
//! discarded and the prompt drawn again), Ctrl-A c away sends [`Readline::mux_out`] (`\r\n`).

mod completion;
mod history;
mod units;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod qemu_data;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transcripts;

use std::collections::VecDeque;

pub use completion::{last_word_len, Completer, NoCompletion, MAX_COMPLETIONS};
pub use history::MAX_HISTORY;

use history::History;
use units::{bytes_of, is_continuation, units_of, utf8_sequence_len, PendingChar, Unit};

/// QEMU's prompt.
pub const PROMPT: &str = "(qemu) ";

/// The line QEMU 10.0.2 sends when a client connects, before the first prompt.
pub const GREETING: &str = "QEMU 10.0.2 monitor - type 'help' for more information\r\n";

/// QEMU's `READLINE_CMD_BUF_SIZE`: the longest line, in bytes.
pub const MAX_LINE: usize = 4095;

/// QEMU truncates the prompt to fit its 256-byte buffer.
const MAX_PROMPT: usize = 255;

/// Redraw sequences.
const LEFT: &[u8] = b"\x1b[D";
const RIGHT: &[u8] = b"\x1b[C";
const CLEAR_EOL: &[u8] = b"\x1b[K";
const CLEAR_SCREEN: &[u8] = b"\x1b[2J\x1b[1;1H";

/// Text as QEMU's `monitor_puts` writes it: every `\n` becomes `\r\n` (a `\r` already there
/// is kept, as in QEMU).
pub fn crlf(text: &str) -> Vec<u8> {
    crlf_bytes(text.as_bytes())
}

/// [`crlf`] for bytes.
pub fn crlf_bytes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    put(&mut out, text);
    out
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    if !bytes.contains(&b'\n') {
        out.extend_from_slice(bytes);
        return;
    }
    // A line at a time: a byte at a time dominated large outputs (`xp`).
    let mut lines = bytes.split(|&b| b == b'\n');
    if let Some(first) = lines.next() {
        out.extend_from_slice(first);
    }
    for line in lines {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(line);
    }
}

fn repeat(out: &mut Vec<u8>, seq: &[u8], n: usize) {
    out.reserve(seq.len() * n);
    for _ in 0..n {
        out.extend_from_slice(seq);
    }
}

/// What `feed` produced, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadlineEvent {
    /// Bytes for the terminal: echo, redraws, completion listings.
    Output(Vec<u8>),
    /// A complete command line (possibly empty), already echoed and recorded in the history.
    /// Bytes that are not UTF-8 appear as U+FFFD.
    Line(String),
}

/// How the line is split into cursor steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CharMode {
    /// One step per byte, exactly as QEMU.
    Bytes,
    /// One step per UTF-8 character; identical to `Bytes` for ASCII.
    #[default]
    Utf8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    /// QEMU's `IS_NORM`, `IS_ESC`, `IS_CSI`, `IS_SS3`.
    Normal,
    Escape,
    Csi,
    Ss3,
}

/// QEMU's readline state, for one monitor.
#[derive(Debug, Clone)]
pub struct Readline {
    prompt: String,
    utf8: bool,
    /// The line being edited (`cmd_buf`), its cursor and its length in bytes.
    line: Vec<Unit>,
    cursor: usize,
    line_bytes: usize,
    /// What the terminal shows (`last_cmd_buf`, `last_cmd_buf_index`).
    shown: Vec<Unit>,
    shown_cursor: usize,
    esc: KeyState,
    /// Digits of a CSI sequence. Like QEMU this is cleared by `ESC [` and `ESC O` but not by
    /// the 8-bit CSI byte, so `0x9b ~` reuses the previous number.
    esc_param: i32,
    /// UTF-8 mode: a character whose continuation bytes have not all arrived.
    pending: PendingChar,
    /// UTF-8 mode: continuation bytes to drop, of a character that ended an escape sequence.
    skip: u8,
    history: History,
    /// Bytes received but not processed: everything after a line, until the prompt returns.
    input: VecDeque<u8>,
    suspended: bool,
    /// The bytes of the last line entered.
    last_line: Vec<u8>,
}

impl Default for Readline {
    fn default() -> Self {
        Self::new()
    }
}

impl Readline {
    /// An editor with QEMU's prompt in UTF-8 mode. Nothing is printed until [`start`](Self::start).
    pub fn new() -> Self {
        Self::with_mode(CharMode::Utf8)
    }

    /// An editor with QEMU's prompt in the given mode.
    pub fn with_mode(mode: CharMode) -> Self {
        Readline {
            prompt: PROMPT.to_string(),
            utf8: mode == CharMode::Utf8,
            line: Vec::new(),
            cursor: 0,
            line_bytes: 0,
            shown: Vec::new(),
            shown_cursor: 0,
            esc: KeyState::Normal,
            esc_param: 0,
            pending: PendingChar::default(),
            skip: 0,
            history: History::default(),
            input: VecDeque::new(),
            suspended: false,
            last_line: Vec::new(),
        }
    }

    /// Whether the line is edited by bytes or by characters.
    pub fn mode(&self) -> CharMode {
        if self.utf8 {
            CharMode::Utf8
        } else {
            CharMode::Bytes
        }
    }

    /// Sets the prompt, empties the line and returns the prompt to print
    /// (`readline_start` + `readline_show_prompt`).
    pub fn start(&mut self, prompt: &str) -> Vec<u8> {
        let mut end = prompt.len().min(MAX_PROMPT);
        while !prompt.is_char_boundary(end) {
            end -= 1;
        }
        self.prompt = prompt[..end].to_string();
        self.restart();
        self.show_prompt()
    }

    /// The prompt `start` set (QEMU's `(qemu) ` by default).
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// Empties the line being typed (`readline_restart`); the terminal is not touched.
    pub fn restart(&mut self) {
        self.line.clear();
        self.cursor = 0;
        self.line_bytes = 0;
    }

    /// Prints the prompt (`readline_show_prompt`). The terminal is taken to show an empty
    /// line after it, so a line still being edited is drawn by the next key, as in QEMU; a
    /// partial escape sequence is forgotten.
    pub fn show_prompt(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.prompt_into(&mut out);
        out
    }

    /// After a `Line`: the command has run and its output is written; returns the prompt
    /// (QEMU's `monitor_resume` → `readline_restart` + `readline_show_prompt`) and lets the
    /// held-back input be processed by the next `feed`.
    pub fn prompt_after_command(&mut self) -> Vec<u8> {
        self.suspended = false;
        self.restart();
        self.show_prompt()
    }

    /// Whether the caller should read more input (false between a `Line` and
    /// `prompt_after_command`, as QEMU stops reading a suspended monitor).
    pub fn wants_input(&self) -> bool {
        !self.suspended
    }

    /// Input bytes are waiting: call `feed(&[], …)` (after `prompt_after_command`).
    pub fn has_pending_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// A client connected (QEMU's `CHR_EVENT_OPENED` on a monitor that has the focus): input
    /// held from an earlier client is dropped, the line emptied, and the greeting and prompt
    /// returned. The history is kept.
    pub fn new_client(&mut self) -> Vec<u8> {
        self.input.clear();
        self.suspended = false;
        self.restart();
        let mut out = GREETING.as_bytes().to_vec();
        out.extend(self.show_prompt());
        out
    }

    /// The mux gives the focus to the serial port: QEMU prints a newline (unless a command
    /// is running).
    pub fn mux_out(&mut self) -> Vec<u8> {
        if self.suspended {
            Vec::new()
        } else {
            b"\r\n".to_vec()
        }
    }

    /// The mux gives the focus back: the line typed so far is dropped and the prompt drawn.
    pub fn mux_in(&mut self) -> Vec<u8> {
        if self.suspended {
            return Vec::new();
        }
        self.restart();
        self.show_prompt()
    }

    /// The entered lines, oldest first (at most [`MAX_HISTORY`]).
    pub fn history(&self) -> &[String] {
        self.history.entries()
    }

    /// The `info history` listing, `0: 'info status'\n` …, with `\n` line ends (pass it
    /// through [`crlf`] like other command output).
    pub fn format_history(&self) -> String {
        let mut s = String::new();
        for (i, line) in self.history().iter().enumerate() {
            s.push_str(&format!("{i}: '{line}'\n"));
        }
        s
    }

    /// [`format_history`](Self::format_history) with the entries' bytes as typed, which
    /// differ only for non-UTF-8 input in byte mode.
    pub fn format_history_bytes(&self) -> Vec<u8> {
        let mut s = Vec::new();
        for (i, line) in self.history.raw_entries().iter().enumerate() {
            s.extend_from_slice(format!("{i}: '").as_bytes());
            s.extend_from_slice(line);
            s.extend_from_slice(b"'\n");
        }
        s
    }

    /// The bytes of the last `Line`, which differ from its text only for non-UTF-8 input in
    /// byte mode.
    pub fn last_line_bytes(&self) -> &[u8] {
        &self.last_line
    }

    /// The line being edited (lossy for non-UTF-8 bytes).
    pub fn current_line(&self) -> String {
        String::from_utf8_lossy(&bytes_of(&self.line)).into_owned()
    }

    /// The cursor, in cursor steps (bytes in byte mode, characters in UTF-8 mode).
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Processes input: returns the echo and, at most once and last, a complete line.
    pub fn feed(&mut self, bytes: &[u8], completer: &mut dyn Completer) -> Vec<ReadlineEvent> {
        self.input.extend(bytes);
        let mut events = Vec::new();
        let mut out = Vec::new();
        while !self.suspended {
            let Some(b) = self.input.pop_front() else {
                break;
            };
            if let Some(line) = self.handle_byte(b, completer, &mut out) {
                if !out.is_empty() {
                    events.push(ReadlineEvent::Output(std::mem::take(&mut out)));
                }
                events.push(ReadlineEvent::Line(line));
                self.suspended = true;
            }
        }
        if !out.is_empty() {
            events.push(ReadlineEvent::Output(out));
        }
        events
    }

    /// `readline_handle_byte`: one byte, then the redraw.
    fn handle_byte(&mut self, b: u8, c: &mut dyn Completer, out: &mut Vec<u8>) -> Option<String> {
        let line = self.key(b, c, out);
        self.update(out);
        line
    }

    fn key(&mut self, b: u8, c: &mut dyn Completer, out: &mut Vec<u8>) -> Option<String> {
        if self.utf8 {
            if self.skip > 0 {
                self.skip -= 1;
                if is_continuation(b) {
                    return None;
                }
                self.skip = 0;
            }
            if !self.pending.is_empty() {
                if is_continuation(b) {
                    if self.pending.push(b) {
                        self.insert_typed();
                    }
                    return None;
                }
                self.insert_typed();
            }
            if let Some(n) = utf8_sequence_len(b) {
                if self.esc == KeyState::Normal {
                    self.pending.start(b, n);
                    return None;
                }
                // A character ending an escape sequence is swallowed whole.
                self.skip = (n - 1) as u8;
            }
        }
        match self.esc {
            KeyState::Normal => return self.normal_key(b, c, out),
            KeyState::Escape => {
                self.esc = match b {
                    b'[' => KeyState::Csi,
                    b'O' => KeyState::Ss3,
                    _ => KeyState::Normal,
                };
                if self.esc != KeyState::Normal {
                    self.esc_param = 0;
                }
            }
            KeyState::Csi => {
                match b {
                    b'A' | b'F' => self.history_up(),
                    b'B' | b'E' => self.history_down(),
                    b'D' => self.left(),
                    b'C' => self.right(),
                    b'0'..=b'9' => {
                        self.esc_param = self
                            .esc_param
                            .wrapping_mul(10)
                            .wrapping_add(i32::from(b - b'0'));
                        return None;
                    }
                    b'~' => match self.esc_param {
                        1 => self.cursor = 0,
                        3 => self.delete(),
                        4 => self.cursor = self.line.len(),
                        _ => {}
                    },
                    _ => {}
                }
                self.esc = KeyState::Normal;
            }
            KeyState::Ss3 => {
                match b {
                    b'F' => self.cursor = self.line.len(),
                    b'H' => self.cursor = 0,
                    _ => {}
                }
                self.esc = KeyState::Normal;
            }
        }
        None
    }

    fn normal_key(&mut self, b: u8, c: &mut dyn Completer, out: &mut Vec<u8>) -> Option<String> {
        match b {
            0x01 => self.cursor = 0,
            0x04 => self.delete(),
            0x05 => self.cursor = self.line.len(),
            b'\t' => self.complete(c, out),
            0x0c => {
                out.extend_from_slice(CLEAR_SCREEN);
                self.prompt_into(out);
            }
            b'\n' | b'\r' => {
                self.last_line = bytes_of(&self.line);
                self.history.add(&self.last_line);
                put(out, b"\n");
                self.restart();
                self.shown.clear();
                self.shown_cursor = 0;
                return Some(String::from_utf8_lossy(&self.last_line).into_owned());
            }
            0x0e => self.history_down(),
            0x10 => self.history_up(),
            0x15 => self.kill_to_start(),
            0x17 => self.delete_word(),
            0x1b => self.esc = KeyState::Escape,
            0x7f | 0x08 => {
                if self.cursor > 0 {
                    self.left();
                    self.delete();
                }
            }
            0x9b => self.esc = KeyState::Csi,
            _ if b < 0x20 => {}
            _ if self.utf8 && b >= 0x80 => self.insert(Unit::char(char::REPLACEMENT_CHARACTER)),
            _ => self.insert(Unit::byte(b)),
        }
        None
    }

    /// `readline_show_prompt` without the redraw that follows it.
    fn prompt_into(&mut self, out: &mut Vec<u8>) {
        put(out, self.prompt.as_bytes());
        self.shown.clear();
        self.shown_cursor = 0;
        self.esc = KeyState::Normal;
        self.pending = PendingChar::default();
        self.skip = 0;
    }

    /// `readline_update`: make the terminal show the line and the cursor.
    fn update(&mut self, out: &mut Vec<u8>) {
        if self.line != self.shown {
            repeat(out, LEFT, self.shown_cursor);
            put(out, &bytes_of(&self.line));
            out.extend_from_slice(CLEAR_EOL);
            self.shown.clone_from(&self.line);
            self.shown_cursor = self.line.len();
        }
        if self.cursor != self.shown_cursor {
            let step = if self.cursor > self.shown_cursor {
                RIGHT
            } else {
                LEFT
            };
            repeat(out, step, self.cursor.abs_diff(self.shown_cursor));
            self.shown_cursor = self.cursor;
        }
    }

    fn insert(&mut self, u: Unit) {
        if self.line_bytes + u.len() <= MAX_LINE {
            self.line.insert(self.cursor, u);
            self.cursor += 1;
            self.line_bytes += u.len();
        }
    }

    /// UTF-8 mode: inserts the character just completed; C1 control characters (U+0080 to
    /// U+009F) are ignored like the C0 ones, a malformed sequence becomes U+FFFD.
    fn insert_typed(&mut self) {
        for u in self.pending.take() {
            if !matches!(u.as_bytes(), [0xc2, 0x80..=0x9f]) {
                self.insert(u);
            }
        }
    }

    fn insert_bytes(&mut self, bytes: &[u8]) {
        for u in units_of(bytes, self.utf8) {
            self.insert(u);
        }
    }

    fn delete(&mut self) {
        if self.cursor < self.line.len() {
            let u = self.line.remove(self.cursor);
            self.line_bytes -= u.len();
        }
    }

    fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    fn right(&mut self) {
        if self.cursor < self.line.len() {
            self.cursor += 1;
        }
    }

    /// Ctrl-U.
    fn kill_to_start(&mut self) {
        let removed: usize = self.line.drain(..self.cursor).map(|u| u.len()).sum();
        self.line_bytes -= removed;
        self.cursor = 0;
    }

    /// Ctrl-W, `readline_backword`: back over spaces, then over the word, to just after the
    /// space before it (or the start of the line).
    fn delete_word(&mut self) {
        if self.cursor == 0 {
            return;
        }
        let mut start = self.cursor - 1;
        while start > 0 && self.line[start].is_space() {
            start -= 1;
        }
        while start > 0 {
            if self.line[start].is_space() {
                start += 1;
                break;
            }
            start -= 1;
        }
        if start < self.cursor {
            let removed: usize = self.line.drain(start..self.cursor).map(|u| u.len()).sum();
            self.line_bytes -= removed;
            self.cursor = start;
        }
    }

    fn set_line(&mut self, bytes: &[u8]) {
        self.restart();
        self.insert_bytes(bytes);
    }

    fn history_up(&mut self) {
        if let Some(entry) = self.history.up() {
            let entry = entry.to_vec();
            self.set_line(&entry);
        }
    }

    fn history_down(&mut self) {
        if let Some(entry) = self.history.down() {
            let entry = entry.to_vec();
            self.set_line(&entry);
        }
    }

    /// `readline_completion`.
    fn complete(&mut self, c: &mut dyn Completer, out: &mut Vec<u8>) {
        let before = String::from_utf8_lossy(&bytes_of(&self.line[..self.cursor])).into_owned();
        let candidates = completion::dedup(c.complete(&before));
        if candidates.is_empty() {
            return;
        }
        let index = c.completion_index(&before);
        if let [only] = candidates.as_slice() {
            self.insert_bytes(only.as_bytes().get(index..).unwrap_or_default());
            if only.as_bytes().last().is_some_and(|&b| b != b'/') {
                self.insert(Unit::byte(b' '));
            }
            return;
        }
        let mut sorted = candidates;
        sorted.sort();
        put(out, b"\n");
        let prefix = completion::common_prefix(&sorted, self.utf8);
        if index < prefix {
            let first = sorted[0].as_bytes();
            self.insert_bytes(&first[index..prefix]);
        }
        put(out, &completion::columns(&sorted, self.utf8));
        self.prompt_into(out);
    }
}

//! Helpers the readline tests share: a completer and a command runner that answer as QEMU
//! 10.0.2 does for the inputs the tests use, a driver that feeds a chunk the way the event
//! loop would, and a small terminal to check what a user would see.

use super::qemu_data::{COMMANDS, INFO_COMMANDS};
use super::units::is_c_space;
use super::{crlf, crlf_bytes, Completer, Readline, ReadlineEvent, GREETING, PROMPT};

/// QEMU's `monitor_find_completion` for command names (also after `help`) and `info`
/// subcommands; the other arguments of the commands the tests can type have no completion in
/// QEMU either.
#[derive(Default)]
pub(crate) struct QemuLike {
    index: usize,
}

/// QEMU's `MAX_ARGS` in `parse_cmdline`.
const MAX_ARGS: usize = 16;

impl Completer for QemuLike {
    fn complete(&mut self, line: &str) -> Vec<String> {
        let mut args: Vec<&str> = line
            .split(|c: char| c.is_ascii() && is_c_space(c as u8))
            .filter(|a| !a.is_empty())
            .collect();
        if args.len() > MAX_ARGS {
            return Vec::new();
        }
        if line.bytes().last().is_some_and(is_c_space) {
            if args.len() >= MAX_ARGS {
                return Vec::new();
            }
            args.push("");
        }
        let (table, word) = match args.as_slice() {
            [] => (COMMANDS, ""),
            [word] | ["help" | "?", word] => (COMMANDS, *word),
            ["info", word] => (INFO_COMMANDS, *word),
            _ => return Vec::new(),
        };
        self.index = word.len();
        table
            .iter()
            .filter(|n| n.starts_with(word))
            .map(|n| n.to_string())
            .collect()
    }

    fn completion_index(&mut self, _line: &str) -> usize {
        self.index
    }
}

/// QEMU's `get_command_name`: the first word, ended by whitespace or `/`.
pub(crate) fn command_name(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|&b| !is_c_space(b))?;
    let line = &line[start..];
    let end = line
        .iter()
        .position(|&b| b == b'/' || is_c_space(b))
        .unwrap_or(line.len());
    Some(&line[..end])
}

/// What QEMU prints for the command lines the transcripts contain.
pub(crate) fn fake_hmp(line: &str, rl: &Readline) -> Vec<u8> {
    let Some(name) = command_name(rl.last_line_bytes()) else {
        return Vec::new();
    };
    let args: Vec<&str> = line.split_whitespace().collect();
    match (name, args.get(1).copied()) {
        (b"info", Some("history")) => crlf_bytes(&rl.format_history_bytes()),
        (b"info", Some("balloon")) => crlf("Error: No balloon device has been activated\n"),
        _ => {
            let mut out = b"unknown command: '".to_vec();
            out.extend_from_slice(name);
            out.extend_from_slice(b"'\r\n");
            out
        }
    }
}

/// Feeds a chunk and runs every line it completes, as the event loop does (`exec` returns the
/// command's output as written, `\r\n` line ends); returns the bytes written to the client.
pub(crate) fn drive(
    rl: &mut Readline,
    chunk: &[u8],
    completer: &mut dyn Completer,
    exec: &mut dyn FnMut(&str, &Readline) -> Vec<u8>,
) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut events = rl.feed(chunk, completer);
    loop {
        for event in events {
            match event {
                ReadlineEvent::Output(bytes) => wire.extend(bytes),
                ReadlineEvent::Line(line) => {
                    wire.extend(exec(&line, rl));
                    wire.extend(rl.prompt_after_command());
                }
            }
        }
        if !rl.has_pending_input() {
            return wire;
        }
        events = rl.feed(&[], completer);
    }
}

/// What a client connecting to the monitor receives.
pub(crate) fn connect(rl: &mut Readline) -> Vec<u8> {
    let wire = rl.new_client();
    assert!(wire.starts_with(GREETING.as_bytes()) && wire.ends_with(PROMPT.as_bytes()));
    wire
}

/// Shows bytes readably in assertion messages.
pub(crate) fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// A deterministic xorshift generator for the random tests.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a, T: ?Sized>(&mut self, items: &'a [&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// A terminal reduced to what the readline uses: the current row, the cursor column, and the
/// escape sequences `ESC [ D`, `ESC [ C`, `ESC [ K`, `ESC [ 2 J`, `ESC [ 1 ; 1 H`. Every
/// byte that is not part of one is a column in byte mode; in UTF-8 mode a character is.
pub(crate) struct Terminal {
    utf8: bool,
    row: Vec<Vec<u8>>,
    col: usize,
    /// Rows scrolled away, kept for messages.
    pub(crate) rows: usize,
}

impl Terminal {
    pub(crate) fn new(utf8: bool) -> Self {
        Terminal {
            utf8,
            row: Vec::new(),
            col: 0,
            rows: 0,
        }
    }

    /// Applies output; panics on anything the readline must never send.
    pub(crate) fn write(&mut self, mut bytes: &[u8]) {
        while let Some(&b) = bytes.first() {
            if b == 0x1b {
                let seqs: [&[u8]; 5] = [b"\x1b[D", b"\x1b[C", b"\x1b[K", b"\x1b[2J", b"\x1b[1;1H"];
                let Some(seq) = seqs.iter().find(|s| bytes.starts_with(s)) else {
                    panic!("unexpected escape sequence in {}", show(bytes));
                };
                match seq[seq.len() - 1] {
                    b'D' => {
                        assert!(self.col > 0, "cursor moved left of column 0");
                        self.col -= 1;
                    }
                    b'C' => {
                        self.col += 1;
                        assert!(self.col <= self.row.len(), "cursor moved past the text");
                    }
                    b'K' => self.row.truncate(self.col),
                    b'J' => self.row.clear(),
                    _ => self.col = 0,
                }
                bytes = &bytes[seq.len()..];
                continue;
            }
            match b {
                b'\r' => {
                    self.col = 0;
                    bytes = &bytes[1..];
                }
                b'\n' => {
                    assert_eq!(self.col, 0, "\\n not preceded by \\r");
                    self.row.clear();
                    self.rows += 1;
                    bytes = &bytes[1..];
                }
                _ => {
                    assert!(b >= 0x20, "control byte {b:#x} in output");
                    let n = if self.utf8 {
                        match bytes.utf8_chunks().next() {
                            Some(c) if !c.valid().is_empty() => {
                                c.valid().chars().next().map_or(1, char::len_utf8)
                            }
                            _ => 1,
                        }
                    } else {
                        1
                    };
                    let cell = bytes[..n].to_vec();
                    if self.col < self.row.len() {
                        self.row[self.col] = cell;
                    } else {
                        self.row.push(cell);
                    }
                    self.col += 1;
                    bytes = &bytes[n..];
                }
            }
        }
    }

    /// The current row's text and the cursor column.
    pub(crate) fn screen(&self) -> (Vec<u8>, usize) {
        (self.row.concat(), self.col)
    }
}

/// The prompt's width in columns.
pub(crate) fn prompt_width() -> usize {
    PROMPT.len()
}

//! The pieces a command line is made of. In byte mode every byte is one piece, exactly as
//! QEMU's readline sees the line. In UTF-8 mode every piece is one character, so the line is
//! always valid UTF-8 and each piece is one cursor step; bytes that do not form a character
//! become U+FFFD.

/// One cursor step of the line: a single byte, or one whole UTF-8 character.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Unit {
    bytes: [u8; 4],
    len: u8,
}

impl Unit {
    pub(crate) fn byte(b: u8) -> Self {
        Unit {
            bytes: [b, 0, 0, 0],
            len: 1,
        }
    }

    pub(crate) fn char(c: char) -> Self {
        let mut bytes = [0; 4];
        let len = c.encode_utf8(&mut bytes).len() as u8;
        Unit { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// C's `isspace` in the C locale, which is what QEMU's Ctrl-W tests.
    pub(crate) fn is_space(&self) -> bool {
        self.len == 1 && is_c_space(self.bytes[0])
    }
}

pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits bytes into pieces: one per byte, or (UTF-8 mode) one per character, malformed
/// sequences becoming U+FFFD as in `String::from_utf8_lossy`.
pub(crate) fn units_of(bytes: &[u8], utf8: bool) -> Vec<Unit> {
    if utf8 {
        String::from_utf8_lossy(bytes)
            .chars()
            .map(Unit::char)
            .collect()
    } else {
        bytes.iter().map(|&b| Unit::byte(b)).collect()
    }
}

pub(crate) fn bytes_of(units: &[Unit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(units.len() * 2);
    for u in units {
        out.extend_from_slice(u.as_bytes());
    }
    out
}

/// How many bytes a UTF-8 sequence starting with `lead` has, if `lead` can start one
/// (0xC2..=0xF4; 0xC0, 0xC1 and 0xF5.. never can).
pub(crate) fn utf8_sequence_len(lead: u8) -> Option<usize> {
    match lead {
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

pub(crate) fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

/// An incomplete UTF-8 character waiting for its continuation bytes (UTF-8 mode only).
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct PendingChar {
    bytes: [u8; 4],
    have: u8,
    need: u8,
}

impl PendingChar {
    pub(crate) fn is_empty(&self) -> bool {
        self.have == 0
    }

    pub(crate) fn start(&mut self, lead: u8, need: usize) {
        self.bytes = [lead, 0, 0, 0];
        self.have = 1;
        self.need = need as u8;
    }

    /// Adds a continuation byte; returns true once the character has all its bytes.
    pub(crate) fn push(&mut self, b: u8) -> bool {
        self.bytes[usize::from(self.have)] = b;
        self.have += 1;
        self.have == self.need
    }

    /// Takes what is held: one character, or U+FFFD if it is malformed or incomplete.
    pub(crate) fn take(&mut self) -> Vec<Unit> {
        let units = units_of(&self.bytes[..usize::from(self.have)], true);
        *self = PendingChar::default();
        units
    }
}

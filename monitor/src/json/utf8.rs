//! QEMU's "modified UTF-8" rules (`util/unicode.c`), which differ from Rust's: `C0 80` is a
//! valid encoding of U+0000, noncharacters (U+FDD0..U+FDEF, U+xxFFFE/F) are invalid, and an
//! invalid sequence is skipped as one unit whose length depends on where it broke.

/// Smallest code point for a sequence of 2, 3, 4, 5 and 6 bytes; anything lower is overlong.
const MIN_CP: [u32; 5] = [0x80, 0x800, 0x10000, 0x20_0000, 0x400_0000];

/// Whether `cp` is a character QEMU accepts: in range, not a surrogate, not a noncharacter.
pub(crate) fn is_valid_codepoint(cp: u32) -> bool {
    cp <= 0x10FFFF
        && !(0xFDD0..=0xFDEF).contains(&cp)
        && cp & 0xFFFE != 0xFFFE
        && !(0xD800..=0xDFFF).contains(&cp)
}

/// Decodes one sequence at the start of `s` (which must not be empty). Returns the code
/// point, or `None` when invalid, and how many bytes QEMU consumes either way.
pub(crate) fn codepoint(s: &[u8]) -> (Option<u32>, usize) {
    let lead = s.first().copied().unwrap_or(0);
    if lead < 0x80 {
        return (Some(u32::from(lead)), 1);
    }
    if lead >= 0xFE || lead & 0x40 == 0 {
        // 0xFE/0xFF never occur in UTF-8; 0x80..0xBF is a stray continuation byte.
        return (None, 1);
    }
    let len = lead.leading_ones() as usize; // 2..=6 given the checks above
    let mut cp = u32::from(lead) & (0x7F >> len);
    for i in 1..len {
        // A missing byte counts as NUL, which is no continuation byte.
        let byte = s.get(i).copied().unwrap_or(0);
        if byte & 0xC0 != 0x80 {
            return (None, i);
        }
        cp = (cp << 6) | u32::from(byte & 0x3F);
    }
    let overlong = cp < MIN_CP[len - 2] && !(cp == 0 && len == 2);
    if !is_valid_codepoint(cp) || overlong {
        return (None, len);
    }
    (Some(cp), len)
}

/// Renders raw bytes the way QEMU's `"%s"` plus its JSON writer would: cut at the first NUL,
/// each invalid sequence (or noncharacter) replaced by one U+FFFD.
pub(crate) fn lossy_c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (cp, used) = codepoint(&bytes[i..]);
        out.push(cp.and_then(char::from_u32).unwrap_or('\u{FFFD}'));
        i += used;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_qemu() {
        assert_eq!(codepoint(b"A"), (Some(0x41), 1));
        assert_eq!(codepoint(b"\xC0\x80"), (Some(0), 2));
        assert_eq!(codepoint(b"\xC0\x81"), (None, 2)); // overlong
        assert_eq!(codepoint(b"\xE4\xB8\x01"), (None, 2)); // broken after two bytes
        assert_eq!(codepoint(b"\xED\xA0\x80"), (None, 3)); // surrogate
        assert_eq!(codepoint(b"\xEF\xBF\xBF"), (None, 3)); // U+FFFF noncharacter
        assert_eq!(codepoint(b"\xF0\x9F\x98\x80"), (Some(0x1F600), 4));
        assert_eq!(codepoint(b"\xF8\x88\x80\x80\x80"), (None, 5));
        assert_eq!(codepoint(b"\xFF"), (None, 1));
        assert_eq!(codepoint(b"\xC3"), (None, 1));
    }

    #[test]
    fn lossy_rendering() {
        assert_eq!(lossy_c_string(b"'bad \xFF"), "'bad \u{FFFD}");
        assert_eq!(lossy_c_string(b"\"ab\0cd"), "\"ab");
        assert_eq!(lossy_c_string(b"\xC0\x80x"), "\0x");
        assert_eq!(lossy_c_string(b"\xED\xA0\x80"), "\u{FFFD}");
    }
}

//! Word-at-a-time scanning for the long runs of plain bytes inside strings, which is where
//! big messages spend their bytes. Each function returns the index of the first byte that
//! needs attention, or the slice length.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Nonzero iff some byte of `w` is below `n` (`n` <= 0x80).
fn has_less(w: u64, n: u8) -> bool {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0
}

fn has_byte(w: u64, b: u8) -> bool {
    has_less(w ^ (ONES * u64::from(b)), 1)
}

fn word(chunk: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(chunk);
    u64::from_ne_bytes(bytes)
}

/// Skips whole words that `clean` accepts, then finishes byte by byte with `special`.
fn scan(s: &[u8], clean: impl Fn(u64) -> bool, special: impl Fn(u8) -> bool) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() && clean(word(&s[i..i + 8])) {
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| special(b))
        .map_or(s.len(), |p| i + p)
}

/// First byte that ends a plain run in a string body: the closing `quote`, a backslash, or a
/// byte the lexer refuses in strings (controls, 0xFE, 0xFF).
pub(crate) fn string_run(s: &[u8], quote: u8) -> usize {
    scan(
        s,
        |w| !(has_byte(w, quote) || has_byte(w, b'\\') || has_less(w, 0x20) || has_less(!w, 2)),
        |b| b == quote || b == b'\\' || !(0x20..=0xFD).contains(&b),
    )
}

/// First backslash or non-ASCII byte.
pub(crate) fn ascii_run(s: &[u8]) -> usize {
    scan(
        s,
        |w| !(has_byte(w, b'\\') || w & HIGHS != 0),
        |b| b == b'\\' || b >= 0x80,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_special_byte() {
        let base = b"abcdefghijklmnopqrstuvwxyz0123456789".to_vec();
        for pos in 0..base.len() {
            for special in [b'"', b'\\', 0x00, 0x1F, 0xFE, 0xFF] {
                let mut s = base.clone();
                s[pos] = special;
                assert_eq!(string_run(&s, b'"'), pos);
            }
            for special in [b'\\', 0x80, 0xFF] {
                let mut s = base.clone();
                s[pos] = special;
                assert_eq!(ascii_run(&s), pos);
            }
            let mut s = base.clone();
            s[pos] = b'\'';
            assert_eq!(string_run(&s, b'"'), s.len());
            assert_eq!(string_run(&s, b'\''), pos);
            assert_eq!(ascii_run(&s), s.len());
        }
        assert_eq!(string_run(&[0x20, 0x7F, 0x80, 0xFD], b'"'), 4);
    }
}

//! Tab completion as QEMU's `readline_completion` does it: one candidate is inserted with a
//! space after it; several are listed in columns under the line, their common prefix is
//! inserted, and the prompt and line are drawn again.

use super::units::is_c_space;

/// QEMU's `READLINE_MAX_COMPLETIONS`: candidates beyond this many are dropped.
pub const MAX_COMPLETIONS: usize = 256;

/// Finds completions for the text before the cursor (QEMU's `completion_finder`).
pub trait Completer {
    /// Every candidate for the word being typed, each written out in full: for `info bal` the
    /// candidate is `balloon`, not `loon`. Order and duplicates do not matter.
    fn complete(&mut self, line_before_cursor: &str) -> Vec<String>;

    /// How many bytes of each candidate are already typed, so only the rest is inserted
    /// (QEMU's `readline_set_completion_index`). Asked right after `complete` with the same
    /// text. The default is the length of the last word: the text after the last whitespace.
    fn completion_index(&mut self, line_before_cursor: &str) -> usize {
        last_word_len(line_before_cursor)
    }
}

/// A completer that never has anything to offer; Tab then does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCompletion;

impl Completer for NoCompletion {
    fn complete(&mut self, _line_before_cursor: &str) -> Vec<String> {
        Vec::new()
    }
}

/// Any `FnMut(&str) -> Vec<String>` completes with the default completion index.
impl<F: FnMut(&str) -> Vec<String>> Completer for F {
    fn complete(&mut self, line_before_cursor: &str) -> Vec<String> {
        self(line_before_cursor)
    }
}

/// Bytes after the last whitespace (C `isspace`) of `line`.
pub fn last_word_len(line: &str) -> usize {
    let bytes = line.as_bytes();
    bytes.len()
        - bytes
            .iter()
            .rposition(|&b| is_c_space(b))
            .map_or(0, |p| p + 1)
}

/// The candidates as QEMU keeps them: first occurrence of each, at most `MAX_COMPLETIONS`.
pub(crate) fn dedup(candidates: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for c in candidates {
        if kept.len() == MAX_COMPLETIONS {
            break;
        }
        if !kept.contains(&c) {
            kept.push(c);
        }
    }
    kept
}

/// The listing of several candidates (already sorted), each line ending in `\n`. Widths are
/// counted in bytes in byte mode (as QEMU's `%-*s`) and in characters in UTF-8 mode.
pub(crate) fn columns(sorted: &[String], utf8: bool) -> Vec<u8> {
    let width = |s: &str| if utf8 { s.chars().count() } else { s.len() };
    let max_width = sorted.iter().map(|s| width(s)).max().unwrap_or(0);
    let col = (max_width + 2).clamp(10, 80);
    let per_line = 80 / col;
    let mut out = Vec::new();
    let mut j = 0;
    for (i, c) in sorted.iter().enumerate() {
        out.extend_from_slice(c.as_bytes());
        out.resize(out.len() + col.saturating_sub(width(c)), b' ');
        j += 1;
        if j == per_line || i == sorted.len() - 1 {
            out.push(b'\n');
            j = 0;
        }
    }
    out
}

/// The length in bytes of the prefix all candidates share, as QEMU computes it; in UTF-8 mode
/// cut back to a character boundary so half a character is never inserted.
pub(crate) fn common_prefix(sorted: &[String], utf8: bool) -> usize {
    let Some(first) = sorted.first() else {
        return 0;
    };
    let mut prefix = first.len();
    for c in &sorted[1..] {
        prefix = prefix.min(
            first
                .bytes()
                .zip(c.bytes())
                .take(prefix)
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    if utf8 {
        while !first.is_char_boundary(prefix) {
            prefix -= 1;
        }
    }
    prefix
}

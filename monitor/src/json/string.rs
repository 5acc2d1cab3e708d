//! Unescaping of string tokens, as `parse_string()` in QEMU's `json-parser.c` does it.

use super::error::SyntaxError;
use super::scan;
use super::utf8;

/// Value of the four hex digits at the start of `s`, or `None` if one is missing or not hex.
fn hex4(s: &[u8]) -> Option<u32> {
    let digits = s.get(..4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = char::from(d).to_digit(16)?;
        Some(acc << 4 | v)
    })
}

/// Decodes a string token (`"..."` or `'...'`, quotes included, as the lexer delimited it:
/// no control bytes, every backslash followed by one more byte before the closing quote).
pub(crate) fn parse_string(token: &[u8]) -> Result<String, SyntaxError> {
    let end = token.len().saturating_sub(1); // index of the closing quote
    let mut out = String::with_capacity(end);
    let mut i = 1;
    while i < end {
        let b = token[i];
        if b == b'\\' {
            let c = match token.get(i + 1).copied().unwrap_or(0) {
                b'"' => '"',
                b'\'' => '\'',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let (c, len) = unicode_escape(token, i)?;
                    out.push(c);
                    i += len;
                    continue;
                }
                _ => return Err(SyntaxError::InvalidEscape),
            };
            out.push(c);
            i += 2;
        } else if b < 0x80 {
            // A run of plain ASCII (which includes the other kind of quote).
            let run = scan::ascii_run(&token[i..end]);
            // ASCII is valid UTF-8, so this never falls back to the default.
            out.push_str(std::str::from_utf8(&token[i..i + run]).unwrap_or_default());
            i += run;
        } else {
            // Decoding may look at the closing quote, which is no continuation byte.
            let (cp, used) = utf8::codepoint(&token[i..]);
            let c = cp
                .and_then(char::from_u32)
                .ok_or(SyntaxError::InvalidUtf8)?;
            out.push(c);
            i += used;
        }
    }
    Ok(out)
}

/// Decodes `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`, whose backslash is `token[start]`.
/// Returns the character and the length of the escape.
fn unicode_escape(token: &[u8], start: usize) -> Result<(char, usize), SyntaxError> {
    let first = hex4(token.get(start + 2..).unwrap_or_default());
    let mut len = 6;
    let mut cp = first;
    if let Some(high @ 0xD800..=0xDBFF) = first {
        if token.get(start + 6..start + 8) == Some(b"\\u") {
            // A leading surrogate followed by another escape, which must be a trailing one.
            cp = match hex4(token.get(start + 8..).unwrap_or_default()) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    len = 12;
                    Some(0x10000 + ((high & 0x3FF) << 10) + (low & 0x3FF))
                }
                _ => None,
            };
        }
    }
    match cp
        .filter(|&cp| utf8::is_valid_codepoint(cp))
        .and_then(char::from_u32)
    {
        Some(c) => Ok((c, len)),
        // QEMU prints the escape with "%.*s": it stops at the end of the token, so a short
        // escape shows the closing quote.
        None => {
            let text = &token[start..(start + len).min(token.len())];
            Err(SyntaxError::InvalidUnicode(utf8::lossy_c_string(text)))
        }
    }
}

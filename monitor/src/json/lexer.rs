//! Byte-level tokenizer with the state machine of QEMU's `qobject/json-lexer.c` (QMP flavour:
//! no `%` interpolation). It accepts RFC 8259 tokens plus single-quoted strings, leaves
//! checking string contents and keywords to the parser, and after a lexical error skips
//! input until a plausible resynchronisation point.

use super::scan;

/// Longest token, in bytes, before the lexer gives up on it (QEMU's `MAX_TOKEN_SIZE`).
pub(crate) const DEFAULT_MAX_TOKEN_SIZE: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Colon,
    Comma,
    Integer,
    Float,
    Keyword,
    /// Raw text including both quotes; the parser unescapes it.
    String,
}

/// What the lexer hands to the streamer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LexEvent<'a> {
    Token(TokenKind, &'a [u8]),
    /// A lexical error: the bytes of the failed token including the byte that broke it.
    Error(&'a [u8]),
    /// An unfinished token grew past the size limit and was dropped.
    Oversize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Recovery,
    DqString,
    DqEscape,
    SqString,
    SqEscape,
    Zero,
    Sign,
    Digits,
    Mantissa,
    MantissaDigits,
    ExpE,
    ExpSign,
    ExpDigits,
    Keyword,
}

/// One transition of the table.
enum Step {
    /// Append the byte to the token and go to the state.
    Take(State),
    /// Append the byte, which completes a token.
    TakeAndEmit(TokenKind),
    /// The byte does not belong to the token: emit the token, then re-read the byte in Start.
    EmitBefore(TokenKind),
    /// Drop the byte (whitespace, or input skipped while recovering).
    Skip,
    /// Recovery ends here: re-read the byte in Start.
    Resync,
    /// Append the byte and report the token as a lexical error.
    Fail,
}

fn is_string_byte(b: u8) -> bool {
    (0x20..=0xFD).contains(&b)
}

fn step(state: State, b: u8) -> Step {
    use State::*;
    use Step::*;
    match state {
        Start => match b {
            b'"' => Take(DqString),
            b'\'' => Take(SqString),
            b'0' => Take(Zero),
            b'1'..=b'9' => Take(Digits),
            b'-' => Take(Sign),
            b'a'..=b'z' => Take(Keyword),
            b'{' => TakeAndEmit(TokenKind::LCurly),
            b'}' => TakeAndEmit(TokenKind::RCurly),
            b'[' => TakeAndEmit(TokenKind::LSquare),
            b']' => TakeAndEmit(TokenKind::RSquare),
            b',' => TakeAndEmit(TokenKind::Comma),
            b':' => TakeAndEmit(TokenKind::Colon),
            b' ' | b'\t' | b'\r' | b'\n' => Skip,
            _ => Fail,
        },
        // Structural characters, control characters other than TAB, and the bytes that
        // never occur in UTF-8 are where a confused client and QEMU agree again.
        Recovery => match b {
            b'\t' => Skip,
            0x00..=0x1F | 0xFE | 0xFF | b'[' | b']' | b'{' | b'}' | b':' | b',' => Resync,
            _ => Skip,
        },
        DqString => match b {
            b'"' => TakeAndEmit(TokenKind::String),
            b'\\' => Take(DqEscape),
            _ if is_string_byte(b) => Take(DqString),
            _ => Fail,
        },
        SqString => match b {
            b'\'' => TakeAndEmit(TokenKind::String),
            b'\\' => Take(SqEscape),
            _ if is_string_byte(b) => Take(SqString),
            _ => Fail,
        },
        DqEscape if is_string_byte(b) => Take(DqString),
        SqEscape if is_string_byte(b) => Take(SqString),
        DqEscape | SqEscape => Fail,
        // No exponent after a lone zero: `0e1` lexes as `0` followed by the keyword `e`.
        Zero => match b {
            b'0'..=b'9' => Fail,
            b'.' => Take(Mantissa),
            _ => EmitBefore(TokenKind::Integer),
        },
        Sign => match b {
            b'0' => Take(Zero),
            b'1'..=b'9' => Take(Digits),
            _ => Fail,
        },
        Digits => match b {
            b'0'..=b'9' => Take(Digits),
            b'.' => Take(Mantissa),
            b'e' | b'E' => Take(ExpE),
            _ => EmitBefore(TokenKind::Integer),
        },
        Mantissa => match b {
            b'0'..=b'9' => Take(MantissaDigits),
            _ => Fail,
        },
        MantissaDigits => match b {
            b'0'..=b'9' => Take(MantissaDigits),
            b'e' | b'E' => Take(ExpE),
            _ => EmitBefore(TokenKind::Float),
        },
        ExpE => match b {
            b'+' | b'-' => Take(ExpSign),
            b'0'..=b'9' => Take(ExpDigits),
            _ => Fail,
        },
        ExpSign => match b {
            b'0'..=b'9' => Take(ExpDigits),
            _ => Fail,
        },
        ExpDigits => match b {
            b'0'..=b'9' => Take(ExpDigits),
            _ => EmitBefore(TokenKind::Float),
        },
        Keyword => match b {
            b'a'..=b'z' => Take(Keyword),
            _ => EmitBefore(TokenKind::Keyword),
        },
    }
}

pub(crate) struct Lexer {
    state: State,
    /// The unfinished token; reused so that steady-state lexing does not allocate.
    token: Vec<u8>,
    max_token_size: usize,
}

impl Lexer {
    pub(crate) fn new(max_token_size: usize) -> Self {
        Lexer {
            state: State::Start,
            token: Vec::with_capacity(64),
            max_token_size,
        }
    }

    /// Whether nothing is buffered: no token under way and not skipping after an error.
    pub(crate) fn is_idle(&self) -> bool {
        self.state == State::Start
    }

    pub(crate) fn reset(&mut self) {
        self.state = State::Start;
        self.token.clear();
        // Do not keep a huge buffer alive after a huge token.
        self.token.shrink_to(64);
    }

    /// Lexes `bytes`, calling `sink` for each token or error, in input order.
    pub(crate) fn feed(&mut self, bytes: &[u8], sink: &mut dyn FnMut(LexEvent<'_>)) {
        let mut i = 0;
        while i < bytes.len() {
            let run = self.ordinary_run(&bytes[i..]);
            if run > 0 {
                // Bulk path for string bodies and skipped input: same transitions as
                // byte-at-a-time, without the per-byte dispatch.
                if self.state != State::Recovery {
                    self.token.extend_from_slice(&bytes[i..i + run]);
                }
                i += run;
            } else {
                self.feed_byte(bytes[i], sink);
                i += 1;
            }
            if self.token.len() > self.max_token_size {
                self.token.clear();
                self.state = State::Start;
                sink(LexEvent::Oversize);
            }
        }
    }

    /// Length of the prefix of `rest` that leaves the state unchanged and emits nothing,
    /// capped so that the size check still fires at the byte where QEMU's would.
    fn ordinary_run(&self, rest: &[u8]) -> usize {
        let quote = match self.state {
            State::DqString => b'"',
            State::SqString => b'\'',
            State::Recovery => {
                return rest
                    .iter()
                    .position(|&b| matches!(step(State::Recovery, b), Step::Resync))
                    .unwrap_or(rest.len());
            }
            _ => return 0,
        };
        let room = self.max_token_size + 1 - self.token.len();
        scan::string_run(&rest[..rest.len().min(room)], quote)
    }

    fn feed_byte(&mut self, b: u8, sink: &mut dyn FnMut(LexEvent<'_>)) {
        // At most two rounds: a byte that ends a token by lookahead is read again in Start.
        loop {
            match step(self.state, b) {
                Step::Take(next) => {
                    self.token.push(b);
                    self.state = next;
                }
                Step::TakeAndEmit(kind) => {
                    self.token.push(b);
                    sink(LexEvent::Token(kind, &self.token));
                    self.token.clear();
                    self.state = State::Start;
                }
                Step::EmitBefore(kind) => {
                    sink(LexEvent::Token(kind, &self.token));
                    self.token.clear();
                    self.state = State::Start;
                    continue;
                }
                Step::Skip => {}
                Step::Resync => {
                    self.state = State::Start;
                    continue;
                }
                Step::Fail => {
                    self.token.push(b);
                    sink(LexEvent::Error(&self.token));
                    self.token.clear();
                    self.state = State::Recovery;
                }
            }
            return;
        }
    }
}

//! Builds a value from the tokens of one message, reporting the same first error as the
//! recursive-descent parser of QEMU 10.0's `json-parser.c`. It is push-driven (one token at
//! a time, explicit stack) so nothing but the value under construction is buffered and no
//! input can make it recurse.

use super::error::{SyntaxError, KEYWORD_SHOWN_MAX};
use super::lexer::TokenKind;
use super::number;
use super::string::parse_string;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// After `[`: `]` or a value.
    Open,
    /// After a value: `,` or `]`.
    Member,
    /// After `,`: a value.
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectState {
    /// After `{`: `}` or a key.
    Open,
    /// After `,`: a key.
    Comma,
    /// After a key: `:`.
    Key,
    /// After `:`: a value.
    Colon,
    /// After a value: `,` or `}`.
    Member,
}

enum Frame {
    Array(Vec<Value>, ArrayState),
    Object(Map<String, Value>, ObjectState, String),
}

#[derive(Default)]
pub(crate) struct Parser {
    stack: Vec<Frame>,
    result: Option<Value>,
    /// The first error; later tokens of the message are ignored, as QEMU keeps only the first.
    error: Option<SyntaxError>,
}

impl Parser {
    /// Feeds the next token of the current message.
    pub(crate) fn push(&mut self, kind: TokenKind, text: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.step(kind, text) {
            self.error = Some(e);
        }
    }

    /// Ends the message: its value, or the first error. Leaves the parser ready for the next.
    pub(crate) fn finish(&mut self) -> Result<Value, SyntaxError> {
        let outcome = match (self.error.take(), self.result.take()) {
            (Some(e), _) => Err(e),
            (None, Some(v)) => Ok(v),
            // The streamer only ends a message once braces balance, which cannot leave a
            // valid prefix unfinished.
            (None, None) => Err(SyntaxError::PrematureEoi),
        };
        self.stack.clear();
        outcome
    }

    /// Drops the message under construction.
    pub(crate) fn reset(&mut self) {
        self.stack.clear();
        self.result = None;
        self.error = None;
    }

    fn step(&mut self, kind: TokenKind, text: &[u8]) -> Result<(), SyntaxError> {
        use TokenKind::*;
        let Some(top) = self.stack.last_mut() else {
            if self.result.is_some() {
                // Unreachable: the streamer ends the message with its value's last token.
                return Err(SyntaxError::PrematureEoi);
            }
            return self.begin_value(kind, text);
        };
        match top {
            Frame::Array(_, ArrayState::Open) if kind == RSquare => self.close(),
            Frame::Array(_, ArrayState::Open | ArrayState::Comma) => self.begin_value(kind, text),
            Frame::Array(_, state @ ArrayState::Member) => match kind {
                RSquare => self.close(),
                Comma => {
                    *state = ArrayState::Comma;
                    Ok(())
                }
                _ => Err(SyntaxError::ExpectedListSeparator),
            },
            Frame::Object(_, ObjectState::Open, _) if kind == RCurly => self.close(),
            // The key is parsed as any value and only then checked to be a string.
            Frame::Object(_, ObjectState::Open | ObjectState::Comma | ObjectState::Colon, _) => {
                self.begin_value(kind, text)
            }
            Frame::Object(_, state @ ObjectState::Key, _) => {
                if kind != Colon {
                    return Err(SyntaxError::MissingColon);
                }
                *state = ObjectState::Colon;
                Ok(())
            }
            Frame::Object(_, state @ ObjectState::Member, _) => match kind {
                RCurly => self.close(),
                Comma => {
                    *state = ObjectState::Comma;
                    Ok(())
                }
                _ => Err(SyntaxError::ExpectedDictSeparator),
            },
        }
    }

    /// A token where a value must start.
    fn begin_value(&mut self, kind: TokenKind, text: &[u8]) -> Result<(), SyntaxError> {
        let value = match kind {
            TokenKind::LCurly => {
                self.stack
                    .push(Frame::Object(Map::new(), ObjectState::Open, String::new()));
                return Ok(());
            }
            TokenKind::LSquare => {
                self.stack.push(Frame::Array(Vec::new(), ArrayState::Open));
                return Ok(());
            }
            TokenKind::String => Value::String(parse_string(text)?),
            // Number and keyword tokens are ASCII by construction.
            TokenKind::Integer => Value::Number(number::from_integer_token(ascii(text))),
            TokenKind::Float => Value::Number(number::from_float_token(ascii(text))),
            TokenKind::Keyword => match text {
                b"true" => Value::Bool(true),
                b"false" => Value::Bool(false),
                b"null" => Value::Null,
                _ => {
                    let shown = &text[..text.len().min(KEYWORD_SHOWN_MAX)];
                    return Err(SyntaxError::InvalidKeyword(ascii(shown).to_owned()));
                }
            },
            _ => return Err(SyntaxError::ExpectingValue),
        };
        self.complete(value)
    }

    /// Pops the innermost container, which its closing token just completed.
    fn close(&mut self) -> Result<(), SyntaxError> {
        let value = match self.stack.pop() {
            Some(Frame::Array(items, _)) => Value::Array(items),
            Some(Frame::Object(map, _, _)) => Value::Object(map),
            None => return Err(SyntaxError::PrematureEoi),
        };
        self.complete(value)
    }

    /// Hands a finished value to its container, or makes it the result.
    fn complete(&mut self, value: Value) -> Result<(), SyntaxError> {
        match self.stack.last_mut() {
            None => self.result = Some(value),
            Some(Frame::Array(items, state)) => {
                items.push(value);
                *state = ArrayState::Member;
            }
            Some(Frame::Object(_, state @ (ObjectState::Open | ObjectState::Comma), key)) => {
                let Value::String(k) = value else {
                    return Err(SyntaxError::KeyNotString);
                };
                *key = k;
                *state = ObjectState::Key;
            }
            Some(Frame::Object(map, state @ ObjectState::Colon, key)) => {
                // Checked after the value is parsed, so errors inside the value come first.
                if map.contains_key(key.as_str()) {
                    return Err(SyntaxError::DuplicateKey);
                }
                map.insert(std::mem::take(key), value);
                *state = ObjectState::Member;
            }
            // No value can complete while a `:` or separator is expected.
            Some(Frame::Object(..)) => return Err(SyntaxError::PrematureEoi),
        }
        Ok(())
    }
}

fn ascii(text: &[u8]) -> &str {
    std::str::from_utf8(text).unwrap_or_default()
}

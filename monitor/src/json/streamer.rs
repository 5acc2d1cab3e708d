//! Splits a QMP input byte stream into top-level JSON messages, as QEMU's
//! `qobject/json-streamer.c` does: a message ends when its `{}`/`[]` balance returns to zero
//! (or goes negative), or with a scalar at depth 0; lexical errors and limit overruns throw
//! away the message so far, and whatever follows is read as new input.

use super::error::JsonError;
use super::lexer::{LexEvent, Lexer, TokenKind, DEFAULT_MAX_TOKEN_SIZE};
use super::parser::Parser;
use super::utf8;
use serde_json::Value;

/// One top-level message: its value, or the error QMP answers with (no `id`: none is known).
pub type ParsedItem = Result<Value, JsonError>;

/// The per-message limits; [`Default`] gives QEMU's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of all tokens of one message, and of any unfinished token (`MAX_TOKEN_SIZE`).
    pub token_size: usize,
    /// Tokens in one message (`MAX_TOKEN_COUNT`).
    pub token_count: usize,
    /// Unclosed `{` plus `[` (`MAX_NESTING`).
    pub nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            token_size: DEFAULT_MAX_TOKEN_SIZE,
            token_count: 2 << 20,
            nesting: 1 << 10,
        }
    }
}

/// Incremental QMP input parser: feed it bytes as they arrive, in chunks of any size, and it
/// yields one [`ParsedItem`] per complete top-level message, in order. The result does not
/// depend on how the input is split.
pub struct JsonStreamer {
    lexer: Lexer,
    message: Message,
}

/// Everything but the lexer, so the lexer's callback can borrow it while the lexer runs.
struct Message {
    parser: Parser,
    limits: Limits,
    brace_count: i64,
    bracket_count: i64,
    token_size: usize,
    token_count: usize,
}

impl Default for JsonStreamer {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonStreamer {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A streamer with other limits; QMP uses [`Limits::default`], tests use small ones.
    pub fn with_limits(limits: Limits) -> Self {
        JsonStreamer {
            lexer: Lexer::new(limits.token_size),
            message: Message {
                parser: Parser::default(),
                limits,
                brace_count: 0,
                bracket_count: 0,
                token_size: 0,
                token_count: 0,
            },
        }
    }

    /// Feeds the next bytes of the stream; returns the messages they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<ParsedItem> {
        let mut items = Vec::new();
        self.feed_with(bytes, |item| items.push(item));
        items
    }

    /// Like [`feed`](Self::feed), handing each message to `sink` as soon as it completes.
    pub fn feed_with(&mut self, bytes: &[u8], mut sink: impl FnMut(ParsedItem)) {
        let message = &mut self.message;
        self.lexer
            .feed(bytes, &mut |event| message.process(event, &mut sink));
    }

    /// Forgets any partial message and lexer state, as QEMU does when a client disconnects.
    pub fn reset(&mut self) {
        self.lexer.reset();
        self.message.clear();
    }

    /// Whether no input is held back: a new message would start from scratch. False in the
    /// middle of a token or message, and while skipping input after a lexical error.
    pub fn is_idle(&self) -> bool {
        self.lexer.is_idle() && self.message.token_count == 0
    }
}

impl Message {
    fn process(&mut self, event: LexEvent<'_>, sink: &mut impl FnMut(ParsedItem)) {
        let (kind, text) = match event {
            LexEvent::Token(kind, text) => (kind, text),
            LexEvent::Error(text) => {
                return self.fail(JsonError::Stray(utf8::lossy_c_string(text)), sink);
            }
            // An unfinished token over the limit: QEMU passes it on and its size check
            // fails.
            LexEvent::Oversize => return self.fail(JsonError::TokenSizeLimit, sink),
        };
        match kind {
            TokenKind::LCurly => self.brace_count += 1,
            TokenKind::RCurly => self.brace_count -= 1,
            TokenKind::LSquare => self.bracket_count += 1,
            TokenKind::RSquare => self.bracket_count -= 1,
            _ => {}
        }
        // QEMU's check counts the new token one byte longer (room for its NUL); the running
        // total does not keep that byte.
        if self.token_size + text.len() + 1 > self.limits.token_size {
            return self.fail(JsonError::TokenSizeLimit, sink);
        }
        if self.token_count + 1 > self.limits.token_count {
            return self.fail(JsonError::TokenCountLimit, sink);
        }
        let depth = self.brace_count + self.bracket_count;
        if usize::try_from(depth).is_ok_and(|depth| depth > self.limits.nesting) {
            return self.fail(JsonError::NestingLimit, sink);
        }
        self.token_size += text.len();
        self.token_count += 1;
        self.parser.push(kind, text);

        let open = self.brace_count > 0 || self.bracket_count > 0;
        if open && self.brace_count >= 0 && self.bracket_count >= 0 {
            return;
        }
        let item = self.parser.finish().map_err(JsonError::from);
        self.clear();
        sink(item);
    }

    fn fail(&mut self, error: JsonError, sink: &mut impl FnMut(ParsedItem)) {
        self.parser.reset();
        self.clear();
        sink(Err(error));
    }

    fn clear(&mut self) {
        self.brace_count = 0;
        self.bracket_count = 0;
        self.token_size = 0;
        self.token_count = 0;
    }
}

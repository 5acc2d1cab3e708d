//! Parse errors, worded exactly as QEMU 10.0.2 words them: `Display` is the `desc` of the
//! GenericError reply.

use thiserror::Error;

/// Why a top-level message was rejected by [`JsonStreamer`](super::JsonStreamer).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    /// A lexical error. The text is the token that failed, up to and including the
    /// offending byte, cut at its first NUL byte (QEMU formats it with `%s`) and decoded the
    /// way QEMU's JSON writer decodes it (invalid UTF-8 becomes U+FFFD).
    #[error("JSON parse error, stray '{0}'")]
    Stray(String),
    /// A grammar or string-content error found by the parser.
    #[error("JSON parse error, {0}")]
    Syntax(SyntaxError),
    /// The tokens of one message (or one unfinished token) exceed 64 MiB.
    #[error("JSON token size limit exceeded")]
    TokenSizeLimit,
    /// One message has more than 2 Mi tokens.
    #[error("JSON token count limit exceeded")]
    TokenCountLimit,
    /// More than 1024 unclosed `{` plus `[`.
    #[error("JSON nesting depth limit exceeded")]
    NestingLimit,
}

/// The parser's messages (`json-parser.c`); only the first error of a message is reported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyntaxError {
    #[error("expecting value")]
    ExpectingValue,
    #[error("missing : in object pair")]
    MissingColon,
    #[error("expected separator in dict")]
    ExpectedDictSeparator,
    #[error("expected separator in list")]
    ExpectedListSeparator,
    #[error("key is not a string in object")]
    KeyNotString,
    #[error("duplicate key")]
    DuplicateKey,
    /// A lower-case word other than `true`, `false` and `null`.
    #[error("{}", keyword_message(.0))]
    InvalidKeyword(String),
    #[error("invalid escape sequence in string")]
    InvalidEscape,
    /// A `\u` escape (or surrogate pair) that is no valid character; holds the escape text.
    #[error("{0} is not a valid Unicode character")]
    InvalidUnicode(String),
    #[error("invalid UTF-8 sequence in string")]
    InvalidUtf8,
    /// Never produced by the streamer (a message always ends on a complete value or an
    /// error); kept so that the parser can report an impossible state without panicking.
    #[error("premature EOI")]
    PrematureEoi,
}

/// QEMU formats parser messages into a 1024-byte buffer, so at most 1023 bytes survive.
const PARSER_MESSAGE_MAX: usize = 1023;
const KEYWORD_PREFIX: &str = "invalid keyword '";

/// The longest keyword prefix that can show in a message; longer keywords are cut to it
/// when the error is built, which keeps a 64 MiB keyword from being stored twice.
pub(crate) const KEYWORD_SHOWN_MAX: usize = PARSER_MESSAGE_MAX - KEYWORD_PREFIX.len();

fn keyword_message(keyword: &str) -> String {
    let mut message = format!("{KEYWORD_PREFIX}{keyword}'");
    // Keywords are ASCII, so any byte index is a char boundary.
    message.truncate(PARSER_MESSAGE_MAX);
    message
}

impl From<SyntaxError> for JsonError {
    fn from(e: SyntaxError) -> Self {
        JsonError::Syntax(e)
    }
}

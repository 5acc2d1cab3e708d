//! QMP's JSON dialect, byte-compatible with QEMU 10.0.2.
//!
//! * Input: [`JsonStreamer`] turns a byte stream, in chunks of any size, into top-level
//!   messages with QEMU's lexer, streamer and parser semantics (`qobject/json-lexer.c`,
//!   `json-streamer.c`, `json-parser.c`): single-quoted strings and `\'`, modified UTF-8,
//!   the same limits, the same error texts ([`JsonError`]'s `Display` is the reply's `desc`)
//!   and the same recovery after errors.
//! * Output: [`to_qmp_string`] and [`to_qmp_pretty_string`] write values as QEMU's JSON
//!   writer does. They add no line ending: QMP ends each message with `\r\n`, and also turns
//!   every `\n` of pretty output into `\r\n`; that framing is the caller's.
//! * Values are `serde_json::Value` with `preserve_order`, holding objects in insertion
//!   order; the writer emits members in QEMU's QDict order ([`qdict_order`]), which the
//!   dispatcher also needs, e.g. to name the same unexpected member QEMU names. Numbers keep
//!   QEMU's kinds: int64, else uint64, else double (`is_f64()`), printed as by `%.17g`.

mod error;
mod lexer;
mod number;
mod parser;
mod qdict;
mod scan;
mod streamer;
mod string;
mod utf8;
mod writer;

pub use error::{JsonError, SyntaxError};
pub use number::format_g17;
pub use qdict::{in_qdict_order, qdict_bucket, qdict_order};
pub use streamer::{JsonStreamer, Limits, ParsedItem};
pub use writer::{to_qmp_pretty_string, to_qmp_string};

#[cfg(test)]
mod tests;

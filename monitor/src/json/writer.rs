//! Serialisation matching QEMU's `qobject/json-writer.c`, compact and pretty.
//!
//! Output is pure ASCII: `"`, `\` and the controls `\b \f \n \r \t` get short escapes,
//! other controls, DEL and all non-ASCII are written as `\uXXXX` (upper-case hex, surrogate
//! pairs beyond the BMP), noncharacters as `\uFFFD`; `/` is not escaped. Object members come
//! in QDict order (see [`qdict_order`](super::qdict_order)); numbers as QEMU prints QNums.
//!
//! Member order is computed here from insertion order, so build objects in the order QEMU's
//! code inserts them and do not pre-sort them: members sharing a hash bucket would come out
//! swapped.
//!
//! The strings returned carry no line terminator. QMP sends each message followed by `\n`
//! and turns every `\n` it sends into `\r\n` (`monitor_puts`), so the caller appends
//! `"\r\n"` and, for pretty output, also replaces each `\n` inside with `"\r\n"`.

use super::number::write_number;
use super::qdict::qdict_order;
use super::utf8::is_valid_codepoint;
use serde_json::Value;
use std::fmt::Write;

/// `value` as QMP writes it, e.g. `{"return": {}, "id": 1}`.
pub fn to_qmp_string(value: &Value) -> String {
    let mut out = String::with_capacity(64);
    write_value(&mut out, value, None);
    out
}

/// `value` as QMP writes it with `pretty=on`: one member per line, four-space indent, and
/// empty containers split over two lines, with `\n` line breaks (see the module docs).
pub fn to_qmp_pretty_string(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value, Some(0));
    out
}

/// Appends `value`; `indent` is the nesting depth when pretty-printing.
fn write_value(out: &mut String, value: &Value, indent: Option<usize>) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, i, indent);
                write_value(out, item, indent.map(|d| d + 1));
            }
            close(out, ']', indent);
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in qdict_order(map).into_iter().enumerate() {
                separator(out, i, indent);
                write_str(out, key);
                out.push_str(": ");
                write_value(out, item, indent.map(|d| d + 1));
            }
            close(out, '}', indent);
        }
    }
}

/// Before the `i`-th member of a container.
fn separator(out: &mut String, i: usize, indent: Option<usize>) {
    if i > 0 {
        out.push(',');
    }
    match indent {
        Some(depth) => newline(out, depth + 1),
        None if i > 0 => out.push(' '),
        None => {}
    }
}

/// QEMU breaks the line before every closing bracket, even of an empty container.
fn close(out: &mut String, bracket: char, indent: Option<usize>) {
    if let Some(depth) = indent {
        newline(out, depth);
    }
    out.push(bracket);
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', 4 * depth));
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    while !rest.is_empty() {
        // Copy the longest run that needs no escaping in one go.
        let plain = rest
            .bytes()
            .position(|b| !(0x20..0x7F).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        rest = chars.as_str();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => {
                let cp = u32::from(c);
                // QEMU's decoder rejects noncharacters and writes the replacement instead.
                let cp = if is_valid_codepoint(cp) { cp } else { 0xFFFD };
                if cp > 0xFFFF {
                    let v = cp - 0x10000;
                    let _ = write!(
                        out,
                        "\\u{:04X}\\u{:04X}",
                        0xD800 + (v >> 10),
                        0xDC00 + (v & 0x3FF)
                    );
                } else {
                    let _ = write!(out, "\\u{cp:04X}");
                }
            }
        }
    }
    out.push('"');
}

//! Tests against behaviour measured on QEMU 10.0.2 (see the report in each file).

mod bench;
mod fuzz;
mod limits;
mod qemu_cases;
mod qemu_values;
mod writer;

use super::{to_qmp_string, JsonStreamer, ParsedItem};
use serde_json::Value;

/// Shown for a message that parsed to an object (QMP would go on to dispatch it).
pub(super) const OBJ: &str = "<object>";
/// Shown for a message that parsed to a non-object (QMP: "QMP input must be a JSON object").
pub(super) const NOT_OBJ: &str = "<not an object>";
pub(super) const EXPECTING_VALUE: &str = "JSON parse error, expecting value";

pub(super) fn describe(item: &ParsedItem) -> String {
    match item {
        Ok(Value::Object(_)) => OBJ.to_owned(),
        Ok(_) => NOT_OBJ.to_owned(),
        Err(e) => e.to_string(),
    }
}

/// Items for `input` fed in one piece, after checking that byte-by-byte feeding agrees.
pub(super) fn parse_all(input: &[u8]) -> Vec<ParsedItem> {
    let whole = JsonStreamer::new().feed(input);
    let mut streamer = JsonStreamer::new();
    let bytewise: Vec<ParsedItem> = input.iter().flat_map(|b| streamer.feed(&[*b])).collect();
    assert_eq!(whole, bytewise, "chunking changed the result for {input:?}");
    whole
}

pub(super) fn describe_all(input: &[u8]) -> Vec<String> {
    parse_all(input).iter().map(describe).collect()
}

/// The value's compact QMP form, or the error text.
pub(super) fn render(item: &ParsedItem) -> String {
    match item {
        Ok(v) => to_qmp_string(v),
        Err(e) => format!("error: {e}"),
    }
}

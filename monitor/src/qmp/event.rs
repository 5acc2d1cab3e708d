//! Event messages: `{"timestamp": {"seconds": S, "microseconds": U}, "event": NAME,
//! "data": DATA}`, `data` left out for events without it (QEMU's member order).

use crate::json::to_qmp_string;
use serde_json::Value;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The compact text of `event` created at `timestamp` (the host real-time clock when the
/// event happened, which a throttled event keeps). No line terminator: hand it to
/// [`QmpSession::event`](super::QmpSession::event) of every session.
pub fn format_event(event: &qapi::Event, timestamp: SystemTime) -> String {
    format_event_parts(event.name(), event.data().as_ref(), timestamp)
}

/// [`format_event`] from a name and data, for events the schema does not have yet.
pub fn format_event_parts(name: &str, data: Option<&Value>, timestamp: SystemTime) -> String {
    let (seconds, microseconds) = split_timestamp(timestamp);
    let mut line = String::with_capacity(96);
    // Writing to a String cannot fail.
    let _ = write!(
        line,
        "{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {microseconds}}}, \"event\": "
    );
    line.push_str(&to_qmp_string(&Value::String(name.to_owned())));
    if let Some(data) = data {
        line.push_str(", \"data\": ");
        line.push_str(&to_qmp_string(data));
    }
    line.push('}');
    line
}

/// Seconds and microseconds since the epoch as QEMU splits `g_get_real_time()`: C integer
/// division, so a time before 1970 gives two non-positive parts.
fn split_timestamp(timestamp: SystemTime) -> (i64, i64) {
    let micros: i64 = match timestamp.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
    };
    (micros / 1_000_000, micros % 1_000_000)
}

//! The compact text of the messages the server sends. Member order is QEMU's QDict order
//! for the insertion order QEMU uses (checked against the JSON writer in the tests):
//! `{"return": R, "id": I}`, `{"id": I, "error": {"class": C, "desc": D}}`,
//! `{"QMP": {"version": V, "capabilities": [...]}}`.

use crate::json::to_qmp_string;
use qapi::types::VersionInfo;
use qapi::QapiError;
use serde_json::Value;

/// `{"return": RET, "id": ID}`; `ret` is already JSON text.
pub(crate) fn write_return(line: &mut String, ret: &str, id: Option<&Value>) {
    line.push_str("{\"return\": ");
    line.push_str(ret);
    if let Some(id) = id {
        line.push_str(", \"id\": ");
        line.push_str(&to_qmp_string(id));
    }
    line.push('}');
}

/// `{"id": ID, "error": {"class": CLASS, "desc": DESC}}`.
pub(crate) fn write_error(line: &mut String, error: &QapiError, id: Option<&Value>) {
    line.push('{');
    if let Some(id) = id {
        line.push_str("\"id\": ");
        line.push_str(&to_qmp_string(id));
        line.push_str(", ");
    }
    line.push_str("\"error\": {\"class\": \"");
    // Class names are plain ASCII identifiers: nothing to escape.
    line.push_str(error.class.as_str());
    line.push_str("\", \"desc\": ");
    line.push_str(&to_qmp_string(&Value::String(error.desc.clone())));
    line.push_str("}}");
}

/// The greeting, `{"QMP": {"version": VERSION, "capabilities": ["oob"]}}`, or with `[]`
/// when OOB is not offered.
pub(crate) fn write_greeting(line: &mut String, version: &VersionInfo, oob_offered: bool) {
    // VersionInfo is plain strings and integers, which always serialize.
    let version = serde_json::to_value(version).unwrap_or(Value::Null);
    line.push_str("{\"QMP\": {\"version\": ");
    line.push_str(&to_qmp_string(&version));
    line.push_str(", \"capabilities\": ");
    line.push_str(if oob_offered { "[\"oob\"]" } else { "[]" });
    line.push_str("}}");
}

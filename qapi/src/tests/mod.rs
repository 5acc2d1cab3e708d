//! Tests of the qapi crate.  Error texts asserted here were measured
//! on QEMU 10.0.2; `qemu.rs` re-checks them against a live QEMU when
//! one is installed.

mod arguments;
mod codegen;
mod events;
mod introspection;
mod leftover;
mod qemu;
mod test_schema;

use serde_json::{Map, Value};

/// The arguments object in `v`, which must be one.
pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// The error text `parse_command` gives, or "ok".
pub fn desc(name: &str, args: Value) -> String {
    match crate::parse_command(name, obj(args)) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.desc,
    }
}

//! The QMP schema: commands, events, types, errors and introspection.
//!
//! Everything here comes from one source, the QAPI schema files in
//! `schema/` (QEMU's schema language, with QEMU 10.0's names and
//! shapes).  `build.rs` generates from them:
//!
//! - [`types`]: a Rust type per QAPI type, with serde support, plus
//!   `XxxArgs` for each command's inline arguments and `XxxEventData`
//!   for each event's inline data;
//! - [`Command`] and [`parse_command`], which checks arguments with
//!   QEMU's rules and exact error messages;
//! - the command and event tables ([`commands`], [`events`]) and
//!   [`returns`], the result type of each command;
//! - the `query-qmp-schema` reply ([`schema_json`]).
//!
//! A monitor dispatches a request like this:
//!
//! ```
//! # use serde_json::json;
//! let args = json!({"value": 536870912});
//! let args = args.as_object().cloned().unwrap_or_default();
//! // Existence, exec-oob and preconfig checks, in QEMU's order.
//! qapi::preflight("balloon", false, true)?;
//! match qapi::parse_command("balloon", args)? {
//!     qapi::Command::Balloon(a) => assert_eq!(a.value, 536870912),
//!     other => unreachable!("{other:?}"),
//! }
//! # Ok::<(), qapi::QapiError>(())
//! ```
//!
//! Events are built typed and sent as `{"event": e.name(), "data":
//! e.data()}`, the `data` member omitted when `data()` is None:
//!
//! ```
//! use qapi::types::{ShutdownCause, ShutdownEventData};
//! let e = qapi::Event::Shutdown(ShutdownEventData { guest: false, reason: ShutdownCause::HostQmpQuit });
//! assert_eq!(e.name(), "SHUTDOWN");
//! assert_eq!(e.data(), Some(serde_json::json!({"guest": false, "reason": "host-qmp-quit"})));
//! assert_eq!(qapi::Event::Stop.data(), None);
//! ```
//!
//! Also here: [`visit::FromQapi`] to check any value with QEMU's rules
//! (e.g. a `qom-set` value).

mod error;
pub mod ghash;
mod null;
pub mod qdict;
mod scalars;
mod tables;
pub mod visit;

#[cfg(test)]
mod tests;

/// The code generated from `schema/qapi-schema.json`.  Its names
/// follow the schema, not Rust style lints.
#[allow(clippy::large_enum_variant, clippy::enum_variant_names)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/qapi_schema.rs"));
}

/// The code generated from the test schema, for this crate's tests.
#[cfg(test)]
#[allow(dead_code, clippy::large_enum_variant, clippy::enum_variant_names)]
mod test_schema {
    include!(concat!(env!("OUT_DIR"), "/qapi_test_schema.rs"));
}

use std::sync::OnceLock;

use serde_json::{Map, Value};

pub use error::{ErrorClass, QapiError};
pub use generated::commands::{returns, Command, COMMANDS};
pub use generated::events::{Event, EVENTS, EVENT_NAMES};
pub use generated::types;
pub use null::Null;
pub use tables::{preflight, CommandDef, EventDef};

/// Commands: the typed enum, the table, [`returns`], and a
/// `parse_command` that borrows the arguments instead of taking them.
pub mod commands {
    pub use crate::generated::commands::*;
}

/// Events: the typed enum and the table.
pub mod events {
    pub use crate::generated::events::*;
}

/// Check `args` against the schema of command `name` and build the
/// typed command.  Errors are QEMU's, text for text: CommandNotFound
/// "The command X has not been found" for an unknown name, otherwise
/// GenericError for the first argument problem in schema order
/// (missing, wrong JSON type, out of range, bad enum value), then for
/// a leftover argument ("Parameter 'x' is unexpected").
pub fn parse_command(name: &str, args: Map<String, Value>) -> Result<Command, QapiError> {
    generated::commands::parse_command(name, &args)
}

/// The table entry of command `name`.
pub fn command_def(name: &str) -> Option<&'static CommandDef> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The `query-commands` reply.  QEMU lists its commands in reverse
/// registration order, i.e. reverse schema order; so do we.
pub fn command_info() -> Vec<types::CommandInfo> {
    COMMANDS
        .iter()
        .rev()
        .map(|c| types::CommandInfo {
            name: c.name.to_string(),
        })
        .collect()
}

/// Every event name, in schema order.  (QEMU 10 has no
/// `query-events` command; clients read events from the schema.)
pub fn event_names() -> &'static [&'static str] {
    EVENT_NAMES
}

/// Whether command `name` exists and may run out of band.
pub fn allows_oob(name: &str) -> bool {
    command_def(name).is_some_and(|c| c.allow_oob)
}

/// Whether command `name` exists and may run before the machine is
/// initialized.
pub fn allows_preconfig(name: &str) -> bool {
    command_def(name).is_some_and(|c| c.allow_preconfig)
}

/// The `query-qmp-schema` reply as JSON text.
pub fn schema_json_str() -> &'static str {
    generated::SCHEMA_JSON
}

/// The `query-qmp-schema` reply: a list of SchemaInfo, with type names
/// masked to numbers the way QEMU masks them.  Built once.
pub fn schema_json() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    // The text is generated by build.rs and checked by the tests, so
    // the fallback is unreachable in practice.
    SCHEMA.get_or_init(|| {
        serde_json::from_str(generated::SCHEMA_JSON).unwrap_or(Value::Array(Vec::new()))
    })
}

/// serde `deserialize_with` for optional members that may be null: a
/// present member is Some, even when it is null (serde's default for
/// Option turns null into None, which would drop `"default": null`).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Serialize a generated type.  They cannot fail (string keys only,
/// no custom serializers), so there is no error to pass on.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

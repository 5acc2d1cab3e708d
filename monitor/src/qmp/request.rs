//! The shape checks QEMU makes on a parsed request before it looks up the command
//! (`qmp_dispatch_check_obj()`), and the split into id, name and arguments.

use super::error::RequestError;
use crate::json::{qdict_order, ParsedItem};
use serde_json::{Map, Value};

/// A request whose members are well-formed.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub id: Option<Value>,
    pub name: String,
    /// Sent as `exec-oob` rather than `execute`.
    pub oob: bool,
    pub arguments: Map<String, Value>,
}

/// A request refused for its shape; `id` is echoed when the input was an object.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub id: Option<Value>,
    pub error: RequestError,
}

/// Whether QEMU runs this message at once instead of queueing it (`qmp_is_oob()`): an
/// object with `exec-oob` and without `execute`. QEMU asks this even when OOB is off; the
/// checks then reject `exec-oob` as unexpected, still without queueing.
pub(crate) fn is_oob_path(item: &ParsedItem) -> bool {
    matches!(item, Ok(Value::Object(m)) if m.contains_key("exec-oob") && !m.contains_key("execute"))
}

/// Checks a parsed message as `qmp_dispatch()` does; `allow_oob` is whether the client
/// enabled OOB (otherwise `exec-oob` is just an unexpected member).
pub(crate) fn parse_envelope(value: Value, allow_oob: bool) -> Result<Envelope, Rejected> {
    let Value::Object(mut map) = value else {
        return Err(Rejected {
            id: None,
            error: RequestError::NotAnObject,
        });
    };
    let checked = check_members(&map, allow_oob);
    // Taken only now: removing members may reorder the map, and the checks need its order.
    let id = map.remove("id");
    let reject = |id, error| Err(Rejected { id, error });
    if let Err(error) = checked {
        return reject(id, error);
    }
    let (name, oob) = match (map.remove("execute"), map.remove("exec-oob")) {
        (Some(Value::String(name)), None) => (name, false),
        (None, Some(Value::String(name))) => (name, true),
        (None, None) => return reject(id, RequestError::LacksExecute),
        // The rest is ruled out by check_members; answered rather than trusted.
        (Some(_), Some(_)) => {
            let clash = RequestError::Clash {
                member: "execute",
                first: "exec-oob",
            };
            return reject(id, clash);
        }
        (Some(_), None) => return reject(id, RequestError::NotAString("execute")),
        (None, Some(_)) => return reject(id, RequestError::NotAString("exec-oob")),
    };
    let arguments = match map.remove("arguments") {
        None => Map::new(),
        Some(Value::Object(arguments)) => arguments,
        Some(_) => return reject(id, RequestError::ArgumentsNotAnObject),
    };
    Ok(Envelope {
        id,
        name,
        oob,
        arguments,
    })
}

/// The first bad member, in the order QEMU walks the request's QDict; a second command
/// member (`execute` and `exec-oob` both) is bad too.
fn check_members(map: &Map<String, Value>, allow_oob: bool) -> Result<(), RequestError> {
    // Nearly every request is fine, and then the walking order does not matter.
    let both = map.contains_key("execute") && allow_oob && map.contains_key("exec-oob");
    if !both && map.iter().all(|(k, v)| member_ok(k, v, allow_oob)) {
        return Ok(());
    }
    let mut command_key = None;
    for (key, value) in qdict_order(map) {
        match command_member(key, allow_oob) {
            Some(member) => {
                if !value.is_string() {
                    return Err(RequestError::NotAString(member));
                }
                if let Some(first) = command_key {
                    return Err(RequestError::Clash { member, first });
                }
                command_key = Some(member);
            }
            None if key == "arguments" && !value.is_object() => {
                return Err(RequestError::ArgumentsNotAnObject)
            }
            None if key == "arguments" || key == "id" => {}
            None => return Err(RequestError::Unexpected(key.clone())),
        }
    }
    Ok(())
}

/// `key` names the command: `execute`, or `exec-oob` when OOB is enabled.
fn command_member(key: &str, allow_oob: bool) -> Option<&'static str> {
    match key {
        "execute" => Some("execute"),
        "exec-oob" if allow_oob => Some("exec-oob"),
        _ => None,
    }
}

fn member_ok(key: &str, value: &Value, allow_oob: bool) -> bool {
    match key {
        "arguments" => value.is_object(),
        "id" => true,
        _ => command_member(key, allow_oob).is_some() && value.is_string(),
    }
}

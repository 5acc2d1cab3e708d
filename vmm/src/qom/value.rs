//! Checking `qom-set` values with QEMU's visitor rules and messages, reading the command line's
//! property text, and keeping values written at run time.

use std::collections::HashMap;

use qapi::visit::{FromQapi, Loc};
use qapi::QapiError;
use serde_json::Value;

use super::error::QomError;

/// Reads `value` as property `name` of type `T` (bool, String, i64, u64, ...), with the
/// message QEMU's input visitor gives for a mismatch.
pub(crate) fn read<T: FromQapi>(name: &str, value: &Value) -> Result<T, QomError> {
    let root = Loc::ROOT;
    let at = root.member(name);
    T::from_qapi(value, &at).map_err(QomError::Input)
}

/// Reads an enum value: a string, then one of `allowed`.
pub(crate) fn read_enum(name: &str, value: &Value, allowed: &[&str]) -> Result<String, QomError> {
    let s: String = read(name, value)?;
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(QapiError::bad_enum_value(name, &s).into())
    }
}

/// The values of `OnOffAuto`.
pub(crate) const ON_OFF_AUTO: &[&str] = &["on", "off", "auto"];

/// QEMU's boolean words on the command line (`qapi_bool_parse`).
pub(crate) use crate::options::value::parse_bool;

/// Command-line properties (`key=value`, later ones winning), looked up by key.
pub(crate) struct Props<'a>(pub &'a [(String, String)]);

impl Props<'_> {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.str(key).and_then(parse_bool)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.str(key).and_then(|v| v.parse().ok())
    }

    pub fn i64(&self, key: &str) -> Option<i64> {
        self.str(key).and_then(|v| v.parse().ok())
    }
}

/// Values written with `qom-set` that QEMU keeps and reads back as written.
#[derive(Debug, Default, Clone)]
pub(crate) struct Written(HashMap<String, Value>);

impl Written {
    pub fn get(&self, name: &str) -> Option<Value> {
        self.0.get(name).cloned()
    }

    pub fn put(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn visitor_messages() {
        let e = |r: Result<(), QomError>| r.unwrap_err().to_string();
        assert_eq!(
            e(read::<bool>("usb", &json!("on")).map(|_| ())),
            "Invalid parameter type for 'usb', expected: boolean"
        );
        assert_eq!(
            e(read::<i64>("phandle-start", &json!(1.5)).map(|_| ())),
            "Invalid parameter type for 'phandle-start', expected: integer"
        );
        assert_eq!(
            e(read::<u64>("max-fw-size", &json!("4k")).map(|_| ())),
            "Parameter 'max-fw-size' expects uint64"
        );
        assert_eq!(
            read::<u64>("bus-lock-ratelimit", &json!(-1)).ok(),
            Some(u64::MAX)
        );
        assert_eq!(
            e(read_enum("acpi", &json!("bogus"), ON_OFF_AUTO).map(|_| ())),
            "Parameter 'acpi' does not accept value 'bogus'"
        );
        assert_eq!(
            e(read_enum("acpi", &json!(1), ON_OFF_AUTO).map(|_| ())),
            "Invalid parameter type for 'acpi', expected: string"
        );
    }
}

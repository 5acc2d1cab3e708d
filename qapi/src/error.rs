//! QMP error replies: a class and a human-readable description.

use serde::Serialize;
use serde_json::Value;

/// The error classes of QMP (QAPI's `QapiErrorClass`, generated from
/// schema/error.json).
pub use crate::types::QapiErrorClass as ErrorClass;

/// An error reply's `error` member: `{"class": ..., "desc": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{desc}")]
pub struct QapiError {
    pub class: ErrorClass,
    pub desc: String,
}

impl QapiError {
    pub fn new(class: ErrorClass, desc: impl Into<String>) -> Self {
        QapiError {
            class,
            desc: desc.into(),
        }
    }

    /// A GenericError, the class of nearly every error.
    pub fn generic(desc: impl Into<String>) -> Self {
        Self::new(ErrorClass::GenericError, desc)
    }

    /// "The command X has not been found" (CommandNotFound).
    pub fn command_not_found(name: &str) -> Self {
        Self::new(
            ErrorClass::CommandNotFound,
            format!("The command {name} has not been found"),
        )
    }

    /// "Parameter 'x' is missing".
    pub fn missing(name: &str) -> Self {
        Self::generic(format!("Parameter '{name}' is missing"))
    }

    /// "Parameter 'x' is unexpected".
    pub fn unexpected(name: &str) -> Self {
        Self::generic(format!("Parameter '{name}' is unexpected"))
    }

    /// "Invalid parameter type for 'x', expected: TYPE".
    pub fn invalid_type(name: &str, expected: &str) -> Self {
        Self::generic(format!(
            "Invalid parameter type for '{name}', expected: {expected}"
        ))
    }

    /// "Parameter 'x' expects WHAT", QEMU's message for values of the
    /// right JSON type that are out of range (e.g. "uint8_t", "a size").
    pub fn invalid_value(name: &str, expected: &str) -> Self {
        Self::generic(format!("Parameter '{name}' expects {expected}"))
    }

    /// "Parameter 'x' does not accept value 'y'" for enums.
    pub fn bad_enum_value(name: &str, value: &str) -> Self {
        Self::generic(format!(
            "Parameter '{name}' does not accept value '{value}'"
        ))
    }

    /// The reply's `error` member.
    pub fn to_json(&self) -> Value {
        crate::to_json(self)
    }
}

//! What QOM operations fail with, as QEMU words and classes each failure.

use qapi::{ErrorClass, QapiError};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QomError {
    /// A path that names no object; also an unknown `device-list-properties` type.
    #[error("Device '{0}' not found")]
    DeviceNotFound(String),
    /// A partial path that matches more than one object (`qom-list` only; the other commands
    /// report DeviceNotFound for it, as QEMU does).
    #[error("Path '{0}' is ambiguous")]
    Ambiguous(String),
    /// A link target given as a partial path that matches several objects.
    #[error("Path '{0}' does not uniquely identify an object")]
    NotUnique(String),
    #[error("Property '{type_name}.{name}' not found")]
    PropertyNotFound { type_name: String, name: String },
    #[error("Property '{type_name}.{name}' is not readable")]
    NotReadable { type_name: String, name: String },
    #[error("Property '{type_name}.{name}' is not writable")]
    NotWritable { type_name: String, name: String },
    /// A device property QEMU freezes at realize; `device` is "anonymous device" or
    /// "device 'ID'".
    #[error(
        "Attempt to set property '{name}' on {device} (type '{type_name}') after it was realized"
    )]
    AfterRealize {
        name: String,
        device: String,
        type_name: String,
    },
    /// The same for a link property, which QEMU words with the id, `(null)` when there is none.
    #[error("Attempt to set link property '{name}' on device '{id}' (type '{type_name}') after it was realized")]
    LinkAfterRealize {
        name: String,
        id: String,
        type_name: String,
    },
    /// `qom-list-properties` of an unknown type.
    #[error("Class '{0}' not found")]
    ClassNotFound(String),
    /// `qom-list-properties` of an interface, `device-list-properties` of an abstract or
    /// non-device type.
    #[error("Parameter 'typename' expects {0}")]
    TypenameExpects(&'static str),
    #[error("attempt to add duplicate property '{name}' to object (type '{type_name}')")]
    Duplicate { name: String, type_name: String },
    /// A value QEMU's input visitor rejects (its own wording and class).
    #[error("{0}")]
    Input(QapiError),
    /// Any other GenericError with QEMU's text.
    #[error("{0}")]
    Generic(String),
}

impl QomError {
    pub fn class(&self) -> ErrorClass {
        match self {
            QomError::DeviceNotFound(_) | QomError::ClassNotFound(_) => ErrorClass::DeviceNotFound,
            QomError::Input(e) => e.class,
            _ => ErrorClass::GenericError,
        }
    }

    pub(crate) fn not_found(type_name: &str, name: &str) -> Self {
        QomError::PropertyNotFound {
            type_name: type_name.to_string(),
            name: name.to_string(),
        }
    }

    pub(crate) fn not_writable(type_name: &str, name: &str) -> Self {
        QomError::NotWritable {
            type_name: type_name.to_string(),
            name: name.to_string(),
        }
    }

    pub(crate) fn not_readable(type_name: &str, name: &str) -> Self {
        QomError::NotReadable {
            type_name: type_name.to_string(),
            name: name.to_string(),
        }
    }

    /// QEMU's message for a device property set after realize; `id` is the device's id.
    pub fn after_realize(name: &str, id: Option<&str>, type_name: &str) -> Self {
        QomError::AfterRealize {
            name: name.to_string(),
            device: match id {
                Some(id) => format!("device '{id}'"),
                None => "anonymous device".to_string(),
            },
            type_name: type_name.to_string(),
        }
    }
}

impl From<QapiError> for QomError {
    fn from(e: QapiError) -> Self {
        QomError::Input(e)
    }
}

impl From<QomError> for QapiError {
    fn from(e: QomError) -> Self {
        match e {
            QomError::Input(e) => e,
            other => QapiError::new(other.class(), other.to_string()),
        }
    }
}

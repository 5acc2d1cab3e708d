//! The qom-* and device-list-properties commands, over the object tree.

use qapi::{Command, QapiError};
use serde_json::Value;

use crate::vm_backend::VmBackend;

pub fn execute(_vm: &mut VmBackend, command: Command) -> Result<Value, QapiError> {
    Err(QapiError::command_not_found(command.name()))
}

//! The qom-* and device-list-properties commands, over the object tree.

use qapi::{Command, QapiError};
use serde_json::Value;

use crate::qom;
use crate::vm_backend::{empty, to_value, VmBackend};

pub fn execute(vm: &mut VmBackend, command: Command) -> Result<Value, QapiError> {
    let ctx = &vm.machine;
    match command {
        Command::QomList(a) => vm.qom.list(&a.path, ctx).map(to_value),
        Command::QomGet(a) => vm.qom.get(&a.path, &a.property, ctx),
        Command::QomSet(a) => vm
            .qom
            .set(&a.path, &a.property, a.value, ctx)
            .map(|()| empty()),
        Command::QomListTypes(a) => Ok(to_value(qom::list_types(
            a.implements.as_deref(),
            a.r#abstract.unwrap_or(false),
        ))),
        Command::QomListProperties(a) => qom::list_properties(&a.typename).map(to_value),
        Command::DeviceListProperties(a) => qom::device_list_properties(&a.typename).map(to_value),
        // Every other command is handled by the monitor layer or `qmp_commands`.
        other => Err(QapiError::command_not_found(other.name())),
    }
}

//! Command and event table entries, and the checks QEMU makes on a
//! command before it looks at the arguments.

use crate::QapiError;

/// One command of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandDef {
    pub name: &'static str,
    /// The QAPI name of the arguments type (`q_obj_NAME-arg` for inline
    /// arguments); None when the command takes none.
    pub arg_type: Option<&'static str>,
    /// The QAPI result type, arrays written `[T]`; None for commands
    /// that return `{}`.
    pub ret_type: Option<&'static str>,
    /// May run out of band (`exec-oob`).
    pub allow_oob: bool,
    /// May run before the machine is initialized (`--preconfig`).
    pub allow_preconfig: bool,
    /// Sends a reply on success (false only for guest-agent style
    /// commands; none of ours).
    pub success_response: bool,
    pub features: &'static [&'static str],
}

/// One event of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDef {
    pub name: &'static str,
    /// The QAPI name of the data type; None for events without data.
    pub arg_type: Option<&'static str>,
    pub features: &'static [&'static str],
}

/// QEMU's checks between parsing a request and reading its arguments,
/// in QEMU's order: the command exists, it allows OOB if run with
/// `exec-oob`, and it allows preconfig if the machine is not ready.
/// (The monitor does its own checks before: JSON, request members,
/// capabilities negotiation.)
pub fn preflight(
    name: &str,
    exec_oob: bool,
    machine_ready: bool,
) -> Result<&'static CommandDef, QapiError> {
    let def = crate::command_def(name).ok_or_else(|| QapiError::command_not_found(name))?;
    if exec_oob && !def.allow_oob {
        return Err(QapiError::generic(format!(
            "The command {name} does not support OOB"
        )));
    }
    if !machine_ready && !def.allow_preconfig {
        return Err(QapiError::generic(format!(
            "The command '{name}' is permitted only after machine initialization has completed"
        )));
    }
    Ok(def)
}

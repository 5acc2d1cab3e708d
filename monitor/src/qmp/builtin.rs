//! The commands a session answers itself, because they are about the protocol or the
//! schema and need no machine: `qmp_capabilities`, `query-commands`, `query-qmp-schema`.

use super::error::NegotiationError;
use crate::json::to_qmp_string;
use qapi::types::{QMPCapability, QmpCapabilitiesArgs};
use std::sync::OnceLock;

/// `qmp_capabilities` (`qmp_qmp_capabilities()`, `qmp_caps_accept()`): after the arguments
/// were checked, refuse a second negotiation and capabilities that were not offered.
/// Returns whether OOB is now enabled.
pub(crate) fn negotiate(
    args: &QmpCapabilitiesArgs,
    negotiated: bool,
    oob_offered: bool,
) -> Result<bool, NegotiationError> {
    if negotiated {
        return Err(NegotiationError::AlreadyComplete);
    }
    let asked = args.enable.as_deref().unwrap_or_default();
    let offered = |cap: &QMPCapability| match cap {
        QMPCapability::Oob => oob_offered,
    };
    // QEMU names each refused capability, repeats included.
    let unavailable: Vec<&str> = asked
        .iter()
        .filter(|cap| !offered(cap))
        .map(|cap| cap.as_str())
        .collect();
    if !unavailable.is_empty() {
        return Err(NegotiationError::Unavailable(unavailable.join(", ")));
    }
    Ok(asked.contains(&QMPCapability::Oob))
}

/// The `query-commands` return value as JSON text, made once.
pub(crate) fn query_commands() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        // CommandInfo is a plain struct of strings, which always serializes.
        let info = serde_json::to_value(qapi::command_info()).unwrap_or_default();
        to_qmp_string(&info)
    })
}

/// The `query-qmp-schema` return value as JSON text, made once (it is large).
pub(crate) fn query_qmp_schema() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| to_qmp_string(qapi::schema_json()))
}

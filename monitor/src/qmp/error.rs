//! The errors the QMP protocol layer itself answers with, worded as QEMU 10 words them.
//! `Display` is the `desc` of the error reply; [`QapiError::from`] adds the class.

use qapi::{ErrorClass, QapiError};
use thiserror::Error;

/// A request whose shape is wrong (`qmp_dispatch_check_obj()` and `qmp_dispatch()`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("QMP input must be a JSON object")]
    NotAnObject,
    #[error("QMP input lacks member 'execute'")]
    LacksExecute,
    /// `execute` or `exec-oob` holds something other than a string.
    #[error("QMP input member '{0}' must be a string")]
    NotAString(&'static str),
    #[error("QMP input member 'arguments' must be an object")]
    ArgumentsNotAnObject,
    /// A member other than `execute`, `arguments`, `id` (and `exec-oob` with OOB on).
    #[error("QMP input member '{0}' is unexpected")]
    Unexpected(String),
    /// Both `execute` and `exec-oob`: `member` is the one met second in QDict order.
    #[error("QMP input member '{member}' clashes with '{first}'")]
    Clash {
        member: &'static str,
        first: &'static str,
    },
}

impl From<RequestError> for QapiError {
    fn from(e: RequestError) -> Self {
        QapiError::generic(e.to_string())
    }
}

/// Errors of capabilities negotiation (`qmp_qmp_capabilities()`, `monitor_qmp_dispatch()`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NegotiationError {
    /// Any command but `qmp_capabilities` before negotiation; QEMU rewrites every
    /// CommandNotFound desc in negotiation mode to this text.
    #[error("Expecting capabilities negotiation with 'qmp_capabilities'")]
    Expecting,
    #[error("Capabilities negotiation is already complete, command ignored")]
    AlreadyComplete,
    /// Capabilities asked for but not offered in the greeting, comma-separated.
    #[error("Capability {0} not available")]
    Unavailable(String),
}

impl From<NegotiationError> for QapiError {
    fn from(e: NegotiationError) -> Self {
        let class = match e {
            NegotiationError::Expecting | NegotiationError::AlreadyComplete => {
                ErrorClass::CommandNotFound
            }
            NegotiationError::Unavailable(_) => ErrorClass::GenericError,
        };
        QapiError::new(class, e.to_string())
    }
}

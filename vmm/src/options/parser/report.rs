//! How parsing stops early, and where its errors are reported.
//!
//! [`Stop`] ends parsing with an error or a listing. An error found while an option is processed
//! is reported with that option as location (`-m foo: ...`, [`at`]); one found after the whole
//! command line was read has no location ([`plain`]), as in QEMU.

use crate::options::error::{ErrorKind, OptionsError};
use crate::options::Outcome;

/// Ends parsing early: an error or a listing.
pub(super) enum Stop {
    Error(OptionsError),
    Outcome(Outcome),
}

impl From<OptionsError> for Stop {
    fn from(e: OptionsError) -> Self {
        Stop::Error(e)
    }
}

/// A parsing step: its result, or the end of parsing.
pub(super) type Step<T = ()> = Result<T, Stop>;

/// An error at `location`; without a location (QEMU's defaults) a plain error.
pub(super) fn at(location: &str, kind: ErrorKind) -> Stop {
    if location.is_empty() {
        return plain(kind);
    }
    Stop::Error(OptionsError::at(location, kind))
}

/// The location of a diagnostic: none for QEMU's defaults (an empty location).
pub(super) fn located(location: &str) -> Option<&str> {
    (!location.is_empty()).then_some(location)
}

/// An error without location.
pub(super) fn plain(kind: ErrorKind) -> Stop {
    Stop::Error(OptionsError::Plain(kind))
}

/// A listing QEMU prints before it exits with `exit_code`.
pub(super) fn info(text: String, exit_code: u8) -> Stop {
    Stop::Outcome(Outcome::Info { text, exit_code })
}

//! The guest's identity: `-name` (the guest's and the process's names) and `-uuid`
//! (`qemu_uuid_parse()`).

use crate::options::error::ErrorKind;
use crate::options::qemuopts::{dh, OptsList};

use super::option_syntax::{Store, BOOL, S};
use super::report::{at, Step};
use super::Parser;

static NAME_OPTS: OptsList = OptsList {
    name: "name",
    implied: Some("guest"),
    merge: true,
    desc: Some(&[
        dh(
            "guest",
            S,
            "Sets the name of the guest.\nThis name will be displayed in the SDL window \
             caption.\nThe name will also be used for the VNC server",
        ),
        dh(
            "process",
            S,
            "Sets the name of the QEMU process, as shown in top etc",
        ),
        dh(
            "debug-threads",
            BOOL,
            "When enabled, name the individual threads; defaults off.\nNOTE: The thread names \
             are for debugging and not a\nstable API.",
        ),
    ]),
};

impl Parser {
    /// `-name`.
    pub(super) fn name_option(&mut self, arg: &str, loc: &str) -> Step {
        self.qemuopts(&NAME_OPTS, Store::Name, arg, true, loc)
    }

    /// `-uuid`.
    pub(super) fn uuid_option(&mut self, arg: &str, loc: &str) -> Step {
        self.uuid = Some(parse_uuid(arg).ok_or_else(|| at(loc, ErrorKind::UuidFormat))?);
        Ok(())
    }
}

/// `qemu_uuid_parse()`: `%08x-%04x-%04x-%04x-%012x`, returned in lower case.
fn parse_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) {
            c == b'-'
        } else {
            c.is_ascii_hexdigit()
        };
        if !ok {
            return None;
        }
    }
    Some(s.to_ascii_lowercase())
}

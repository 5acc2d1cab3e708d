//! How option arguments are read: QemuOpts lists parsed "noisily" into the parser's stores
//! (`qemu_opts_parse_noisily()`), and arguments that are JSON or keyval
//! (`qobject_input_visitor_new_str()`).

use crate::options::error::ErrorKind;
use crate::options::qemuopts::{self, OptType, OptsList, ParseFlags, Parsed as OptsParsed};
use crate::options::value::{Mode, Value};
use crate::options::{json, keyval};

use super::report::{at, info, Step};
use super::Parser;

/// Shorthands for the QemuOpts lists' descriptions.
pub(super) const S: OptType = OptType::Str;
pub(super) const BOOL: OptType = OptType::Bool;

/// QemuOpts parse with the flags of `qemu_opts_parse_noisily()`.
pub(super) fn noisily(permit_abbrev: bool) -> ParseFlags {
    ParseFlags {
        permit_abbrev,
        warn_on_flag: true,
        help: true,
    }
}

/// How the QAPI visitors read what [`Parser::json_or_keyval`] returns for `arg`.
pub(super) fn visitor_mode(arg: &str) -> Mode {
    if arg.starts_with('{') {
        Mode::Json
    } else {
        Mode::Keyval
    }
}

/// The parser's QemuOpts stores that [`Parser::qemuopts`] fills.
#[derive(Clone, Copy)]
pub(super) enum Store {
    Memory,
    Name,
    Chardev,
    Mon,
    Rtc,
}

impl Parser {
    /// A QemuOpts option parsed "noisily": help prints the list and exits 1.
    pub(super) fn qemuopts(
        &mut self,
        list: &'static OptsList,
        which: Store,
        arg: &str,
        permit_abbrev: bool,
        loc: &str,
    ) -> Step {
        let store = match which {
            Store::Memory => &mut self.memory,
            Store::Name => &mut self.name,
            Store::Chardev => &mut self.chardev,
            Store::Mon => &mut self.mon,
            Store::Rtc => &mut self.rtc,
        };
        let before = store.groups.len();
        let parsed = qemuopts::parse(
            list,
            store,
            arg,
            noisily(permit_abbrev),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        match parsed {
            OptsParsed::Help => Err(info(qemuopts::help_text(list), 1)),
            OptsParsed::Group(_) => {
                let created = store.groups.len() > before;
                match which {
                    Store::Chardev if created => self.chardev_locations.push(loc.to_string()),
                    Store::Mon if created => self.mon_locations.push(loc.to_string()),
                    _ => {}
                }
                Ok(())
            }
        }
    }

    /// `qobject_input_visitor_new_str()`: JSON if it starts with '{', else keyval.
    pub(super) fn json_or_keyval(
        &self,
        arg: &str,
        implied: &str,
        loc: &str,
    ) -> Step<Vec<(String, Value)>> {
        if arg.starts_with('{') {
            match json::parse(arg).map_err(|e| at(loc, e))? {
                Value::Dict(d) => Ok(d),
                _ => Err(at(
                    loc,
                    ErrorKind::InvalidParameterType {
                        name: "<anonymous>".into(),
                        expected: "object".into(),
                    },
                )),
            }
        } else {
            keyval::parse(arg, Some(implied), false)
                .map(|(d, _)| d)
                .map_err(|e| at(loc, e))
        }
    }
}

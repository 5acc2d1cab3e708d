//! What the guest's events do: `-action`, `-no-reboot`, `-no-shutdown` and `-watchdog-action`,
//! checked with QEMU's early options (`qemu_process_early_options()`) into the reboot and
//! shutdown policy.

use crate::options::error::ErrorKind;
use crate::options::qemuopts::{self, d, OptsList, OptsStore, Parsed as OptsParsed};

use super::option_syntax::{noisily, S};
use super::report::{at, info, Step};
use super::Parser;

static ACTION_OPTS: OptsList = OptsList {
    name: "action",
    implied: None,
    merge: true,
    desc: Some(&[
        d("shutdown", S),
        d("reboot", S),
        d("panic", S),
        d("watchdog", S),
    ]),
};

/// An action set by an option, remembered with that option as its errors' location.
pub(super) struct ActionEntry {
    location: String,
    name: String,
    value: String,
}

/// The policy the actions set.
pub(super) struct Actions {
    /// A reboot shuts the guest down (`-no-reboot`, `-action reboot=shutdown`).
    pub(super) no_reboot: bool,
    /// A shutdown pauses the guest (`-no-shutdown`, `-action shutdown=pause`).
    pub(super) no_shutdown: bool,
}

impl Parser {
    /// Records action `name` set to `value` by the option at `loc`.
    pub(super) fn action(&mut self, name: &str, value: &str, loc: &str) {
        self.actions.push(ActionEntry {
            location: loc.to_string(),
            name: name.to_string(),
            value: value.to_string(),
        });
    }

    /// `-action`.
    pub(super) fn action_option(&mut self, arg: &str, loc: &str) -> Step {
        let mut store = OptsStore::default();
        let parsed = qemuopts::parse(
            &ACTION_OPTS,
            &mut store,
            arg,
            noisily(false),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Err(info(qemuopts::help_text(&ACTION_OPTS), 1));
        };
        for (k, v) in store.groups[g].items.clone() {
            self.action(&k, &v, loc);
        }
        Ok(())
    }

    /// The actions' values, checked in order (`qemu_process_early_options()`).
    pub(super) fn check_actions(&self) -> Step<Actions> {
        let mut no_reboot = false;
        let mut no_shutdown = false;
        for a in &self.actions {
            let allowed: &[&str] = match a.name.as_str() {
                "shutdown" => &["poweroff", "pause"],
                "reboot" => &["reset", "shutdown"],
                "panic" => &["pause", "shutdown", "exit-failure", "none"],
                _ => &[
                    "reset",
                    "shutdown",
                    "poweroff",
                    "inject-nmi",
                    "pause",
                    "debug",
                    "none",
                ],
            };
            if !allowed.contains(&a.value.as_str()) {
                return Err(at(
                    &a.location,
                    ErrorKind::DoesNotAcceptValue {
                        name: a.name.clone(),
                        value: a.value.clone(),
                    },
                ));
            }
            match a.name.as_str() {
                "reboot" => no_reboot = a.value == "shutdown",
                "shutdown" => no_shutdown = a.value == "pause",
                // TODO(config): panic and watchdog actions have no VmConfig field.
                _ => {}
            }
        }
        Ok(Actions {
            no_reboot,
            no_shutdown,
        })
    }
}

//! The VMM process itself: `-overcommit` (memory locking), `-sandbox` (`parse_sandbox()`,
//! checked with QEMU's early options) and `-msg`. Its plain flags and values (`-daemonize`,
//! `-pidfile`, `-S`, `-no-user-config`, `-mem-prealloc`) are recorded by `dispatch`.

use crate::options::error::ErrorKind;
use crate::options::qemuopts::{self, d, dh, Opts, OptsList, OptsStore, Parsed as OptsParsed};

use super::option_syntax::{noisily, BOOL, S};
use super::report::{at, info, Step};
use super::Parser;

static OVERCOMMIT_OPTS: OptsList = OptsList {
    name: "overcommit",
    implied: None,
    merge: false,
    desc: Some(&[d("mem-lock", S), d("cpu-pm", BOOL)]),
};

static MSG_OPTS: OptsList = OptsList {
    name: "msg",
    implied: None,
    merge: false,
    desc: Some(&[
        d("timestamp", BOOL),
        dh(
            "guest-name",
            BOOL,
            "Prepends guest name for error messages but only if -name guest is set otherwise \
             option is ignored\n",
        ),
    ]),
};

static SANDBOX_OPTS: OptsList = OptsList {
    name: "sandbox",
    implied: Some("enable"),
    merge: true,
    desc: Some(&[
        d("enable", BOOL),
        d("obsolete", S),
        d("elevateprivileges", S),
        d("spawn", S),
        d("resourcecontrol", S),
    ]),
};

impl Parser {
    /// `-overcommit`.
    pub(super) fn overcommit_option(&mut self, arg: &str, loc: &str) -> Step {
        let mut store = OptsStore::default();
        let parsed = qemuopts::parse(
            &OVERCOMMIT_OPTS,
            &mut store,
            arg,
            noisily(false),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Err(info(qemuopts::help_text(&OVERCOMMIT_OPTS), 1));
        };
        match store.groups[g].get("mem-lock") {
            None => {}
            Some("off") => self.mem_lock = false,
            // TODO(config): on-fault (MCL_ONFAULT) is recorded as plain mem-lock.
            Some("on") | Some("on-fault") => self.mem_lock = true,
            Some(_) => return Err(at(loc, ErrorKind::MemLockValue)),
        }
        // TODO(config): cpu-pm=on has no VmConfig field.
        Ok(())
    }

    /// `-sandbox`: checked later, with the early options.
    pub(super) fn sandbox_option(&mut self, arg: &str, loc: &str) -> Step {
        let mut store = OptsStore::default();
        let parsed = qemuopts::parse(
            &SANDBOX_OPTS,
            &mut store,
            arg,
            noisily(true),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Err(info(qemuopts::help_text(&SANDBOX_OPTS), 1));
        };
        // TODO(config): no seccomp sandbox; the options are checked and dropped.
        self.sandbox
            .push((loc.to_string(), store.groups[g].clone()));
        Ok(())
    }

    /// `-msg`.
    pub(super) fn msg_option(&mut self, arg: &str, loc: &str) -> Step {
        let mut store = OptsStore::default();
        let parsed = qemuopts::parse(
            &MSG_OPTS,
            &mut store,
            arg,
            noisily(false),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        if let OptsParsed::Help = parsed {
            return Err(info(qemuopts::help_text(&MSG_OPTS), 1));
        }
        // TODO(config): -msg timestamp/guest-name have no VmConfig field.
        Ok(())
    }

    /// Every `-sandbox`, checked with QEMU's early options (`qemu_process_early_options()`).
    pub(super) fn check_sandboxes(&self) -> Step {
        for (loc, opts) in &self.sandbox {
            check_sandbox(opts).map_err(|e| at(loc, e))?;
        }
        Ok(())
    }
}

/// `parse_sandbox()`.
fn check_sandbox(opts: &Opts) -> Result<(), ErrorKind> {
    if !opts.get_bool("enable", false) {
        return Ok(());
    }
    for (name, allowed) in [
        ("obsolete", &["allow", "deny"][..]),
        ("elevateprivileges", &["allow", "deny", "children"][..]),
        ("spawn", &["allow", "deny"][..]),
        ("resourcecontrol", &["allow", "deny"][..]),
    ] {
        if let Some(v) = opts.get(name) {
            if !allowed.contains(&v) {
                return Err(ErrorKind::SandboxInvalidArgument {
                    name: name.to_string(),
                });
            }
        }
    }
    Ok(())
}

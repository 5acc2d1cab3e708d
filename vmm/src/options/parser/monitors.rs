//! Monitors: `-monitor`, `-qmp`, `-qmp-pretty` (`monitor_parse()`: a `compat_monitor<N>`
//! chardev of their own unless given `chardev:<id>`) and `-mon` (QemuOpts), then
//! `mon_init_func()` for each once the chardevs exist.

use crate::config::{ChardevConfig, MonitorConfig, MonitorMode};
use crate::options::chardev;
use crate::options::error::{Diagnostic, ErrorKind};
use crate::options::qemuopts::{self, d, OptsList};

use super::chardev_backends::Frontends;
use super::option_syntax::{Store, BOOL, S};
use super::report::{at, located, Step};
use super::Parser;

static MON_OPTS: OptsList = OptsList {
    name: "mon",
    implied: Some("chardev"),
    merge: false,
    desc: Some(&[d("mode", S), d("chardev", S), d("pretty", BOOL)]),
};

impl Parser {
    /// `-monitor`: a human monitor, unless `none`.
    pub(super) fn monitor_option(&mut self, arg: &str, loc: &str) -> Step {
        self.user_monitor = true;
        if !arg.starts_with("none") {
            self.monitor_parse(arg, MonitorMode::Readline, false, loc)?;
        }
        Ok(())
    }

    /// `-qmp`, `-qmp-pretty` (`pretty`).
    pub(super) fn qmp_option(&mut self, arg: &str, pretty: bool, loc: &str) -> Step {
        self.monitor_parse(arg, MonitorMode::Control, pretty, loc)?;
        self.user_monitor = true;
        Ok(())
    }

    /// `-mon`.
    pub(super) fn mon_option(&mut self, arg: &str, loc: &str) -> Step {
        self.qemuopts(&MON_OPTS, Store::Mon, arg, true, loc)?;
        self.user_monitor = true;
        Ok(())
    }

    /// `monitor_parse()`: `-monitor`, `-qmp`, `-qmp-pretty`.
    pub(super) fn monitor_parse(
        &mut self,
        arg: &str,
        mode: MonitorMode,
        pretty: bool,
        loc: &str,
    ) -> Step {
        let label = if let Some(id) = arg.strip_prefix("chardev:") {
            id.chars().take(31).collect::<String>()
        } else {
            let label = format!("compat_monitor{}", self.monitor_index);
            let opts = match chardev::parse_compat(&label, arg, true) {
                Ok(o) => o,
                Err(kind) => {
                    if let Some(k) = kind {
                        self.diags.push(Diagnostic::error(located(loc), &k));
                    }
                    return Err(at(
                        loc,
                        ErrorKind::MonitorParse {
                            text: arg.to_string(),
                        },
                    ));
                }
            };
            if self.chardev.find(Some(&label)).is_some() {
                self.diags.push(Diagnostic::error(
                    located(loc),
                    &ErrorKind::DuplicateId {
                        id: label.clone(),
                        list: "chardev".into(),
                    },
                ));
                return Err(at(
                    loc,
                    ErrorKind::MonitorParse {
                        text: arg.to_string(),
                    },
                ));
            }
            self.chardev.groups.push(opts);
            self.chardev_locations.push(loc.to_string());
            label
        };
        let index =
            qemuopts::create(&MON_OPTS, &mut self.mon, Some(&label)).map_err(|e| at(loc, e))?;
        let group = &mut self.mon.groups[index];
        group.set(
            "mode",
            match mode {
                MonitorMode::Control => "control",
                MonitorMode::Readline => "readline",
            },
        );
        group.set("chardev", &label);
        if mode == MonitorMode::Control {
            group.set("pretty", if pretty { "on" } else { "off" });
        }
        self.mon_locations.push(loc.to_string());
        self.monitor_index += 1;
        Ok(())
    }

    /// `mon_init_func()` for every `-mon`, `-qmp`, `-monitor`.
    pub(super) fn monitors(
        &self,
        chardevs: &[ChardevConfig],
        frontends: &mut Frontends,
    ) -> Step<Vec<MonitorConfig>> {
        let mut out = Vec::new();
        for (i, opts) in self.mon.groups.iter().enumerate() {
            let loc = self.mon_locations.get(i).cloned().unwrap_or_default();
            let mode = match opts.get("mode") {
                None | Some("readline") => MonitorMode::Readline,
                Some("control") => MonitorMode::Control,
                Some(other) => {
                    return Err(at(
                        &loc,
                        ErrorKind::DoesNotAcceptValue {
                            name: "mode".into(),
                            value: other.to_string(),
                        },
                    ))
                }
            };
            let Some(chardev) = opts.get("chardev") else {
                return Err(at(
                    &loc,
                    ErrorKind::ParameterMissing {
                        name: "chardev".into(),
                    },
                ));
            };
            if !chardevs.iter().any(|c| c.id == chardev) {
                return Err(at(
                    &loc,
                    ErrorKind::ChardevNotFound {
                        id: chardev.to_string(),
                    },
                ));
            }
            let pretty = opts.get_bool("pretty", false);
            if mode == MonitorMode::Readline && pretty {
                return Err(at(&loc, ErrorKind::PrettyWithHmp));
            }
            frontends
                .attach(chardevs, chardev)
                .map_err(|e| at(&loc, e))?;
            out.push(MonitorConfig {
                id: opts.id.clone(),
                chardev: chardev.to_string(),
                mode,
                pretty,
            });
        }
        Ok(out)
    }
}

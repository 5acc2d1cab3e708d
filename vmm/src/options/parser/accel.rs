//! Accelerators: `-accel` (QemuOpts; `help` lists them) and `configure_accelerators()`, which
//! tries those of `-accel`, or of `-machine accel=`, in order and stops at the first that
//! works. KVM is the only accelerator of this VMM; its properties are checked as QEMU's string
//! visitor checks them.
//!
//! TCG: `-machine accel=` filters out names QEMU does not know before trying any, and QEMU
//! knows `tcg`, so `kvm:tcg` is silent when KVM works, as in QEMU. Only when TCG is actually
//! tried does this VMM say what a QEMU built without TCG says: "invalid accelerator tcg".

use crate::options::error::{Diagnostic, ErrorKind};
use crate::options::qemuopts::{self, Opts, OptsList, Parsed as OptsParsed};
use crate::options::{help, strtox, value};

use super::option_syntax::noisily;
use super::report::{at, info, plain, Step};
use super::Parser;

static ACCEL_OPTS: OptsList = OptsList {
    name: "accel",
    implied: Some("accel"),
    merge: false,
    desc: None,
};

impl Parser {
    /// `-accel`.
    pub(super) fn accel_option(&mut self, arg: &str, loc: &str) -> Step {
        let parsed = qemuopts::parse(
            &ACCEL_OPTS,
            &mut self.accel,
            arg,
            noisily(true),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Err(info(help::accel_help(), 0));
        };
        self.accel_locations.push(loc.to_string());
        match self.accel.groups[g].get("accel") {
            None | Some("help") | Some("?") => Err(info(help::accel_help(), 0)),
            Some(_) => Ok(()),
        }
    }

    /// `configure_accelerators()`: KVM is the only accelerator of this VMM.
    pub(super) fn configure_accelerators(&mut self, machine_accel: Option<&str>) -> Step {
        // (location, accel name, properties)
        let mut candidates: Vec<(Option<String>, Opts)> = Vec::new();
        // The last message printed for an accelerator that failed: QEMU exits after the
        // messages if none works, so that one is the error.
        let mut last_failure: Option<(Option<String>, ErrorKind)> = None;
        if self.accel.groups.is_empty() {
            let list = machine_accel.unwrap_or("kvm");
            if !list.is_empty() {
                for name in list.split(':') {
                    if known_to_qemu(name) {
                        let mut o = Opts::default();
                        o.set("accel", name);
                        candidates.push((None, o));
                    } else {
                        let kind = ErrorKind::InvalidAccelerator {
                            name: name.to_string(),
                        };
                        self.diags.push(Diagnostic::error(None, &kind));
                        last_failure = Some((None, kind));
                    }
                }
            }
        } else {
            if machine_accel.is_some() {
                return Err(plain(ErrorKind::AccelOptionsIncompatible));
            }
            for (i, g) in self.accel.groups.iter().enumerate() {
                candidates.push((self.accel_locations.get(i).cloned(), g.clone()));
            }
        }
        for (loc, opts) in candidates {
            let name = opts.get("accel").unwrap_or("");
            if name != "kvm" {
                let kind = ErrorKind::InvalidAccelerator {
                    name: name.to_string(),
                };
                self.diags.push(Diagnostic::error(loc.as_deref(), &kind));
                last_failure = Some((loc, kind));
                continue;
            }
            for (k, v) in &opts.items {
                if k == "accel" {
                    continue;
                }
                check_kvm_accel_property(k, v).map_err(|e| match &loc {
                    Some(l) => at(l, e),
                    None => plain(e),
                })?;
            }
            // kvm_init(): the first thing it needs is /dev/kvm.
            if let Err(reason) = open_kvm() {
                for kind in [
                    ErrorKind::KvmModuleAccess {
                        reason: reason.clone(),
                    },
                    ErrorKind::KvmInitFailed { reason },
                ] {
                    self.diags.push(Diagnostic::error(loc.as_deref(), &kind));
                    last_failure = Some((loc.clone(), kind));
                }
                continue;
            }
            if last_failure.is_some() {
                self.diags.push(Diagnostic::error(
                    None,
                    &ErrorKind::FallingBack { name: "KVM".into() },
                ));
            }
            return Ok(());
        }
        let Some((loc, kind)) = last_failure else {
            return Err(plain(ErrorKind::NoAcceleratorFound));
        };
        self.diags.pop();
        Err(match loc {
            Some(l) => at(&l, kind),
            None => plain(kind),
        })
    }
}

/// Opens and closes /dev/kvm as QEMU's `kvm_init()` opens it; the `strerror()` text if not.
fn open_kvm() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
        .map_err(|e| crate::os_error::strerror(&e))
}

/// The accelerators QEMU 10's x86_64 binary has (`accel_find()` finds them): KVM, and TCG,
/// which this VMM does not have.
fn known_to_qemu(name: &str) -> bool {
    matches!(name, "kvm" | "tcg")
}

/// The `kvm-accel` properties (`-accel kvm,...`), with the string visitor's messages.
fn check_kvm_accel_property(name: &str, value: &str) -> Result<(), ErrorKind> {
    let expects = |what: &str| ErrorKind::ParameterExpects {
        name: name.to_string(),
        expected: what.to_string(),
    };
    let uint = |max: u64, ty: &str| -> Result<(), ErrorKind> {
        let v = strtox::strtou64(value, 0).map_err(|_| expects("uint64"))?;
        if v > max {
            return Err(expects(ty));
        }
        Ok(())
    };
    match name {
        "kernel-irqchip" => match value {
            "on" | "off" | "split" => Ok(()),
            _ => Err(ErrorKind::DoesNotAcceptValue {
                name: name.into(),
                value: value.into(),
            }),
        },
        "notify-vmexit" => match value {
            "run" | "internal-error" | "disable" => Ok(()),
            _ => Err(ErrorKind::DoesNotAcceptValue {
                name: name.into(),
                value: value.into(),
            }),
        },
        "kvm-shadow-mem" => strtox::strtoi64(value, 0)
            .map(|_| ())
            .map_err(|_| expects("int64")),
        "dirty-ring-size" | "notify-window" | "xen-version" => uint(u32::MAX as u64, "uint32_t"),
        "xen-gnttab-max-frames" | "xen-evtchn-max-pirq" => uint(u16::MAX as u64, "uint16_t"),
        "rapl" => value::parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| expects("'on' or 'off'")),
        "device" | "rapl-helper-socket" => Ok(()),
        _ => Err(ErrorKind::PropertyNotFound {
            type_name: "kvm-accel".into(),
            name: name.to_string(),
        }),
    }
}

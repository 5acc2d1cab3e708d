//! Tests of the object tree: resolution, listings, get/set and their errors, the type
//! commands, and a comparison with QEMU 10 when it is installed.

mod balloon;
mod live;
mod props;
mod qemu;
mod resolve;
mod types;

use crate::config::VmConfig;
use crate::options::{parse_args, Command, Outcome};

/// `v` with its members in the order the monitor prints them (the tree keeps QEMU's insertion
/// order; the monitor's writer turns that into QDict order).
pub(super) fn printed_order(v: &serde_json::Value) -> serde_json::Value {
    monitor::json::in_qdict_order(v)
}

/// `v` as compact text in the order the monitor prints its members.
pub(super) fn printed(v: &serde_json::Value) -> String {
    printed_order(v).to_string()
}

/// The configuration for a command line (without argv[0]).
pub(super) fn config(args: &[&str]) -> VmConfig {
    let parsed = parse_args(args.iter().map(|s| s.to_string()));
    match parsed.result {
        Ok(Outcome::Command(Command::Run(c))) => *c,
        other => panic!("{args:?}: {other:?}"),
    }
}

/// The command line the QEMU comparison uses (less its `-qmp`).
pub(super) const BASE: &[&str] = &[
    "-machine",
    "pc,accel=kvm",
    "-cpu",
    "qemu64",
    "-nodefaults",
    "-S",
    "-m",
    "256",
    "-smp",
    "2",
    "-display",
    "none",
];

pub(super) fn names(list: &[qapi::types::ObjectPropertyInfo]) -> Vec<(String, String)> {
    list.iter()
        .map(|p| (p.name.clone(), p.r#type.clone()))
        .collect()
}

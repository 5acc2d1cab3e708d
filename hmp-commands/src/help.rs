//! `help`, `help CMD`, `help info [SUB]` and `info` alone, laid out as QEMU's `help_cmd`.

use std::fmt::Write;

use crate::args::get_str;
use crate::table::{Cmd, COMMANDS};

/// The log items `help log` and a bad `log` argument list.
pub const LOG_ITEMS: &[(&str, &str)] = &[
    (
        "out_asm",
        "show generated host assembly code for each compiled TB",
    ),
    ("in_asm", "show target assembly code for each compiled TB"),
    ("op", "show micro ops for each compiled TB"),
    ("op_opt", "show micro ops after optimization"),
    ("op_ind", "show micro ops before indirect lowering"),
    ("op_plugin", "show micro ops before plugin injection"),
    ("int", "show interrupts/exceptions in short format"),
    ("exec", "show trace before each executed TB (lots of logs)"),
    (
        "cpu",
        "show CPU registers before entering a TB (lots of logs)",
    ),
    ("fpu", "include FPU registers in the 'cpu' logging"),
    ("mmu", "log MMU-related activities"),
    (
        "pcall",
        "x86 only: show protected mode far calls/returns/exceptions",
    ),
    ("cpu_reset", "show CPU state before CPU resets"),
    ("unimp", "log unimplemented functionality"),
    (
        "guest_errors",
        "log when the guest OS does something invalid (eg accessing a\nnon-existent register)",
    ),
    ("page", "dump pages at beginning of user mode emulation"),
    (
        "nochain",
        "do not chain compiled TBs so that \"exec\" and \"cpu\" show\ncomplete traces",
    ),
    ("plugin", "output from TCG plugins"),
    (
        "strace",
        "log every user-mode syscall, its input, and its result",
    ),
    (
        "tid",
        "open a separate log file per thread; filename must contain '%d'",
    ),
    ("vpu", "include VPU registers in the 'cpu' logging"),
    ("invalid_mem", "log invalid memory accesses"),
];

/// The log item list (QEMU's `qemu_print_log_usage` and `help log`).
pub fn log_usage() -> String {
    let mut out = String::from("Log items (comma separated):\n");
    let _ = writeln!(out, "{:<15} remove all logs", "none");
    for (name, help) in LOG_ITEMS {
        let _ = writeln!(out, "{name:<15} {help}");
    }
    out.push_str("trace:PATTERN   enable trace events\n");
    out.push_str("\nUse \"log trace:help\" to get a list of trace events.\n\n");
    out
}

fn dump_one(out: &mut String, cmd: &Cmd, prefix: &[&str]) {
    for p in prefix {
        out.push_str(p);
        out.push(' ');
    }
    let _ = writeln!(out, "{} {} -- {}", cmd.name, cmd.params, cmd.help);
}

/// Every command of `table`, each line prefixed with `prefix` words.
pub fn dump_table(table: &[Cmd], prefix: &[&str]) -> String {
    let mut out = String::new();
    for cmd in table {
        dump_one(&mut out, cmd, prefix);
    }
    out
}

fn dump(out: &mut String, table: &'static [Cmd], args: &[String], index: usize) {
    if index >= args.len() {
        let prefix: Vec<&str> = args[..index].iter().map(String::as_str).collect();
        out.push_str(&dump_table(table, &prefix));
        return;
    }
    for cmd in table {
        if cmd.matches(&args[index]) {
            match cmd.sub_table {
                Some(sub) => dump(out, sub, args, index + 1),
                None => {
                    let prefix: Vec<&str> = args[..index].iter().map(String::as_str).collect();
                    dump_one(out, cmd, &prefix);
                }
            }
            return;
        }
    }
    out.push_str("unknown command: '");
    for (i, a) in args[..=index].iter().enumerate() {
        out.push_str(a);
        out.push_str(if i == index { "'\n" } else { " " });
    }
}

/// `help [name]`.
pub fn help(name: Option<&str>) -> String {
    let mut args = Vec::new();
    if let Some(name) = name {
        if name == "log" {
            return log_usage();
        }
        // QEMU's parse_cmdline: words or quoted strings, at most 64.
        let b = name.as_bytes();
        let mut p = 0;
        loop {
            while p < b.len() && crate::args::is_space(b[p]) {
                p += 1;
            }
            if p >= b.len() {
                break;
            }
            if args.len() >= 64 {
                return String::new();
            }
            match get_str(b, &mut p) {
                Some(a) => args.push(a),
                None => return String::new(),
            }
        }
    }
    let mut out = String::new();
    dump(&mut out, COMMANDS, &args, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command() {
        assert_eq!(help(Some("c")), "cont|c  -- let the vCPUs run again\n");
        assert!(help(Some("x")).starts_with("x /fmt addr -- "));
        assert!(help(Some("info status")).starts_with("info status  -- "));
        assert!(help(Some("info registers")).starts_with("info registers [-a|vcpu] -- "));
        assert_eq!(help(Some("nosuch")), "unknown command: 'nosuch'\n");
        assert_eq!(help(Some("nosuch extra")), "unknown command: 'nosuch'\n");
        assert_eq!(
            help(Some("info nosuch")),
            "unknown command: 'info nosuch'\n"
        );
    }

    #[test]
    fn everything() {
        let all = help(None);
        assert!(all.starts_with("announce_self [interfaces] [id] -- "));
        assert!(all.contains("\nstopcapture capture index -- "));
        assert!(all.contains("\nstop|s  -- "));
        let info = help(Some("info"));
        assert!(info.starts_with("info balloon  -- "));
        assert!(info.ends_with(" -- show the VNC server state\n"));
        assert!(log_usage()
            .starts_with("Log items (comma separated):\nnone            remove all logs\n"));
    }
}

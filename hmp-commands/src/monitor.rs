//! Running one HMP command line as QEMU's `handle_hmp_command` does: find the command
//! (and `info` subcommand), parse its arguments, run it, and collect its output (lines end
//! in `\n`; the monitor turns them into `\r\n`).

use std::fmt::Write;

use crate::args::{self, is_space, Args, FmtDefaults};
use crate::expr;
use crate::handlers;
use crate::help;
use crate::table::{self, Cmd};
use crate::target::HmpTarget;

/// State the HMP monitors share in QEMU: the sticky `/fmt` defaults and a few settings.
#[derive(Debug, Default, Clone)]
pub struct HmpState {
    pub fmt: FmtDefaults,
    pub sync_profile: bool,
}

/// QEMU's `get_command_name`: the word at the start of `s` (ending at a space or `/`);
/// returns (name, index just past it), or None if `s` is blank.
fn command_name(s: &str, from: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    let mut p = from;
    while p < b.len() && is_space(b[p]) {
        p += 1;
    }
    if p >= b.len() {
        return None;
    }
    let start = p;
    while p < b.len() && b[p] != b'/' && !is_space(b[p]) {
        p += 1;
    }
    // Like QEMU's 256-byte buffer, cut where a character starts (the name is then unknown
    // either way).
    let mut name_end = p.min(start + 255);
    while !s.is_char_boundary(name_end) {
        name_end -= 1;
    }
    Some((&s[start..name_end], p))
}

/// Info subcommands that exist in QEMU's table but have no handler in a KVM build.
const UNAVAILABLE_INFO: &[&str] = &["usbhost"];

/// Runs `line`; returns the output text.
pub fn run(target: &mut dyn HmpTarget, state: &mut HmpState, line: &str) -> String {
    let Some((name, mut p)) = command_name(line, 0) else {
        return String::new();
    };
    let Some(mut cmd) = table::find(table::COMMANDS, name) else {
        return format!("unknown command: '{}'\n", &line[..p]);
    };
    p = args::skip_spaces(line.as_bytes(), p);
    let mut info_sub = false;
    if let Some(sub) = cmd.sub_table {
        if p < line.len() {
            let Some((sub_name, q)) = command_name(line, p) else {
                return String::new();
            };
            let Some(sub_cmd) = table::find(sub, sub_name) else {
                return format!("unknown command: '{}'\n", &line[..q]);
            };
            cmd = sub_cmd;
            info_sub = true;
            p = args::skip_spaces(line.as_bytes(), q);
            if UNAVAILABLE_INFO.contains(&cmd.primary()) {
                return format!("Command \"{}\" is not available.\n", &line[..q]);
            }
        }
    }
    let cpu = target.current_cpu();
    let mut regs_cache = None;
    let parsed = {
        let mut lookup = |reg: &str| {
            if regs_cache.is_none() {
                regs_cache = target.cpu_regs(cpu);
            }
            regs_cache.as_ref().and_then(|r| expr::x86_register(r, reg))
        };
        args::parse(
            cmd.name,
            cmd.args_type,
            &line[p..],
            &mut state.fmt,
            &mut lookup,
        )
    };
    let args = match parsed {
        Ok(a) => a,
        Err(msg) => {
            let mut end = p;
            while end > 0 && is_space(line.as_bytes()[end - 1]) {
                end -= 1;
            }
            return format!("{msg}Try \"help {}\" for more information\n", &line[..end]);
        }
    };
    if info_sub {
        handlers::info(target, cmd, &args)
    } else {
        dispatch(target, state, cmd, &args)
    }
}

fn dispatch(target: &mut dyn HmpTarget, state: &mut HmpState, cmd: &Cmd, args: &Args) -> String {
    match cmd.primary() {
        "help" => help::help(args.str("name")),
        "info" => help::dump_table(table::INFO_COMMANDS, &["info"]),
        _ => handlers::command(target, state, cmd, args),
    }
}

/// Appends `Error: desc` for a failed QMP-style operation (QEMU's `hmp_handle_error`).
pub fn handle_error(out: &mut String, r: Result<(), String>) {
    if let Err(desc) = r {
        let _ = writeln!(out, "Error: {desc}");
    }
}

pub(crate) fn unit(r: Result<(), String>) -> String {
    let mut out = String::new();
    handle_error(&mut out, r);
    out
}

pub(crate) fn dump_bytes_reader(
    target: &mut dyn HmpTarget,
    physical: bool,
    cpu: usize,
) -> impl FnMut(u64, &mut [u8]) -> bool + '_ {
    move |addr: u64, buf: &mut [u8]| {
        if physical {
            target.read_phys(addr, buf)
        } else {
            read_virt(target, cpu, addr, buf)
        }
    }
}

/// Reads guest-virtual memory a page at a time (QEMU's `cpu_memory_rw_debug`).
pub fn read_virt(target: &mut dyn HmpTarget, cpu: usize, addr: u64, buf: &mut [u8]) -> bool {
    let mut done = 0usize;
    while done < buf.len() {
        let va = addr.wrapping_add(done as u64);
        let len = ((0x1000 - (va & 0xfff)) as usize).min(buf.len() - done);
        let Some(pa) = target.translate(cpu, va) else {
            return false;
        };
        if !target.read_phys(pa, &mut buf[done..done + len]) {
            return false;
        }
        done += len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::command_name;

    #[test]
    fn a_long_name_is_cut_at_a_character_boundary() {
        // 128 two-byte characters: byte 255 falls inside the last one.
        let line = format!("{} x", "\u{e9}".repeat(128));
        let (name, end) = command_name(&line, 0).expect("a name");
        assert_eq!(name, "\u{e9}".repeat(127));
        assert_eq!(end, 256);
        let ascii = "a".repeat(300);
        assert_eq!(command_name(&ascii, 0), Some((&ascii[..255], 300)));
    }
}

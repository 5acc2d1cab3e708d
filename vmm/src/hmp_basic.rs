//! HMP commands available through `human-monitor-command` and HMP sockets, sharing the QMP
//! commands' operations. Output follows QEMU's formats.

use monitor::vm::Effects;
use qapi::Command;

use crate::qmp_commands;
use crate::run_state::RunState;
use crate::vm_backend::VmBackend;

/// Runs one HMP command line; returns its output (lines end in `\n`).
pub fn run(vm: &mut VmBackend, line: &str, fx: &mut Effects) -> String {
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else {
        return String::new();
    };
    let arg = words.next();
    let result = match (cmd, arg) {
        ("info", Some("status")) => return info_status(vm),
        ("info", Some("name")) => {
            return match &vm.machine.config().name.guest {
                Some(n) => format!("{n}\n"),
                None => String::new(),
            }
        }
        ("info", Some("kvm")) => return "kvm support: enabled\n".into(),
        ("info", Some("balloon")) => {
            return match vm.balloon_actual() {
                Ok(actual) => format!("balloon: actual={}\n", actual >> 20),
                Err(e) => format!("Error: {}\n", e.desc),
            }
        }
        ("balloon", Some(mib)) => match mib.parse::<i64>() {
            Ok(mib) => vm
                .balloon_target(mib.saturating_mul(1 << 20))
                .map(|()| serde_json::Value::Null),
            Err(_) => return format!("Error: invalid size '{mib}'\n"),
        },
        ("info", Some("version")) => return "10.0.2 (vmm 0.1.0)\n".into(),
        ("stop" | "s", _) => qmp_commands::execute(vm, Command::Stop, fx),
        ("cont" | "c", _) => qmp_commands::execute(vm, Command::Cont, fx),
        ("system_reset", _) => qmp_commands::execute(vm, Command::SystemReset, fx),
        ("system_powerdown", _) => qmp_commands::execute(vm, Command::SystemPowerdown, fx),
        ("quit" | "q", _) => qmp_commands::execute(vm, Command::Quit, fx),
        _ => return format!("unknown command: '{}'\n", line.trim()),
    };
    match result {
        Ok(_) => String::new(),
        Err(e) => format!("Error: {}\n", e.desc),
    }
}

fn info_status(vm: &VmBackend) -> String {
    let state = vm.machine.run_state();
    match state {
        RunState::Running => "VM status: running\n".into(),
        RunState::Paused => "VM status: paused\n".into(),
        other => format!("VM status: paused ({})\n", other.name()),
    }
}

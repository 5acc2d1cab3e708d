//! `vmm`: boots a KVM guest from a QEMU command line.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use monitor::signals::SignalFd;
use monitor::terminal;
use vmm::config::{ChardevBackend, VmConfig};
use vmm::machine_events::MachineEvents;
use vmm::options::{self, Command};
use vmm::startup::{self, MachineParts, StartupError};
use vmm::{daemon, serial_backends, BUILTIN_GUEST};

fn fail(message: impl std::fmt::Display) -> ExitCode {
    terminal::restore();
    eprintln!("vmm: {message}");
    ExitCode::FAILURE
}

fn uses_stdio(config: &VmConfig) -> bool {
    config
        .chardevs
        .iter()
        .any(|c| c.backend == ChardevBackend::Stdio)
}

fn main() -> ExitCode {
    let config = match options::parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", options::help_text());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            print!("{}", options::version_text());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Info { text, exit_code }) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            return ExitCode::from(exit_code);
        }
        Err(e) => return fail(e),
    };
    run(*config)
}

fn run(config: VmConfig) -> ExitCode {
    // Before any thread exists, so every thread inherits the blocked termination signals.
    let signals = match SignalFd::new() {
        Ok(s) => s,
        Err(e) => return fail(format!("signalfd: {e}")),
    };
    if let Err(e) = vmm::vcpu::kick::install_kick_handler() {
        return fail(format!("cannot install the vCPU kick handler: {e}"));
    }
    let daemon = if config.daemonize {
        match daemon::daemonize() {
            Ok(d) => Some(d),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    if let Some(name) = &config.name.process {
        daemon::set_process_name(name);
    }
    if config.mem_lock {
        if let Err(e) = vmm::memory::lock_all_memory() {
            return fail(e);
        }
    }
    let _pidfile = match &config.pidfile {
        Some(path) => match daemon::PidFile::create(path) {
            Ok(p) => Some(p),
            Err(e) => return fail(e),
        },
        None => None,
    };

    let mut backends = match serial_backends::open(&config) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let (events, events_rx) = match MachineEvents::new() {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    if let Some(port) = backends.stdin_port {
        // With a monitor on the terminal, Ctrl-C belongs to the guest (QEMU's mux).
        terminal::set_raw(!port.mux);
    } else if uses_stdio(&config) {
        terminal::set_raw(true);
    }
    let parts = MachineParts {
        config: &config,
        builtin_kernel: BUILTIN_GUEST,
        serial_outputs: std::mem::take(&mut backends.outputs),
        events: Arc::new(events),
        events_rx,
    };
    let loop_config = vmm::monitors::loop_config(&config, backends.stdin_port, backends.sockets);
    let (mut backend, event_loop) = match startup::start(parts, loop_config, signals) {
        Ok(started) => started,
        // QEMU reports the signal and exits successfully.
        Err(StartupError::Terminated(report)) => {
            terminal::restore();
            eprintln!("vmm: {report}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(e),
    };
    backend.machine.start();
    if let Some(d) = daemon {
        // Start-up is complete (monitor sockets exist): the parent may exit 0 now.
        d.ready();
    }
    let status = event_loop.run(&mut backend);
    terminal::restore();
    let _ = std::io::stdout().flush();
    ExitCode::from(status as u8)
}

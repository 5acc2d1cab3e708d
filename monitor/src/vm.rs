//! What the monitors need from the virtual machine: the VMM implements [`Vm`].

use std::os::fd::RawFd;

use qapi::{Command, QapiError};
use serde_json::Value;

/// Side effects of running a command or handling a machine event.
#[derive(Default)]
pub struct Effects {
    /// Events raised, in order; sent to every negotiated QMP monitor before the reply of the
    /// command that raised them.
    pub events: Vec<qapi::Event>,
    /// Set to end the process with this status once replies are flushed.
    pub exit: Option<i32>,
}

/// Why the host (not the guest) asked the VMM to quit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostQuit {
    /// A termination signal.
    Signal,
    /// Ctrl-A x on the terminal mux.
    Ui,
}

pub trait Vm {
    /// Runs a checked QMP command that needs the machine.
    fn execute(&mut self, command: Command, effects: &mut Effects) -> Result<Value, QapiError>;

    /// Runs an HMP command line (`human-monitor-command`); returns its output text with QEMU's
    /// `\r\n` line ends, as the human monitor sends it.
    fn hmp(
        &mut self,
        command_line: &str,
        cpu_index: Option<i64>,
        effects: &mut Effects,
    ) -> Result<String, QapiError>;

    /// Tab-completion candidates for an HMP line (whole words), empty if none.
    fn hmp_complete(&mut self, line_before_cursor: &str) -> Vec<String> {
        let _ = line_before_cursor;
        Vec::new()
    }

    /// The descriptor that becomes readable when the machine has events to report.
    fn machine_event_fd(&self) -> RawFd;

    /// Handles what the machine reported (guest reset or power-off, internal errors).
    fn handle_machine_events(&mut self, effects: &mut Effects);

    /// The host asks to quit (signal, Ctrl-A x): QEMU's shutdown with a host cause.
    fn host_quit(&mut self, why: HostQuit, effects: &mut Effects);

    /// Terminal input for serial port `port`; returns how many bytes it took.
    fn serial_input(&mut self, port: usize, bytes: &[u8]) -> usize;

    /// A break condition on serial port `port`'s line (the mux's Ctrl-A b).
    fn serial_break(&mut self, port: usize) {
        let _ = port;
    }

    /// A descriptor signalled when serial port `port` can take more input.
    fn serial_space_fd(&self, port: usize) -> Option<RawFd>;

    /// Stops the vCPUs before the process exits.
    fn shutdown(&mut self);
}

//! What the monitors need from the virtual machine: the VMM implements [`Vm`].

use std::any::Any;
use std::os::fd::{OwnedFd, RawFd};

use qapi::{Command, QapiError};
use serde_json::Value;

/// How a command answers: now, or after blocking work (file I/O) done off the main thread.
pub enum Reply {
    Now(Result<Value, QapiError>),
    /// The loop runs the job on a worker thread and replies when it ends; the monitor's
    /// in-band queue waits meanwhile, out-of-band requests and other monitors do not.
    Later(Job),
}

impl Reply {
    /// Runs any job here, blocking (HMP, which QEMU blocks too), and gives the result.
    pub fn wait(self, vm: &mut dyn Vm, effects: &mut Effects) -> Result<Value, QapiError> {
        let mut reply = self;
        loop {
            match reply {
                Reply::Now(result) => return result,
                Reply::Later(job) => match job.run() {
                    JobOutput::Done(result) => return result,
                    JobOutput::Step(state) => reply = vm.job_step(state, effects),
                },
            }
        }
    }
}

impl From<Result<Value, QapiError>> for Reply {
    fn from(result: Result<Value, QapiError>) -> Self {
        Reply::Now(result)
    }
}

/// A command's blocking part, for a worker thread. It must not touch the machine's
/// main-thread state: what it needs is captured when the job is made.
pub struct Job(Box<dyn FnOnce() -> JobOutput + Send>);

impl Job {
    pub fn new(work: impl FnOnce() -> JobOutput + Send + 'static) -> Job {
        Job(Box::new(work))
    }

    /// Does the work (on whatever thread calls it).
    pub fn run(self) -> JobOutput {
        (self.0)()
    }
}

/// What a job's work ended with.
pub enum JobOutput {
    /// The command's result: the reply.
    Done(Result<Value, QapiError>),
    /// The command goes on on the main thread: this goes to [`Vm::job_step`], whose
    /// [`Reply`] answers it (or runs another job). The type is the VM's own.
    Step(Box<dyn Any + Send>),
}

/// Side effects of running a command or handling a machine event.
#[derive(Default)]
pub struct Effects {
    /// Events raised, in order; sent to every negotiated QMP monitor before the reply of the
    /// command that raised them.
    pub events: Vec<qapi::Event>,
    /// Set to end the process with this status once replies are flushed.
    pub exit: Option<i32>,
}

/// The descriptors of the monitor a command came from (`getfd`), for `fd:NAME` arguments.
pub trait FdSource {
    /// Takes the descriptor named `name` (it is no longer the monitor's).
    fn take_fd(&mut self, name: &str) -> Option<OwnedFd>;
}

/// A monitor without descriptors (HMP).
pub struct NoFds;

impl FdSource for NoFds {
    fn take_fd(&mut self, _name: &str) -> Option<OwnedFd> {
        None
    }
}

/// What HMP commands need from the monitors' side (the live state `info chardev` shows).
#[derive(Debug, Clone, Default)]
pub struct HmpContext {
    /// As `query-chardev` lists them.
    pub chardevs: Vec<qapi::types::ChardevInfo>,
    /// `info history`: the session's readline history (`0: 'line'\n` …); empty for
    /// `human-monitor-command`, which QEMU runs on a monitor without a readline.
    pub history: String,
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
    /// Runs a checked QMP command that needs the machine; `fds` are its monitor's.
    fn execute(&mut self, command: Command, fds: &mut dyn FdSource, effects: &mut Effects)
        -> Reply;

    /// Continues a command whose job ended with [`JobOutput::Step`], on the main thread. It
    /// runs even if the client that sent the command has gone (the result is then dropped).
    fn job_step(&mut self, state: Box<dyn Any + Send>, effects: &mut Effects) -> Reply {
        let _ = (state, effects);
        Reply::Now(Err(QapiError::generic("unexpected job state")))
    }

    /// Runs an HMP command line (`human-monitor-command`); returns its output text with QEMU's
    /// `\r\n` line ends, as the human monitor sends it.
    fn hmp(
        &mut self,
        command_line: &str,
        cpu_index: Option<i64>,
        context: &HmpContext,
        effects: &mut Effects,
    ) -> Result<String, QapiError>;

    /// Tab-completion candidates for an HMP line (whole words), empty if none.
    fn hmp_complete(&mut self, line_before_cursor: &str) -> Vec<String> {
        let _ = line_before_cursor;
        Vec::new()
    }

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

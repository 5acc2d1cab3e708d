//! Start-up: the machine is built on a thread of its own while the main thread opens the
//! monitors' chardevs, greets the clients that connect meanwhile and answers their QMP
//! negotiation. Building the machine costs milliseconds of KVM set-up, often more on a loaded
//! host (memory-slot and irqchip ioctls wait for SRCU grace periods, vCPU threads wait to be
//! scheduled); a client need not wait for that to be greeted. Its commands for the machine
//! wait for it (see `EventLoop::greet_until`).

use std::os::fd::AsRawFd;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use monitor::event_loop::{EventLoop, LoopConfig, LoopError};
use monitor::signals::SignalFd;
use thiserror::Error;
use vmm_sys_util::eventfd::EventFd;

use crate::config::VmConfig;
use crate::machine::{Machine, MachineError, SerialOutput};
use crate::machine_events::{MachineEvent, MachineEvents};
use crate::vm_backend::VmBackend;

#[derive(Debug, Error)]
pub enum StartupError {
    /// A termination signal arrived while waiting for a `wait=on` client (QEMU exits 0).
    #[error("{0}")]
    Terminated(String),
    #[error("{0}")]
    Loop(LoopError),
    #[error("{0}")]
    Machine(#[from] MachineError),
    #[error("cannot start the machine thread: {0}")]
    Thread(std::io::Error),
}

impl From<LoopError> for StartupError {
    fn from(e: LoopError) -> Self {
        match e {
            LoopError::Terminated(report) => StartupError::Terminated(report),
            other => StartupError::Loop(other),
        }
    }
}

/// Signals `ready` when dropped; a failed write only means nobody waits.
struct WakeOnDrop<'a>(&'a EventFd);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.write(1);
    }
}

/// What the machine needs that main made before it.
pub struct MachineParts<'a> {
    pub config: &'a VmConfig,
    pub builtin_kernel: &'static [u8],
    pub serial_outputs: Vec<Option<SerialOutput>>,
    pub events: Arc<MachineEvents>,
    pub events_rx: Receiver<MachineEvent>,
}

/// Opens the monitors, then builds the machine while serving them; the event loop is ready
/// to run on the machine. As in QEMU, the chardevs come first: their errors end start-up
/// before any machine is built, and `wait=on` blocks before the machine is built (QEMU greets
/// such a client before it builds the board, and so do we). Binding the sockets before the
/// machine thread exists also keeps that thread from delaying them.
pub fn start(
    parts: MachineParts<'_>,
    loop_config: LoopConfig,
    signals: SignalFd,
) -> Result<(VmBackend, EventLoop), StartupError> {
    let ready =
        EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC).map_err(StartupError::Thread)?;
    // Held here too, so the fd the loop polls outlives a failed build's own reference.
    let events = parts.events.clone();
    let mut event_loop = EventLoop::open(loop_config, events.wake_fd().as_raw_fd(), signals)?;
    let backend = std::thread::scope(|scope| {
        let ready = &ready;
        let builder = std::thread::Builder::new()
            .name("machine-init".into())
            .spawn_scoped(scope, move || {
                // Wakes greet_until however the build ends, a panic included (then join
                // reports it).
                let _wake = WakeOnDrop(ready);
                build(parts)
            })
            .map_err(StartupError::Thread)?;
        if let Err(e) = event_loop.greet_until(ready.as_raw_fd()) {
            // Only the early service is lost: run() greets these clients.
            eprintln!("vmm: monitor: {e}");
        }
        builder.join().unwrap_or_else(|_| {
            Err(StartupError::Thread(std::io::Error::other(
                "the machine thread panicked",
            )))
        })
    })?;
    event_loop
        .attach_machine(&backend)
        .map_err(|e| StartupError::Loop(e.into()))?;
    drop(events);
    Ok((backend, event_loop))
}

fn build(parts: MachineParts<'_>) -> Result<VmBackend, StartupError> {
    let machine = Machine::new(
        parts.config,
        parts.builtin_kernel,
        parts.serial_outputs,
        parts.events.clone(),
    )?;
    Ok(VmBackend::new(
        machine,
        parts.events_rx,
        parts.events.clone(),
    ))
}

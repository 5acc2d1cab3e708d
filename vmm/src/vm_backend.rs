//! The machine behind the monitors: QMP commands and machine events against the real VM, with
//! QEMU's run-state rules (what `stop`, `cont`, resets and shutdowns do, and which events they
//! raise).

use std::any::Any;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use devices::bus::lock;
use devices::MachineRequest;
use monitor::vm::{Effects, FdSource, HmpContext, HostQuit, Reply, Vm};
use qapi::types::{ResetEventData, ShutdownCause as QShutdownCause, ShutdownEventData};
use qapi::{Command, ErrorClass, Event, QapiError};
use serde_json::{json, Value};

use crate::machine::Machine;
use crate::machine_events::{MachineEvent, MachineEvents};
use crate::qmp_commands;
use crate::run_state::{RunState, ShutdownCause};
use crate::vcpu::VcpuEvent;

pub struct VmBackend {
    pub machine: Machine,
    events: Receiver<MachineEvent>,
    /// The sending side, for threads the backend starts (a detached dump).
    event_sender: Arc<MachineEvents>,
    /// The dump under way, if any.
    pub dump: Option<crate::dump::InFlight>,
    /// The vCPU `human-monitor-command` and HMP commands default to (`cpu N`).
    pub current_cpu: usize,
    /// The QOM tree the qom-* commands see.
    pub qom: crate::qom::ObjectTree,
}

fn qcause(c: ShutdownCause) -> QShutdownCause {
    match c {
        ShutdownCause::HostError => QShutdownCause::HostError,
        ShutdownCause::HostQmpQuit => QShutdownCause::HostQmpQuit,
        ShutdownCause::HostQmpSystemReset => QShutdownCause::HostQmpSystemReset,
        ShutdownCause::HostSignal => QShutdownCause::HostSignal,
        ShutdownCause::HostUi => QShutdownCause::HostUi,
        ShutdownCause::GuestShutdown => QShutdownCause::GuestShutdown,
        ShutdownCause::GuestReset => QShutdownCause::GuestReset,
        ShutdownCause::GuestPanic => QShutdownCause::GuestPanic,
    }
}

impl VmBackend {
    pub fn new(
        machine: Machine,
        events: Receiver<MachineEvent>,
        event_sender: Arc<MachineEvents>,
    ) -> Self {
        let mut qom = crate::qom::ObjectTree::new(machine.config());
        if let Some(b) = machine.balloon() {
            let props = machine
                .config()
                .devices
                .iter()
                .find(|d| d.driver == "virtio-balloon-pci")
                .map(|d| d.props.clone())
                .unwrap_or_default();
            let qom_config = crate::qom::BalloonQomConfig::new(&b.config, &props);
            if let Err(e) = crate::qom::add_balloon_objects(
                &mut qom,
                b.id.as_deref(),
                b.devfn,
                qom_config,
                b.handle.clone(),
            ) {
                eprintln!("vmm: balloon object: {e}");
            }
        }
        VmBackend {
            qom,
            machine,
            events,
            event_sender,
            dump: None,
            current_cpu: 0,
        }
    }

    /// The machine-event channel, for a thread that reports back to the main loop.
    pub fn machine_events(&self) -> Arc<MachineEvents> {
        self.event_sender.clone()
    }

    /// QEMU's `vm_stop`: a STOP event only if the VM was running.
    pub fn vm_stop(&mut self, state: RunState, fx: &mut Effects) {
        if self.machine.stop(state) {
            fx.events.push(Event::Stop);
        }
    }

    /// QEMU's `vm_start`: a RESUME event only if the VM was not running.
    pub fn vm_start(&mut self, fx: &mut Effects) {
        if self.machine.resume() {
            fx.events.push(Event::Resume);
        }
    }

    /// QEMU's shutdown request: SHUTDOWN, then exit, or stop in `shutdown` under
    /// `-no-shutdown` (host quits always exit).
    pub fn shutdown_request(&mut self, cause: ShutdownCause, fx: &mut Effects) {
        fx.events.push(Event::Shutdown(ShutdownEventData {
            guest: cause.is_guest(),
            reason: qcause(cause),
        }));
        let host_quit = matches!(
            cause,
            ShutdownCause::HostSignal | ShutdownCause::HostQmpQuit | ShutdownCause::HostUi
        );
        if self.machine.config().no_shutdown && !host_quit {
            self.vm_stop(RunState::Shutdown, fx);
        } else {
            fx.exit = Some(0);
        }
    }

    /// QEMU's reset request: under `-no-reboot` a shutdown; else reset, RESET, and a VM that
    /// was not running comes back in `prelaunch`.
    pub fn reset_request(&mut self, cause: ShutdownCause, fx: &mut Effects) {
        if self.machine.config().no_reboot {
            self.shutdown_request(cause, fx);
            return;
        }
        if let Err(e) = self.machine.reset() {
            eprintln!("vmm: reset failed: {e}");
            self.vm_stop(RunState::InternalError, fx);
            return;
        }
        fx.events.push(Event::Reset(ResetEventData {
            guest: cause.is_guest(),
            reason: qcause(cause),
        }));
        if !self.machine.run_state().is_running() {
            self.machine.set_run_state(RunState::Prelaunch);
        }
    }
}

impl VmBackend {
    /// Guest RAM minus the balloon, in bytes (QEMU's `actual`).
    pub fn balloon_actual_bytes(&self, balloon_pages: u32) -> i64 {
        self.machine.ram_size() as i64 - (i64::from(balloon_pages) << 12)
    }

    /// QMP `balloon`: the target guest size in bytes, clamped to RAM.
    pub fn balloon_target(&mut self, value: i64) -> Result<(), QapiError> {
        let balloon = self.machine.balloon().ok_or_else(no_balloon)?;
        if value <= 0 {
            return Err(QapiError::generic("Parameter 'value' expects a size"));
        }
        let ram = self.machine.ram_size();
        let target = (value as u64).min(ram);
        let pages = u32::try_from((ram - target) >> 12).unwrap_or(u32::MAX);
        balloon.handle.set_target_pages(pages);
        Ok(())
    }

    /// The balloon's QOM path.
    pub fn balloon_qom_path(&self, b: &crate::pci_devices::BalloonDevice) -> String {
        match &b.id {
            Some(id) => format!("/machine/peripheral/{id}"),
            None => "/machine/peripheral-anon/device[0]".to_string(),
        }
    }

    /// QMP `query-balloon`'s `actual`.
    pub fn balloon_actual(&self) -> Result<i64, QapiError> {
        let balloon = self.machine.balloon().ok_or_else(no_balloon)?;
        Ok(self.balloon_actual_bytes(balloon.handle.actual_pages()))
    }
}

impl Vm for VmBackend {
    fn execute(&mut self, command: Command, fds: &mut dyn FdSource, fx: &mut Effects) -> Reply {
        qmp_commands::execute(self, command, fds, fx)
    }

    fn job_step(&mut self, state: Box<dyn Any + Send>, fx: &mut Effects) -> Reply {
        match state.downcast::<crate::dump::Step>() {
            Ok(step) => crate::dump::step(self, *step, fx),
            Err(_) => Reply::Now(Err(QapiError::generic("unexpected job state"))),
        }
    }

    fn hmp(
        &mut self,
        command_line: &str,
        cpu_index: Option<i64>,
        context: &HmpContext,
        fx: &mut Effects,
    ) -> Result<String, QapiError> {
        let cpu = match cpu_index {
            None => None,
            Some(cpu) if cpu >= 0 && (cpu as usize) < self.machine.vcpu_count() => {
                Some(cpu as usize)
            }
            Some(_) => {
                return Err(QapiError::generic(
                    "Parameter 'cpu-index' expects a CPU number",
                ))
            }
        };
        Ok(crate::hmp::run(self, command_line, cpu, context, fx))
    }

    fn hmp_complete(&mut self, line_before_cursor: &str) -> Vec<String> {
        crate::hmp_complete::complete(line_before_cursor)
    }

    fn handle_machine_events(&mut self, fx: &mut Effects) {
        while let Ok(event) = self.events.try_recv() {
            if fx.exit.is_some() {
                return;
            }
            match event {
                MachineEvent::Vcpu(VcpuEvent::TripleFault { index }) => {
                    eprintln!("vmm: CPU {index} triple fault: the guest requested a reset");
                    self.reset_request(ShutdownCause::GuestReset, fx);
                }
                MachineEvent::Vcpu(VcpuEvent::SystemReset)
                | MachineEvent::Device(MachineRequest::Reset) => {
                    self.reset_request(ShutdownCause::GuestReset, fx)
                }
                MachineEvent::Vcpu(VcpuEvent::SystemShutdown)
                | MachineEvent::Device(MachineRequest::PowerOff) => {
                    self.shutdown_request(ShutdownCause::GuestShutdown, fx)
                }
                MachineEvent::BalloonActual(pages) => {
                    fx.events
                        .push(Event::BalloonChange(qapi::types::BalloonChangeEventData {
                            actual: self.balloon_actual_bytes(pages),
                        }));
                }
                MachineEvent::DumpDone(error) => crate::dump::finish(self, error, fx),
                MachineEvent::Vcpu(VcpuEvent::InternalError { report, .. }) => {
                    eprint!("{report}");
                    if self.machine.run_state() != RunState::InternalError {
                        self.vm_stop(RunState::InternalError, fx);
                        // Stopped from a non-running state, vm_stop raised nothing; QEMU's
                        // state still becomes internal-error.
                        self.machine.set_run_state(RunState::InternalError);
                    }
                }
            }
        }
    }

    fn host_quit(&mut self, why: HostQuit, fx: &mut Effects) {
        let cause = match why {
            HostQuit::Signal => ShutdownCause::HostSignal,
            HostQuit::Ui => ShutdownCause::HostUi,
        };
        self.shutdown_request(cause, fx);
    }

    fn serial_input(&mut self, port: usize, bytes: &[u8]) -> usize {
        match self.machine.serial(port) {
            Some(serial) => lock(serial).enqueue_input(bytes),
            None => bytes.len(),
        }
    }

    fn serial_break(&mut self, port: usize) {
        if let Some(serial) = self.machine.serial(port) {
            lock(serial).send_break();
        }
    }

    fn serial_space_fd(&self, port: usize) -> Option<RawFd> {
        self.machine.serial_input_space(port).map(|e| e.as_raw_fd())
    }

    fn shutdown(&mut self) {
        self.machine.shutdown();
    }
}

/// DeviceNotActive for the balloon commands when no balloon device exists.
pub fn no_balloon() -> QapiError {
    QapiError {
        class: ErrorClass::DeviceNotActive,
        desc: "No balloon device has been activated".into(),
    }
}

/// `{}`
pub fn empty() -> Value {
    json!({})
}

/// Serializes a generated QAPI value.
pub fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

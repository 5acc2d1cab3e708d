//! The channel through which vCPU threads and devices tell the main loop what happened.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use devices::{MachineRequest, MachineRequestSink};
use vmm_sys_util::eventfd::EventFd;

use crate::vcpu::{VcpuEvent, VcpuEventSink};

#[derive(Debug, Clone)]
pub enum MachineEvent {
    Vcpu(VcpuEvent),
    Device(MachineRequest),
    /// The balloon driver reported a new `actual` (pages in the balloon).
    BalloonActual(u32),
    /// A detached dump's thread ended, with QEMU's error text if it failed.
    DumpDone(Option<String>),
}

/// Sends events and wakes the main loop through an eventfd.
pub struct MachineEvents {
    tx: Mutex<Sender<MachineEvent>>,
    wake: EventFd,
}

impl MachineEvents {
    pub fn new() -> std::io::Result<(Self, Receiver<MachineEvent>)> {
        let (tx, rx) = channel();
        let wake = EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)?;
        Ok((
            MachineEvents {
                tx: Mutex::new(tx),
                wake,
            },
            rx,
        ))
    }

    /// The eventfd the main loop polls.
    pub fn wake_fd(&self) -> &EventFd {
        &self.wake
    }

    fn send(&self, event: MachineEvent) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        // The receiver lives as long as the main loop; after it is gone nobody cares.
        let _ = tx.send(event);
        let _ = self.wake.write(1);
    }
}

impl MachineEvents {
    /// The balloon's `actual` changed (called on a vCPU thread).
    pub fn balloon_actual(&self, pages: u32) {
        self.send(MachineEvent::BalloonActual(pages));
    }

    /// A detached dump ended (called on its thread).
    pub fn dump_done(&self, error: Option<String>) {
        self.send(MachineEvent::DumpDone(error));
    }
}

impl VcpuEventSink for MachineEvents {
    fn vcpu_event(&self, event: VcpuEvent) {
        self.send(MachineEvent::Vcpu(event));
    }
}

impl MachineRequestSink for MachineEvents {
    fn request(&self, request: MachineRequest) {
        self.send(MachineEvent::Device(request));
    }
}

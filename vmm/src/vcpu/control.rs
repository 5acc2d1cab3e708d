//! The protocol between the machine and one vCPU thread: the machine states what it wants
//! (run, pause, exit) and queues work to run on the vCPU (register reads, resets); the vCPU
//! acknowledges the state it is in.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use kvm_ioctls::VcpuFd;

/// What the machine wants a vCPU to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Run,
    Pause,
    Exit,
}

/// What the vCPU reports it is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    Starting,
    Running,
    Paused,
    Exited,
}

/// A closure to run on the vCPU thread, with its fd (KVM vCPU ioctls belong to that thread).
pub type VcpuWork = Box<dyn FnOnce(&mut VcpuFd) + Send>;

pub struct ControlState {
    pub want: Want,
    pub ack: Ack,
    pub work: VecDeque<VcpuWork>,
    /// Set by the vCPU itself after an exit it cannot continue from (triple fault, internal
    /// error): it stays paused until the machine resets it and clears this.
    pub halted_by_exit: bool,
}

pub struct Control {
    state: Mutex<ControlState>,
    changed: Condvar,
}

impl Control {
    pub fn new(want: Want) -> Self {
        Control {
            state: Mutex::new(ControlState {
                want,
                ack: Ack::Starting,
                work: VecDeque::new(),
                halted_by_exit: false,
            }),
            changed: Condvar::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn notify(&self) {
        self.changed.notify_all();
    }

    pub fn wait<'a>(&self, guard: MutexGuard<'a, ControlState>) -> MutexGuard<'a, ControlState> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `done` holds.
    pub fn wait_until(&self, mut done: impl FnMut(&ControlState) -> bool) {
        let mut guard = self.lock();
        while !done(&guard) {
            guard = self.wait(guard);
        }
    }
}

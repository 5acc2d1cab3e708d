//! Read access to the live machine for property getters.
//!
//! The object tree describes the machine but does not own it: each `qom-get` is given a
//! [`QomContext`], and getters ask it for the state they show (RAM size, a vCPU's CPUID or
//! TSC frequency, whether a socket chardev has a client). [`Machine`] is one; the QMP server
//! can wrap it with its own chardev state; [`NoMachine`] answers nothing, so the tree shows
//! the values the configuration implies.

use std::time::SystemTime;

use serde_json::Value;

use crate::cpu_state::CpuState;
use crate::machine::Machine;
use crate::run_state::RunState;

/// One CPUID leaf (and sub-leaf) as a vCPU sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuidEntry {
    pub function: u32,
    pub index: u32,
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// What getters may read of the running machine. Every method has a default that answers
/// "not known", in which case the getter falls back to what the configuration implies.
pub trait QomContext {
    fn run_state(&self) -> Option<RunState> {
        None
    }

    /// Guest RAM in bytes.
    fn ram_size(&self) -> Option<u64> {
        None
    }

    /// The CPUID table of vCPU `index` (its cpu-index, not its QOM path).
    fn vcpu_cpuid(&self, _index: usize) -> Option<Vec<CpuidEntry>> {
        None
    }

    /// The TSC frequency of vCPU `index`, in kHz.
    fn vcpu_tsc_khz(&self, _index: usize) -> Option<u32> {
        None
    }

    /// The registers of vCPU `index`.
    fn vcpu_state(&self, _index: usize) -> Option<CpuState> {
        None
    }

    /// Whether socket chardev `id` has a connected peer.
    fn chardev_connected(&self, _id: &str) -> Option<bool> {
        None
    }

    /// The `SocketAddress` socket chardev `id` is bound or connected to, when the
    /// configuration does not say (an inherited `fd=N`).
    fn chardev_address(&self, _id: &str) -> Option<Value> {
        None
    }

    /// The time the guest's RTC shows (`rtc-time`); QEMU's RTC runs on UTC by default.
    fn wall_clock(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// No machine: every getter shows what the configuration implies.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMachine;

impl QomContext for NoMachine {}

impl QomContext for Machine {
    fn run_state(&self) -> Option<RunState> {
        Some(Machine::run_state(self))
    }

    fn ram_size(&self) -> Option<u64> {
        Some(Machine::ram_size(self))
    }

    fn vcpu_cpuid(&self, index: usize) -> Option<Vec<CpuidEntry>> {
        let entries = Machine::vcpu_cpuid(self, index).ok()?;
        Some(
            entries
                .iter()
                .map(|e| CpuidEntry {
                    function: e.function,
                    index: e.index,
                    eax: e.eax,
                    ebx: e.ebx,
                    ecx: e.ecx,
                    edx: e.edx,
                })
                .collect(),
        )
    }

    fn vcpu_tsc_khz(&self, index: usize) -> Option<u32> {
        Machine::vcpu_tsc_khz(self, index).ok()
    }

    fn vcpu_state(&self, index: usize) -> Option<CpuState> {
        self.cpu_state(index).ok()
    }
}

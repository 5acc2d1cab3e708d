//! The vCPU threads' CPU priority.
//!
//! A spinning vCPU is CPU-bound; at the same weight as the main loop and the monitor clients,
//! EEVDF often lets it finish its slice before a woken monitor thread or client runs, which
//! costs milliseconds at the 99th percentile of QMP round trips when every host CPU runs a
//! vCPU. A nice increment gives the waking threads the earlier deadline. Measured with
//! qmp-bench's load case (-smp 2 on 2 host CPUs, host kernel 6.18): `query-status` p99
//! spinning/idle 1.25–2.45x at nice +0, 1.03–1.16x at +5 (+3: 1.08x); SCHED_BATCH vCPUs
//! (1.6–2.0x) and a 0.1 ms slice for the main thread alone (1.85x) did not help. With
//! autogroup or a per-VM cgroup the increment only shifts CPU within the VMM process, not the
//! guest's share against other processes; guest progress and serial latency were unchanged.
//!
//! What it cannot change: where the kernel wakes the main thread. On the same CPU as the
//! client, a round trip with every vCPU spinning costs what it does idle (14 vs 13 us); on the
//! other CPU, the wake-up must first pull a vCPU out of guest mode, ~15 us per direction on a
//! nested hypervisor (42 us), and the kernel's pick varies from run to run. qmp-bench shows the
//! same for `null-qmp-server`, a bare epoll loop, under the same guest: it is the host's floor,
//! not the monitor's; with a host CPU to spare the round trip does not move.

/// Added to the nice value the vCPU thread inherited.
const VCPU_NICE_INCREMENT: libc::c_int = 5;

/// Lowers the calling (vCPU) thread's priority. Best effort: at worst the monitor's latency
/// under guest load is as without it.
pub(super) fn lower_vcpu_thread_priority() {
    // SAFETY: nice(2) only changes the calling thread's nice value on Linux.
    unsafe { libc::nice(VCPU_NICE_INCREMENT) };
}

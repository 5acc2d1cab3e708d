//! The body of a vCPU thread.

use kvm_ioctls::{VcpuExit, VcpuFd};

use super::control::{Ack, Want};
use super::{Buses, Shared, VcpuEvent, VcpuEventSink};
use crate::cpu_state::CpuState;

/// KVM_SYSTEM_EVENT types.
const KVM_SYSTEM_EVENT_SHUTDOWN: u32 = 1;
const KVM_SYSTEM_EVENT_RESET: u32 = 2;

/// Waits at the control point until the machine lets the vCPU run; false means exit.
fn control_point(fd: &mut VcpuFd, shared: &Shared) -> bool {
    let control = &shared.control;
    let mut st = control.lock();
    loop {
        if let Some(work) = st.work.pop_front() {
            drop(st);
            work(fd);
            st = control.lock();
            continue;
        }
        let want = if st.halted_by_exit && st.want == Want::Run {
            Want::Pause
        } else {
            st.want
        };
        match want {
            Want::Exit => {
                st.ack = Ack::Exited;
                control.notify();
                return false;
            }
            Want::Pause => {
                if st.ack != Ack::Paused {
                    st.ack = Ack::Paused;
                    control.notify();
                }
                st = control.wait(st);
            }
            Want::Run => {
                if st.ack != Ack::Running {
                    st.ack = Ack::Running;
                    control.notify();
                }
                return true;
            }
        }
    }
}

/// QEMU's report for KVM_EXIT_INTERNAL_ERROR: the suberror, its data words, the registers.
fn internal_error_report(fd: &mut VcpuFd) -> String {
    let run = fd.get_kvm_run();
    // SAFETY: the exit reason is KVM_EXIT_INTERNAL_ERROR, so `internal` is the live member.
    let internal = unsafe { run.__bindgen_anon_1.internal };
    let mut report = format!("KVM internal error. Suberror: {}\n", internal.suberror);
    let ndata = (internal.ndata as usize).min(internal.data.len());
    for (i, word) in internal.data[..ndata].iter().enumerate() {
        report.push_str(&format!("extra data[{i}]: 0x{word:016x}\n"));
    }
    report.push_str(&register_dump(fd));
    report
}

fn register_dump(fd: &mut VcpuFd) -> String {
    match CpuState::capture(fd) {
        Ok(state) => state.dump(),
        Err(e) => format!("(registers unavailable: {e})\n"),
    }
}

pub(super) fn vcpu_thread(
    index: u32,
    mut fd: VcpuFd,
    shared: &Shared,
    buses: &Buses,
    sink: &dyn VcpuEventSink,
) {
    super::priority::lower_vcpu_thread_priority();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    shared.tid.store(tid, std::sync::atomic::Ordering::Release);
    shared.run_area.publish(fd.get_kvm_run());
    loop {
        // Clear before checking the control state, so a request made after the check
        // still finds immediate_exit set (see `kick`).
        shared.run_area.set_immediate_exit(0);
        if !control_point(&mut fd, shared) {
            break;
        }
        let stop_event = match fd.run() {
            Ok(VcpuExit::IoIn(port, data)) => {
                buses.io.read(u64::from(port), data);
                None
            }
            Ok(VcpuExit::IoOut(port, data)) => {
                buses.io.write(u64::from(port), data);
                None
            }
            Ok(VcpuExit::MmioRead(addr, data)) => {
                buses.mmio.read(addr, data);
                None
            }
            Ok(VcpuExit::MmioWrite(addr, data)) => {
                buses.mmio.write(addr, data);
                None
            }
            Ok(VcpuExit::Shutdown) => Some(VcpuEvent::TripleFault { index }),
            Ok(VcpuExit::InternalError) => Some(VcpuEvent::InternalError {
                index,
                report: internal_error_report(&mut fd),
            }),
            Ok(VcpuExit::FailEntry(reason, cpu)) => Some(VcpuEvent::InternalError {
                index,
                report: format!(
                    "KVM: entry failed, hardware error 0x{reason:x} (cpu {cpu})\n{}",
                    register_dump(&mut fd)
                ),
            }),
            Ok(VcpuExit::SystemEvent(kind, _)) => match kind {
                KVM_SYSTEM_EVENT_SHUTDOWN => {
                    sink.vcpu_event(VcpuEvent::SystemShutdown);
                    None
                }
                KVM_SYSTEM_EVENT_RESET => {
                    sink.vcpu_event(VcpuEvent::SystemReset);
                    None
                }
                other => Some(VcpuEvent::InternalError {
                    index,
                    report: format!("KVM: unexpected system event {other}\n"),
                }),
            },
            // Interrupted by a kick, or an exit KVM handles itself on re-entry.
            Ok(_) => None,
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => None,
            Err(e) => Some(VcpuEvent::InternalError {
                index,
                report: format!("KVM_RUN failed: {e}\n{}", register_dump(&mut fd)),
            }),
        };
        if let Some(event) = stop_event {
            // This vCPU cannot continue until the machine resets it.
            shared.control.lock().halted_by_exit = true;
            shared.control.notify();
            sink.vcpu_event(event);
        }
    }
    shared.run_area.unpublish();
}

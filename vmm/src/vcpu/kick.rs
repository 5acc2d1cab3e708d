//! Kicking a vCPU out of KVM_RUN without races: set `immediate_exit` in its `kvm_run` from
//! the requesting thread, then signal the vCPU thread. If the vCPU is inside KVM_RUN the signal
//! makes it return EINTR; if it is about to enter, `immediate_exit` makes KVM_RUN return EINTR
//! at once (Firecracker's scheme).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use kvm_bindings::kvm_run;
use vmm_sys_util::signal::{register_signal_handler, SIGRTMIN};

/// The signal that kicks vCPU threads.
pub fn kick_signal() -> libc::c_int {
    SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // Nothing: the signal's only job is to interrupt KVM_RUN.
}

/// Installs the (empty) kick handler, without SA_RESTART so KVM_RUN returns EINTR.
pub fn install_kick_handler() -> Result<(), vmm_sys_util::errno::Error> {
    register_signal_handler(kick_signal(), on_kick)
}

/// The `kvm_run` of a running vCPU, published so other threads can set `immediate_exit`.
#[derive(Default)]
pub struct RunArea {
    ptr: Mutex<Option<RunPtr>>,
}

struct RunPtr(*mut kvm_run);
// SAFETY: the pointer is only dereferenced under the mutex while the vCPU thread keeps the
// mapping alive (it unpublishes before dropping its VcpuFd).
unsafe impl Send for RunPtr {}

impl RunArea {
    pub fn publish(&self, run: *mut kvm_run) {
        *self.ptr.lock().unwrap_or_else(|e| e.into_inner()) = Some(RunPtr(run));
    }

    pub fn unpublish(&self) {
        *self.ptr.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Sets `immediate_exit` (1 to kick, 0 before re-entering).
    pub fn set_immediate_exit(&self, value: u8) {
        if let Some(p) = self.ptr.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            // SAFETY: the mapping is alive while published; the byte is accessed atomically
            // because the vCPU thread and KVM read it concurrently.
            unsafe {
                let field = std::ptr::addr_of_mut!((*p.0).immediate_exit);
                AtomicU8::from_ptr(field).store(value, Ordering::SeqCst);
            }
        }
    }
}

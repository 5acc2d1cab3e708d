//! vCPU threads: one per vCPU, each owning its KVM vCPU fd, running guest code and emulating
//! port/MMIO accesses on the shared buses, controlled through [`control::Control`].

pub mod control;
pub mod kick;
mod priority;
mod run_loop;

use std::io;
use std::os::unix::thread::JoinHandleExt;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use devices::bus::Bus;
use kvm_ioctls::VcpuFd;

use control::{Ack, Control, VcpuWork, Want};
use kick::RunArea;

/// Something a vCPU reports to the machine.
#[derive(Debug, Clone)]
pub enum VcpuEvent {
    /// The vCPU triple-faulted (KVM_EXIT_SHUTDOWN): a guest-initiated reset.
    TripleFault {
        index: u32,
    },
    /// KVM could not run the vCPU further; `report` is QEMU's stderr text for it.
    InternalError {
        index: u32,
        report: String,
    },
    /// The guest asked KVM for a system event (PSCI-like shutdown/reset).
    SystemShutdown,
    SystemReset,
}

/// Where vCPU threads send [`VcpuEvent`]s.
pub trait VcpuEventSink: Send + Sync {
    fn vcpu_event(&self, event: VcpuEvent);
}

/// The buses a vCPU dispatches its exits to.
#[derive(Clone)]
pub struct Buses {
    pub io: Arc<Bus>,
    pub mmio: Arc<Bus>,
}

struct Shared {
    control: Control,
    run_area: RunArea,
    /// The vCPU thread's kernel thread id (`query-cpus-fast` `thread-id`), once running.
    tid: std::sync::atomic::AtomicI32,
}

/// The machine's handle on one vCPU thread.
pub struct VcpuHandle {
    pub index: u32,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl VcpuHandle {
    /// Starts the thread; the vCPU runs at once unless `want` is [`Want::Pause`].
    pub fn spawn(
        index: u32,
        fd: VcpuFd,
        buses: Buses,
        sink: Arc<dyn VcpuEventSink>,
        want: Want,
        thread_name: String,
    ) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            control: Control::new(want),
            run_area: RunArea::default(),
            tid: std::sync::atomic::AtomicI32::new(0),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || run_loop::vcpu_thread(index, fd, &thread_shared, &buses, &*sink))?;
        // Not waiting for the thread to come up keeps start-up short; thread_id waits.
        Ok(VcpuHandle {
            index,
            shared,
            thread: Some(thread),
        })
    }

    fn kick(&self) {
        self.shared.run_area.set_immediate_exit(1);
        if let Some(t) = &self.thread {
            // SAFETY: signals a live thread of ours (joined only in Drop) with a signal whose
            // handler is installed.
            unsafe { libc::pthread_kill(t.as_pthread_t(), kick::kick_signal()) };
        }
    }

    /// Asks the vCPU to run, pause or exit, without waiting.
    pub fn request(&self, want: Want) {
        self.shared.control.lock().want = want;
        self.shared.control.notify();
        self.kick();
    }

    /// Waits until the vCPU acknowledges it is no longer running guest code.
    pub fn wait_stopped(&self) {
        self.shared
            .control
            .wait_until(|s| matches!(s.ack, Ack::Paused | Ack::Exited));
    }

    /// Waits until the vCPU acknowledges it runs (or cannot: exited, halted by an exit).
    pub fn wait_running(&self) {
        self.shared
            .control
            .wait_until(|s| s.ack == Ack::Running || s.ack == Ack::Exited || s.halted_by_exit);
    }

    /// The host thread id running this vCPU.
    pub fn thread_id(&self) -> i32 {
        // The thread stores its id before it leaves Starting.
        self.shared.control.wait_until(|s| s.ack != Ack::Starting);
        self.shared.tid.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether the vCPU stopped itself after an exit it cannot continue from.
    pub fn halted_by_exit(&self) -> bool {
        self.shared.control.lock().halted_by_exit
    }

    /// Clears the halted-by-exit state (after a reset gave it fresh registers).
    pub fn clear_halted_by_exit(&self) {
        self.shared.control.lock().halted_by_exit = false;
        self.shared.control.notify();
    }

    /// Queues work to run on the vCPU thread (between KVM_RUN calls) and kicks it.
    pub fn queue_work(&self, work: VcpuWork) {
        self.shared.control.lock().work.push_back(work);
        self.shared.control.notify();
        self.kick();
    }

    /// Runs `f` on the vCPU thread and returns its result; `None` if the thread is gone.
    pub fn run_on<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut VcpuFd) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.queue_work(Box::new(move |fd| {
            let _ = tx.send(f(fd));
        }));
        rx.recv().ok()
    }
}

impl Drop for VcpuHandle {
    fn drop(&mut self) {
        self.request(Want::Exit);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

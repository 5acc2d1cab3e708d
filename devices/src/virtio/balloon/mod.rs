//! virtio-balloon (virtio 1.x 5.5) with QEMU's behaviour: inflate/deflate, the stats queue's
//! "hold one buffer" protocol, optional deflate-on-oom and free page reporting.
//!
//! VMM use:
//! ```text
//! let balloon = Balloon::new(BalloonConfig { .. }, mem.clone(), events)?;
//! let handle = balloon.handle();                  // for the monitor thread
//! let dev = VirtioPciDevice::new(Box::new(balloon), mem, bar0, msi)?;
//! ```
//! Queue work runs on a thread named `virtio-balloon`, started when the driver sets
//! DRIVER_OK and joined when it resets the device (or the transport is dropped).

mod config_space;
mod handle;
pub mod pfn;
mod queues;
pub mod reclaim;
pub mod stats;
mod worker;

#[cfg(test)]
mod tests;

use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

use vm_memory::GuestMemoryMmap;
use vmm_sys_util::eventfd::EventFd;

use crate::bus::lock;
use crate::virtio::device::{ActivateContext, ActivateError, VirtioDevice};
use crate::virtio::device_type;
use crate::virtio::features::{VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1};
pub use handle::{BalloonEvents, BalloonHandle};
use handle::{Shared, State};
pub use reclaim::{MadviseReclaimer, MemoryReclaimer, ReclaimError};
pub use stats::{BalloonStats, STAT_COUNT, STAT_NAMES};
use worker::{Role, RoleQueue, Worker, WorkerContext};

/// Balloon feature bits (virtio 1.x 5.5.3).
pub const VIRTIO_BALLOON_F_STATS_VQ: u64 = 1 << 1;
pub const VIRTIO_BALLOON_F_DEFLATE_ON_OOM: u64 = 1 << 2;
pub const VIRTIO_BALLOON_F_FREE_PAGE_HINT: u64 = 1 << 3;
pub const VIRTIO_BALLOON_F_PAGE_POISON: u64 = 1 << 4;
pub const VIRTIO_BALLOON_F_REPORTING: u64 = 1 << 5;

/// QEMU's queue sizes: 128 for inflate, deflate and stats, 32 for reporting.
pub const QUEUE_SIZE: u16 = 128;
pub const REPORTING_QUEUE_SIZE: u16 = 32;

/// The `-device virtio-balloon-pci` properties this device honours. `Default` is QEMU 10's
/// defaults (checked with `device-list-properties`): everything off, polling 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BalloonConfig {
    /// `deflate-on-oom`: offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM.
    pub deflate_on_oom: bool,
    /// `free-page-reporting`: offer VIRTIO_BALLOON_F_REPORTING and its queue.
    pub free_page_reporting: bool,
    /// `guest-stats-polling-interval` in seconds; 0 = off.
    pub stats_polling_interval: u32,
}

pub struct Balloon {
    config: BalloonConfig,
    features: u64,
    queue_sizes: Vec<u16>,
    reclaimer: Arc<dyn MemoryReclaimer>,
    shared: Arc<Shared>,
    worker: Option<Worker>,
}

impl Balloon {
    /// A balloon that frees inflated pages with `madvise(MADV_DONTNEED)` on `mem`.
    pub fn new(
        config: BalloonConfig,
        mem: GuestMemoryMmap<()>,
        events: Arc<dyn BalloonEvents>,
    ) -> std::io::Result<Self> {
        let reclaimer = Arc::new(MadviseReclaimer::new(mem.clone()));
        Self::with_reclaimer(config, reclaimer, events)
    }

    /// A balloon with its own way of freeing memory (e.g. hole punching for shared RAM).
    pub fn with_reclaimer(
        config: BalloonConfig,
        reclaimer: Arc<dyn MemoryReclaimer>,
        events: Arc<dyn BalloonEvents>,
    ) -> std::io::Result<Self> {
        // QEMU always offers the stats queue; RING_INDIRECT_DESC is handled by virtio-queue.
        let mut features =
            VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_BALLOON_F_STATS_VQ;
        let mut queue_sizes = vec![QUEUE_SIZE; 3];
        if config.deflate_on_oom {
            features |= VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
        }
        if config.free_page_reporting {
            features |= VIRTIO_BALLOON_F_REPORTING;
            queue_sizes.push(REPORTING_QUEUE_SIZE);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                num_pages: 0,
                actual: 0,
                stats: BalloonStats::default(),
                interrupt: None,
            }),
            polling_interval: AtomicU32::new(config.stats_polling_interval),
            control: EventFd::new(libc::EFD_NONBLOCK)?,
            events,
        });
        Ok(Balloon {
            config,
            features,
            queue_sizes,
            reclaimer,
            shared,
            worker: None,
        })
    }

    pub fn handle(&self) -> BalloonHandle {
        BalloonHandle {
            shared: self.shared.clone(),
        }
    }

    pub fn config(&self) -> BalloonConfig {
        self.config
    }

    /// Queue index → role, numbered densely over the *negotiated* features as Linux's
    /// `init_vqs` does: inflate 0, deflate 1, stats next if STATS_VQ, then free-page-hint
    /// (never offered here), then reporting if REPORTING.
    fn roles(acked: u64) -> Vec<Role> {
        let mut roles = vec![Role::Inflate, Role::Deflate];
        if acked & VIRTIO_BALLOON_F_STATS_VQ != 0 {
            roles.push(Role::Stats);
        }
        if acked & VIRTIO_BALLOON_F_REPORTING != 0 {
            roles.push(Role::Reporting);
        }
        roles
    }
}

impl VirtioDevice for Balloon {
    fn device_type(&self) -> u32 {
        device_type::BALLOON
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &self.queue_sizes
    }

    fn features(&self) -> u64 {
        self.features
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let s = lock(&self.shared.state);
        config_space::read(s.num_pages, s.actual, offset, data);
    }

    fn write_config(&mut self, offset: u64, data: &[u8]) {
        let changed = {
            let mut s = lock(&self.shared.state);
            match config_space::write_actual(s.actual, offset, data) {
                Some(new) if new != s.actual => {
                    s.actual = new;
                    Some(new)
                }
                _ => None,
            }
        };
        if let Some(actual) = changed {
            self.shared.events.actual_changed(actual);
        }
    }

    fn activate(&mut self, ctx: ActivateContext) -> Result<(), ActivateError> {
        // Activating twice would orphan the running worker (Firecracker 42fae696).
        if self.worker.is_some() {
            return Err(ActivateError::AlreadyActive);
        }
        let roles = Self::roles(ctx.acked_features);
        let mut queues = Vec::new();
        for aq in ctx.queues {
            if let Some(&role) = roles.get(usize::from(aq.index)) {
                queues.push(RoleQueue {
                    role,
                    index: aq.index,
                    queue: aq.queue,
                    event: aq.event,
                });
            }
        }
        for (index, role) in [(0u16, Role::Inflate), (1, Role::Deflate)] {
            if !queues.iter().any(|q| q.role == role) {
                return Err(ActivateError::MissingQueue(index));
            }
        }
        let worker = Worker::start(WorkerContext {
            mem: ctx.mem,
            interrupt: ctx.interrupt.clone(),
            reclaimer: self.reclaimer.clone(),
            shared: self.shared.clone(),
            queues,
        })?;
        self.worker = Some(worker);
        lock(&self.shared.state).interrupt = Some(ctx.interrupt);
        Ok(())
    }

    fn reset(&mut self) {
        // Join first, so the worker cannot raise an interrupt after this returns.
        if let Some(w) = self.worker.take() {
            w.stop();
        }
        lock(&self.shared.state).interrupt = None;
        // `num_pages`, `actual` and the last stats are host-side state and survive, as in
        // QEMU; the held stats buffer belonged to the old rings and is gone with the worker.
    }
}

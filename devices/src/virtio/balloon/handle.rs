//! The balloon as the VMM's monitor sees it: target, actual size, statistics and polling.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use vmm_sys_util::eventfd::EventFd;

use super::stats::BalloonStats;
use crate::bus::lock;
use crate::virtio::device::{VirtioInterrupt, VirtioInterruptType};

/// Told about guest-driven changes. Called on a vCPU thread; must not block.
pub trait BalloonEvents: Send + Sync {
    /// The guest wrote a different `actual` (4 KiB pages in the balloon). The VMM turns it
    /// into BALLOON_CHANGE with `ram_size - (actual_pages << 12)`.
    fn actual_changed(&self, actual_pages: u32);
}

pub(super) struct State {
    pub num_pages: u32,
    pub actual: u32,
    pub stats: BalloonStats,
    /// Present while the driver runs (between activation and reset).
    pub interrupt: Option<Arc<dyn VirtioInterrupt>>,
}

/// State shared by the device (vCPU threads), its worker and every handle.
pub(super) struct Shared {
    pub state: Mutex<State>,
    pub polling_interval: AtomicU32,
    /// Wakes the worker to re-read `polling_interval`. Outlives workers.
    pub control: EventFd,
    pub events: Arc<dyn BalloonEvents>,
}

/// A cloneable handle for the monitor thread.
#[derive(Clone)]
pub struct BalloonHandle {
    pub(super) shared: Arc<Shared>,
}

impl BalloonHandle {
    /// Sets `num_pages`, the balloon size the host wants, and tells a running driver with a
    /// config interrupt (QEMU notifies even when the value is unchanged).
    pub fn set_target_pages(&self, pages: u32) {
        let interrupt = {
            let mut s = lock(&self.shared.state);
            s.num_pages = pages;
            s.interrupt.clone()
        };
        if let Some(i) = interrupt {
            i.trigger(VirtioInterruptType::Config);
        }
    }

    pub fn target_pages(&self) -> u32 {
        lock(&self.shared.state).num_pages
    }

    /// Pages the guest says it has ballooned (`actual`).
    pub fn actual_pages(&self) -> u32 {
        lock(&self.shared.state).actual
    }

    pub fn stats(&self) -> BalloonStats {
        lock(&self.shared.state).stats
    }

    /// `guest-stats-polling-interval` in seconds; 0 stops polling. As in QEMU, a change from
    /// 0 polls at once, and a new period counts from now. (Range checks and QEMU's errors
    /// for negative or too-big values are the caller's.)
    pub fn set_polling_interval(&self, secs: u32) {
        self.shared.polling_interval.store(secs, Ordering::SeqCst);
        // Only fails when the counter is saturated, and then a wake-up is pending anyway.
        let _ = self.shared.control.write(1);
    }

    pub fn polling_interval(&self) -> u32 {
        self.shared.polling_interval.load(Ordering::SeqCst)
    }
}

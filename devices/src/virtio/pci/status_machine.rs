//! The device status state machine (virtio 1.x 2.1 and 3.1): feature negotiation, activation
//! at DRIVER_OK, synchronous reset on a write of 0, and DEVICE_NEEDS_RESET.

use std::sync::atomic::Ordering;

use super::VirtioPciDevice;
use crate::virtio::device::{ActivateContext, ActiveQueue, VirtioInterrupt};
use crate::virtio::features::VIRTIO_F_VERSION_1;
use crate::virtio::status;

/// Bits the driver may set.
const DRIVER_BITS: u8 =
    status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK | status::FAILED;

impl VirtioPciDevice {
    /// A write to device_status.
    pub(super) fn write_status(&mut self, value: u8) {
        if value == 0 {
            self.reset_virtio();
            return;
        }
        let old = self.status();
        // DEVICE_NEEDS_RESET is the device's bit: the driver can neither set nor clear it.
        let wanted = value & DRIVER_BITS;
        let old_driver_bits = old & DRIVER_BITS;
        if wanted & status::FAILED != 0 {
            // The driver gave up; keep what was set and note it.
            self.interrupt
                .status
                .fetch_or(status::FAILED, Ordering::SeqCst);
            return;
        }
        if old_driver_bits & !wanted != 0 {
            // Clearing a bit other than by reset is a driver bug; ignore the write.
            log::warn!("virtio-pci: status write {value:#x} clears bits of {old:#x}; ignored");
            return;
        }
        let mut new = old_driver_bits;
        let added = wanted & !old_driver_bits;
        if added & status::ACKNOWLEDGE != 0 {
            new |= status::ACKNOWLEDGE;
        }
        if added & status::DRIVER != 0 && new & status::ACKNOWLEDGE != 0 {
            new |= status::DRIVER;
        }
        if added & status::FEATURES_OK != 0
            && new & status::DRIVER != 0
            && self.features_acceptable()
        {
            new |= status::FEATURES_OK;
        }
        // A device that needs a reset is not started until the driver resets it.
        let start = added & status::DRIVER_OK != 0
            && new & status::FEATURES_OK != 0
            && old & status::DEVICE_NEEDS_RESET == 0;
        if start {
            new |= status::DRIVER_OK;
        }
        // Keep a NEEDS_RESET the worker may have set meanwhile.
        self.interrupt.status.fetch_or(new, Ordering::SeqCst);
        if start {
            self.activate();
        }
    }

    /// FEATURES_OK is granted only for a subset of what was offered that includes VERSION_1
    /// (this transport is modern-only).
    fn features_acceptable(&self) -> bool {
        let offered = self.device.features();
        self.driver_features & !offered == 0 && self.driver_features & VIRTIO_F_VERSION_1 != 0
    }

    /// Hands the enabled queues to the device. A failure leaves the device needing a reset.
    fn activate(&mut self) {
        if self.active {
            return;
        }
        let mut queues = Vec::new();
        for (i, setup) in self.queues.iter_mut().enumerate() {
            let Some(queue) = setup.queue.take() else {
                continue;
            };
            let event = match self.queue_events[i].try_clone() {
                Ok(e) => e,
                Err(e) => {
                    log::error!("virtio-pci: cannot clone queue eventfd: {e}");
                    self.set_needs_reset();
                    return;
                }
            };
            queues.push(ActiveQueue {
                index: i as u16,
                queue,
                event,
            });
        }
        let ctx = ActivateContext {
            mem: self.mem.clone(),
            acked_features: self.driver_features,
            queues,
            interrupt: self.interrupt.clone(),
        };
        match self.device.activate(ctx) {
            Ok(()) => self.active = true,
            Err(e) => {
                log::warn!("virtio-pci: device activation failed: {e}");
                self.set_needs_reset();
            }
        }
    }

    pub(super) fn set_needs_reset(&self) {
        self.interrupt.set_needs_reset();
    }

    /// Virtio reset: the device stops (its worker is joined) before this returns, so a
    /// driver polling for status 0 sees it at once and no queue is touched afterwards.
    pub(super) fn reset_virtio(&mut self) {
        self.device.reset();
        self.active = false;
        for q in &mut self.queues {
            q.reset();
        }
        for evt in &self.queue_events {
            // Drop notifications meant for the old rings (nonblocking; EAGAIN when empty).
            let _ = evt.read();
        }
        self.device_feature_select = 0;
        self.driver_feature_select = 0;
        self.driver_features = 0;
        self.queue_select = 0;
        self.interrupt.reset();
        self.interrupt.status.store(0, Ordering::SeqCst);
    }
}

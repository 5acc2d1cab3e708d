//! State shared between the transport (vCPU threads) and the device's worker: ISR, config
//! generation, device status, vector assignments and the MSI-X table. The worker raises
//! interrupts through it without touching the transport's lock, so a reset that joins the
//! worker while holding that lock cannot deadlock.

use std::sync::atomic::{AtomicU16, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crate::bus::lock;
use crate::pci::msi::MsiInterrupt;
use crate::pci::msix::MsixState;
use crate::virtio::device::{VirtioInterrupt, VirtioInterruptType};
use crate::virtio::status;

/// "No vector" for msix_config and queue_msix_vector.
pub const NO_VECTOR: u16 = 0xffff;

const ISR_QUEUE: u8 = 1;
const ISR_CONFIG: u8 = 2;

pub struct VirtioPciInterrupt {
    pub(super) isr: AtomicU8,
    pub(super) config_generation: AtomicU8,
    pub(super) status: AtomicU8,
    pub(super) config_vector: AtomicU16,
    pub(super) queue_vectors: Vec<AtomicU16>,
    pub(super) msix: Mutex<MsixState>,
    pub(super) sink: Arc<dyn MsiInterrupt>,
}

impl VirtioPciInterrupt {
    pub(super) fn new(queues: usize, sink: Arc<dyn MsiInterrupt>) -> Self {
        VirtioPciInterrupt {
            isr: AtomicU8::new(0),
            config_generation: AtomicU8::new(0),
            status: AtomicU8::new(0),
            config_vector: AtomicU16::new(NO_VECTOR),
            queue_vectors: (0..queues).map(|_| AtomicU16::new(NO_VECTOR)).collect(),
            // One vector per queue plus one for configuration changes.
            msix: Mutex::new(MsixState::new(queues as u16 + 1)),
            sink,
        }
    }

    fn send(&self, vector: u16) {
        if vector != NO_VECTOR {
            lock(&self.msix).trigger(vector, self.sink.as_ref());
        }
    }

    /// Virtio reset: ISR cleared, vectors unassigned. The MSI-X table is PCI state and stays.
    pub(super) fn reset(&self) {
        self.isr.store(0, Ordering::SeqCst);
        self.config_vector.store(NO_VECTOR, Ordering::SeqCst);
        for v in &self.queue_vectors {
            v.store(NO_VECTOR, Ordering::SeqCst);
        }
    }
}

impl VirtioInterrupt for VirtioPciInterrupt {
    fn trigger(&self, kind: VirtioInterruptType) {
        match kind {
            VirtioInterruptType::Config => {
                // No config notifications before DRIVER_OK (virtio 1.x 2.1.2).
                if self.status.load(Ordering::SeqCst) & status::DRIVER_OK == 0 {
                    return;
                }
                self.config_generation.fetch_add(1, Ordering::SeqCst);
                self.isr.fetch_or(ISR_CONFIG, Ordering::SeqCst);
                self.send(self.config_vector.load(Ordering::SeqCst));
            }
            VirtioInterruptType::Queue(q) => {
                let Some(vector) = self.queue_vectors.get(usize::from(q)) else {
                    return;
                };
                self.isr.fetch_or(ISR_QUEUE, Ordering::SeqCst);
                self.send(vector.load(Ordering::SeqCst));
            }
        }
    }

    fn set_needs_reset(&self) {
        let old = self
            .status
            .fetch_or(status::DEVICE_NEEDS_RESET, Ordering::SeqCst);
        if old & status::DEVICE_NEEDS_RESET == 0 {
            self.trigger(VirtioInterruptType::Config);
        }
    }
}

//! What the driver programs for one queue through the common configuration window, and the
//! checks that turn it into a [`Queue`] when the driver enables it.

use thiserror::Error;
use virtio_queue::{Queue, QueueT};
use vm_memory::{GuestAddress, GuestMemoryMmap};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum QueueSetupError {
    #[error("queue {index}: {error}")]
    Invalid { index: u16, error: String },
    #[error("queue {0}: rings are not inside guest RAM")]
    OutsideRam(u16),
    #[error("queue {0}: driver ring at guest address 0 (virtio-queue treats it as unset)")]
    DriverRingAtZero(u16),
}

#[derive(Debug)]
pub(super) struct QueueSetup {
    pub max_size: u16,
    pub size: u16,
    pub desc: u64,
    pub driver: u64,
    pub device: u64,
    pub enabled: bool,
    /// The queue built at enable time, handed to the device at DRIVER_OK.
    pub queue: Option<Queue>,
}

impl QueueSetup {
    pub fn new(max_size: u16) -> Self {
        QueueSetup {
            max_size,
            size: max_size,
            desc: 0,
            driver: 0,
            device: 0,
            enabled: false,
            queue: None,
        }
    }

    pub fn reset(&mut self) {
        *self = QueueSetup::new(self.max_size);
    }

    /// A size the driver wrote: kept only if it is a power of two in 1..=max (split rings);
    /// anything else is ignored, and the driver reads back the old size.
    pub fn set_size(&mut self, size: u16) -> bool {
        let ok = size != 0 && size <= self.max_size && size.is_power_of_two();
        if ok {
            self.size = size;
        }
        ok
    }

    /// Builds and checks the queue: alignment, and every ring inside RAM.
    pub fn enable(&mut self, index: u16, mem: &GuestMemoryMmap<()>) -> Result<(), QueueSetupError> {
        let invalid = |e: virtio_queue::Error| QueueSetupError::Invalid {
            index,
            error: e.to_string(),
        };
        if self.driver == 0 {
            return Err(QueueSetupError::DriverRingAtZero(index));
        }
        let mut q = Queue::new(self.max_size).map_err(invalid)?;
        q.try_set_size(self.size).map_err(invalid)?;
        q.try_set_desc_table_address(GuestAddress(self.desc))
            .map_err(invalid)?;
        q.try_set_avail_ring_address(GuestAddress(self.driver))
            .map_err(invalid)?;
        q.try_set_used_ring_address(GuestAddress(self.device))
            .map_err(invalid)?;
        q.set_ready(true);
        if !q.is_valid(mem) {
            return Err(QueueSetupError::OutsideRam(index));
        }
        self.queue = Some(q);
        self.enabled = true;
        Ok(())
    }
}

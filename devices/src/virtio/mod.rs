//! Virtio 1.x devices and their PCI transport.
//!
//! A device ([`VirtioDevice`]) knows its features, configuration space and how to process its
//! queues; the transport ([`pci::VirtioPciDevice`]) owns everything the driver programs
//! (status, feature negotiation, queue setup, MSI-X) and hands the device its queues at
//! DRIVER_OK.

pub mod balloon;
pub mod device;
pub mod pci;

#[cfg(test)]
pub(crate) mod test_util;

pub use device::{
    ActivateContext, ActivateError, ActiveQueue, VirtioDevice, VirtioInterrupt, VirtioInterruptType,
};

/// Feature bits common to all devices (virtio 1.x section 6).
pub mod features {
    pub const VIRTIO_F_RING_INDIRECT_DESC: u64 = 1 << 28;
    pub const VIRTIO_F_RING_EVENT_IDX: u64 = 1 << 29;
    pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;
}

/// Device status bits (virtio 1.x 2.1).
pub mod status {
    pub const ACKNOWLEDGE: u8 = 1;
    pub const DRIVER: u8 = 2;
    pub const DRIVER_OK: u8 = 4;
    pub const FEATURES_OK: u8 = 8;
    pub const DEVICE_NEEDS_RESET: u8 = 0x40;
    pub const FAILED: u8 = 0x80;
}

/// Device IDs (virtio 1.x 5).
pub mod device_type {
    pub const BALLOON: u32 = 5;
}

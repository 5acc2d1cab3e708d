//! Where things live in BAR0 of a virtio-pci function, and the IDs it presents.
//!
//! ```text
//! 0x0000  common configuration (0x38 bytes, virtio 1.x 4.1.4.3)
//! 0x1000  ISR status (read-to-clear)
//! 0x2000  device-specific configuration
//! 0x3000  queue notify: queue n at 0x3000 + 4n (multiplier 4, queue_notify_off = n)
//! 0x4000  MSI-X table (16 bytes per vector)
//! 0x5000  MSI-X pending-bit array
//! ```
//! Each structure starts on its own 4 KiB page; the BAR is 32 KiB, 32-bit, non-prefetchable.

pub const BAR0_SIZE: u64 = 0x8000;

pub const COMMON_CFG_OFFSET: u64 = 0x0000;
pub const COMMON_CFG_SIZE: u64 = 0x38;
pub const ISR_OFFSET: u64 = 0x1000;
pub const ISR_SIZE: u64 = 4;
pub const DEVICE_CFG_OFFSET: u64 = 0x2000;
pub const DEVICE_CFG_SIZE: u64 = 0x1000;
pub const NOTIFY_OFFSET: u64 = 0x3000;
pub const NOTIFY_SIZE: u64 = 0x1000;
pub const NOTIFY_OFF_MULTIPLIER: u32 = 4;
pub const MSIX_TABLE_OFFSET: u64 = 0x4000;
pub const MSIX_TABLE_MAX_SIZE: u64 = 0x1000;
pub const MSIX_PBA_OFFSET: u64 = 0x5000;
pub const MSIX_PBA_MAX_SIZE: u64 = 0x1000;

/// The most queues a device may offer: one MSI-X vector each plus one for configuration
/// must fit the table's page (the notify area would take 1024).
pub const MAX_QUEUES: u16 = (MSIX_TABLE_MAX_SIZE / 16 - 1) as u16;

/// Red Hat / Qumranet, the virtio vendor.
pub const VIRTIO_PCI_VENDOR_ID: u16 = 0x1af4;
/// Modern (non-transitional) device IDs are 0x1040 + virtio device type.
pub const VIRTIO_PCI_DEVICE_ID_BASE: u16 = 0x1040;
/// QEMU's subsystem for modern-only virtio functions (`info pci` with disable-legacy=on).
pub const VIRTIO_PCI_SUBSYSTEM_ID: u16 = 0x1100;
/// Revision 1 marks a modern-only device.
pub const VIRTIO_PCI_REVISION: u8 = 1;

//! The virtio-pci modern transport (virtio 1.x section 4.1): one PCI function whose BAR0 holds
//! the common configuration, ISR, device configuration, notify area and MSI-X table/PBA.
//!
//! MSI-X only (interrupt pin 0). Notifications arrive either as ioeventfds the VMM registers
//! at [`VirtioPciDevice::notify_addresses`] on the queue eventfds, or as MMIO writes to the
//! notify area, which this transport turns into the same eventfd signals.

mod capabilities;
mod common_cfg;
pub mod interrupt;
pub mod layout;
mod queue_setup;
mod status_machine;

#[cfg(test)]
mod tests;

use std::io;
use std::sync::Arc;

use thiserror::Error;
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::eventfd::EventFd;

use crate::bus::{lock, BusDevice};
use crate::pci::bar::{BarKind, BarMove};
use crate::pci::configuration::{ConfigError, PciConfiguration, PciHeader};
use crate::pci::device::PciDevice;
use crate::pci::msi::MsiInterrupt;
use crate::virtio::device::VirtioDevice;
pub use interrupt::{VirtioPciInterrupt, NO_VECTOR};
use layout::*;
use queue_setup::QueueSetup;
pub use queue_setup::QueueSetupError;

#[derive(Debug, Error)]
pub enum VirtioPciError {
    #[error("configuration space: {0}")]
    Config(#[from] ConfigError),
    #[error("a virtio-pci device may offer 1..={MAX_QUEUES} queues, not {0}")]
    QueueCount(usize),
    #[error("cannot create a queue eventfd: {0}")]
    EventFd(#[from] io::Error),
}

/// PCI class code per virtio device type, as QEMU assigns them (`info pci`): the balloon
/// and other "misc" devices are 0x00ff00 (unclassified, subclass 0xff).
fn class_code(device_type: u32) -> u32 {
    match device_type {
        1 => 0x02_00_00, // net: Ethernet controller
        2 => 0x01_80_00, // block: other mass storage
        3 => 0x07_80_00, // console: other communications
        _ => 0x00_ff_00,
    }
}

/// A virtio device on PCI.
pub struct VirtioPciDevice {
    config: PciConfiguration,
    device: Box<dyn VirtioDevice>,
    mem: GuestMemoryMmap<()>,
    interrupt: Arc<VirtioPciInterrupt>,
    queues: Vec<QueueSetup>,
    queue_events: Vec<EventFd>,
    device_feature_select: u32,
    driver_feature_select: u32,
    driver_features: u64,
    queue_select: u16,
    msix_cap: usize,
    pci_cfg_cap: usize,
    active: bool,
}

impl VirtioPciDevice {
    /// Wraps `device`, with BAR0 (32 KiB) placed at `bar0_base` (32-bit, size-aligned).
    /// MSI-X messages go to `msi`.
    pub fn new(
        device: Box<dyn VirtioDevice>,
        mem: GuestMemoryMmap<()>,
        bar0_base: u64,
        msi: Arc<dyn MsiInterrupt>,
    ) -> Result<Self, VirtioPciError> {
        let nqueues = device.queue_max_sizes().len();
        if nqueues == 0 || nqueues > usize::from(MAX_QUEUES) {
            return Err(VirtioPciError::QueueCount(nqueues));
        }
        let device_type = device.device_type();
        let mut config = PciConfiguration::new(&PciHeader {
            vendor_id: VIRTIO_PCI_VENDOR_ID,
            device_id: VIRTIO_PCI_DEVICE_ID_BASE + device_type as u16,
            revision: VIRTIO_PCI_REVISION,
            class_code: class_code(device_type),
            subsystem_vendor_id: VIRTIO_PCI_VENDOR_ID,
            subsystem_id: VIRTIO_PCI_SUBSYSTEM_ID,
            multifunction: false,
            interrupt_pin: 0,
        });
        config.add_bar(
            0,
            BarKind::Memory32 {
                prefetchable: false,
            },
            BAR0_SIZE,
            bar0_base,
        )?;
        let interrupt = Arc::new(VirtioPciInterrupt::new(nqueues, msi));
        let (msix_cap, pci_cfg_cap) =
            capabilities::add_all(&mut config, nqueues as u16, &lock(&interrupt.msix))?;
        config.freeze_reset_state();
        let queues = device
            .queue_max_sizes()
            .iter()
            .map(|&max| QueueSetup::new(max))
            .collect();
        let queue_events = (0..nqueues)
            .map(|_| EventFd::new(libc::EFD_NONBLOCK))
            .collect::<Result<_, _>>()?;
        Ok(VirtioPciDevice {
            config,
            device,
            mem,
            interrupt,
            queues,
            queue_events,
            device_feature_select: 0,
            driver_feature_select: 0,
            driver_features: 0,
            queue_select: 0,
            msix_cap,
            pci_cfg_cap,
            active: false,
        })
    }

    /// Where BAR0 decodes now (the guest may move it; see [`crate::pci::PciBarEvents`]).
    pub fn bar0_base(&self) -> u64 {
        self.config.bar(0).map_or(0, |b| b.base)
    }

    /// Guest-physical notify address of each queue, for ioeventfds (a 2-byte write of the
    /// queue index; any data and length may be matched). They move with BAR0.
    pub fn notify_addresses(&self) -> Vec<(u64, u16)> {
        let base = self.bar0_base() + NOTIFY_OFFSET;
        (0..self.queues.len() as u16)
            .map(|q| (base + u64::from(q) * u64::from(NOTIFY_OFF_MULTIPLIER), q))
            .collect()
    }

    /// The eventfd a notification of `queue` must signal (register it as the ioeventfd).
    pub fn queue_event(&self, queue: u16) -> Option<&EventFd> {
        self.queue_events.get(usize::from(queue))
    }

    /// The device status byte as the driver reads it.
    pub fn device_status(&self) -> u8 {
        self.status()
    }

    pub fn device_features(&self) -> u64 {
        self.device.features()
    }

    pub fn driver_features(&self) -> u64 {
        self.driver_features
    }

    pub fn num_queues(&self) -> u16 {
        self.queues.len() as u16
    }

    /// The wrapped device (e.g. for `x-query-virtio`).
    pub fn device(&self) -> &dyn VirtioDevice {
        self.device.as_ref()
    }

    fn bar_access_in(offset: u64, len: usize, start: u64, size: u64) -> bool {
        offset >= start && offset + len as u64 <= start + size
    }

    fn read_bar0(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let len = data.len();
        if Self::bar_access_in(offset, len, COMMON_CFG_OFFSET, COMMON_CFG_SIZE) {
            self.common_read(offset - COMMON_CFG_OFFSET, data);
        } else if Self::bar_access_in(offset, len, ISR_OFFSET, ISR_SIZE) {
            if offset == ISR_OFFSET {
                // Read-to-clear: the driver acknowledges by reading.
                data[0] = self
                    .interrupt
                    .isr
                    .swap(0, std::sync::atomic::Ordering::SeqCst);
            }
        } else if Self::bar_access_in(offset, len, DEVICE_CFG_OFFSET, DEVICE_CFG_SIZE) {
            self.device.read_config(offset - DEVICE_CFG_OFFSET, data);
        } else if Self::bar_access_in(offset, len, MSIX_TABLE_OFFSET, MSIX_TABLE_MAX_SIZE) {
            lock(&self.interrupt.msix).table_read(offset - MSIX_TABLE_OFFSET, data);
        } else if Self::bar_access_in(offset, len, MSIX_PBA_OFFSET, MSIX_PBA_MAX_SIZE) {
            lock(&self.interrupt.msix).pba_read(offset - MSIX_PBA_OFFSET, data);
        }
    }

    fn write_bar0(&mut self, offset: u64, data: &[u8]) {
        let len = data.len();
        if Self::bar_access_in(offset, len, COMMON_CFG_OFFSET, COMMON_CFG_SIZE) {
            self.common_write(offset - COMMON_CFG_OFFSET, data);
        } else if Self::bar_access_in(offset, len, DEVICE_CFG_OFFSET, DEVICE_CFG_SIZE) {
            self.device.write_config(offset - DEVICE_CFG_OFFSET, data);
        } else if Self::bar_access_in(offset, len, NOTIFY_OFFSET, NOTIFY_SIZE) {
            let q = (offset - NOTIFY_OFFSET) / u64::from(NOTIFY_OFF_MULTIPLIER);
            if let Some(evt) = self.queue_events.get(q as usize) {
                // Only fails when the counter is saturated, and then a wake-up is pending.
                let _ = evt.write(1);
            }
        } else if Self::bar_access_in(offset, len, MSIX_TABLE_OFFSET, MSIX_TABLE_MAX_SIZE) {
            let sink = self.interrupt.sink.clone();
            lock(&self.interrupt.msix).table_write(offset - MSIX_TABLE_OFFSET, data, sink.as_ref());
        }
    }
}

impl PciDevice for VirtioPciDevice {
    fn config_read(&mut self, offset: usize, data: &mut [u8]) {
        self.pci_cfg_before_read(offset, data.len());
        self.config.read(offset, data);
    }

    fn config_write(&mut self, offset: usize, data: &[u8]) -> Option<BarMove> {
        let moved = self.config.write(offset, data);
        self.after_config_write(offset, data.len());
        moved
    }

    fn memory_windows(&self) -> Vec<(usize, u64, u64)> {
        self.config.memory_windows()
    }

    fn bar_read(&mut self, bar: usize, offset: u64, data: &mut [u8]) {
        if bar == 0 {
            self.read_bar0(offset, data);
        } else {
            data.fill(0xff);
        }
    }

    fn bar_write(&mut self, bar: usize, offset: u64, data: &[u8]) {
        if bar == 0 {
            self.write_bar0(offset, data);
        }
    }

    fn reset(&mut self) -> Vec<BarMove> {
        self.reset_virtio();
        lock(&self.interrupt.msix).reset();
        self.config.reset()
    }
}

/// For a VMM that maps BAR0 directly on its MMIO bus (at [`VirtioPciDevice::bar0_base`])
/// instead of through [`crate::pci::PciMmioWindow`]: offsets are relative to BAR0.
impl BusDevice for VirtioPciDevice {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let inside = offset
            .checked_add(data.len() as u64)
            .is_some_and(|e| e <= BAR0_SIZE);
        if self.config.memory_enabled() && inside {
            self.read_bar0(offset, data);
        } else {
            data.fill(0xff);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let inside = offset
            .checked_add(data.len() as u64)
            .is_some_and(|e| e <= BAR0_SIZE);
        if self.config.memory_enabled() && inside {
            self.write_bar0(offset, data);
        }
    }
}

impl Drop for VirtioPciDevice {
    fn drop(&mut self) {
        // Stops the device's worker thread.
        self.device.reset();
    }
}

//! The virtio vendor capabilities (virtio 1.x 4.1.4) and MSI-X capability, all in the first
//! 256 bytes (conf1 reaches nothing else), and the VIRTIO_PCI_CAP_PCI_CFG window that lets a
//! driver reach BAR0 through configuration space.

use super::layout::*;
use super::VirtioPciDevice;
use crate::bus::lock;
use crate::pci::configuration::{ConfigError, PciConfiguration};
use crate::pci::msix::{MsixState, MSIX_CAPABILITY_ID};

const VENDOR_CAPABILITY_ID: u8 = 0x09;
const CFG_TYPE_COMMON: u8 = 1;
const CFG_TYPE_NOTIFY: u8 = 2;
const CFG_TYPE_ISR: u8 = 3;
const CFG_TYPE_DEVICE: u8 = 4;
const CFG_TYPE_PCI: u8 = 5;

/// struct virtio_pci_cap is 16 bytes; the PCI_CFG capability adds 4 bytes of data.
const CAP_LEN: u8 = 16;
/// Offsets within the PCI_CFG capability (from its ID byte).
const PCI_CFG_BAR: usize = 4;
const PCI_CFG_OFFSET: usize = 8;
const PCI_CFG_LENGTH: usize = 12;
const PCI_CFG_DATA: usize = 16;

/// The body of a `virtio_pci_cap` after ID and next: cap_len, cfg_type, bar, id, padding,
/// offset, length, then `extra`.
fn vendor_body(cfg_type: u8, offset: u64, length: u64, extra: &[u8]) -> Vec<u8> {
    let mut body = vec![CAP_LEN + extra.len() as u8, cfg_type, 0, 0, 0, 0];
    body.extend_from_slice(&(offset as u32).to_le_bytes());
    body.extend_from_slice(&(length as u32).to_le_bytes());
    body.extend_from_slice(extra);
    body
}

/// Adds every capability; returns the offsets of the MSI-X and PCI_CFG capabilities.
pub(super) fn add_all(
    config: &mut PciConfiguration,
    queues: u16,
    msix: &MsixState,
) -> Result<(usize, usize), ConfigError> {
    let notify_len = u64::from(queues) * u64::from(NOTIFY_OFF_MULTIPLIER);
    let caps = [
        vendor_body(CFG_TYPE_COMMON, COMMON_CFG_OFFSET, COMMON_CFG_SIZE, &[]),
        vendor_body(
            CFG_TYPE_NOTIFY,
            NOTIFY_OFFSET,
            notify_len,
            &NOTIFY_OFF_MULTIPLIER.to_le_bytes(),
        ),
        vendor_body(CFG_TYPE_ISR, ISR_OFFSET, ISR_SIZE, &[]),
        vendor_body(CFG_TYPE_DEVICE, DEVICE_CFG_OFFSET, DEVICE_CFG_SIZE, &[]),
    ];
    for body in &caps {
        config.add_capability(VENDOR_CAPABILITY_ID, body, &[])?;
    }
    // PCI_CFG: bar, offset, length and data are the driver's to write.
    let pci_body = vendor_body(CFG_TYPE_PCI, 0, 0, &[0; 4]);
    let mut writable = vec![0u8; pci_body.len()];
    writable[PCI_CFG_BAR - 2] = 0xff;
    writable[PCI_CFG_OFFSET - 2..PCI_CFG_DATA + 4 - 2].fill(0xff);
    let pci_cfg = config.add_capability(VENDOR_CAPABILITY_ID, &pci_body, &writable)?;
    let (body, writable) =
        msix.capability_body(0, MSIX_TABLE_OFFSET as u32, 0, MSIX_PBA_OFFSET as u32);
    let msix_cap = config.add_capability(MSIX_CAPABILITY_ID, &body, &writable)?;
    Ok((msix_cap, pci_cfg))
}

fn overlaps(offset: usize, len: usize, start: usize, size: usize) -> bool {
    offset < start + size && start < offset + len
}

impl VirtioPciDevice {
    /// The BAR0 access the PCI_CFG capability describes, if it is one the spec allows.
    fn pci_cfg_window(&self) -> Option<(u64, usize)> {
        let cap = self.pci_cfg_cap;
        let mut bar = [0u8];
        self.config.read(cap + PCI_CFG_BAR, &mut bar);
        let offset = u64::from(self.config.u32_at(cap + PCI_CFG_OFFSET));
        let length = self.config.u32_at(cap + PCI_CFG_LENGTH) as usize;
        let ok = bar[0] == 0
            && matches!(length, 1 | 2 | 4)
            && offset % length as u64 == 0
            && offset + length as u64 <= BAR0_SIZE;
        ok.then_some((offset, length))
    }

    /// A read touching pci_cfg_data first performs the BAR access into it (4.1.4.7.2).
    pub(super) fn pci_cfg_before_read(&mut self, offset: usize, len: usize) {
        let data_at = self.pci_cfg_cap + PCI_CFG_DATA;
        if !overlaps(offset, len, data_at, 4) {
            return;
        }
        let mut buf = [0u8; 4];
        if let Some((bar_offset, length)) = self.pci_cfg_window() {
            self.read_bar0(bar_offset, &mut buf[..length]);
        }
        self.config.set_u32(data_at, u32::from_le_bytes(buf));
    }

    /// After a config write: forward MSI-X control changes, and perform a PCI_CFG write.
    pub(super) fn after_config_write(&mut self, offset: usize, len: usize) {
        let control_at = self.msix_cap + 2;
        if overlaps(offset, len, control_at, 2) {
            let control = self.config.u16_at(control_at);
            let sink = self.interrupt.sink.clone();
            lock(&self.interrupt.msix).set_control(control, sink.as_ref());
        }
        let data_at = self.pci_cfg_cap + PCI_CFG_DATA;
        if overlaps(offset, len, data_at, 4) {
            if let Some((bar_offset, length)) = self.pci_cfg_window() {
                let bytes = self.config.u32_at(data_at).to_le_bytes();
                self.write_bar0(bar_offset, &bytes[..length]);
            }
        }
    }
}

//! Configuration mechanism #1: the address latch at port 0xCF8 and the data window at
//! 0xCFC–0xCFF.
//!
//! The latch takes dword writes only and reads back exactly what was written (Linux's
//! `pci_check_type1` writes 0x80000000 and wants it back, after a byte write to 0xCFB that
//! must not disturb it). A data access at 0xCFC + n reaches register `(latch & 0xfc) + n`
//! of the addressed function when the enable bit is set; otherwise reads are all-ones and
//! writes are dropped.

use std::sync::Arc;

use super::bus::PciBus;
use crate::bus::BusDevice;

/// First port of the mechanism and how many ports it decodes.
pub const PCI_CONFIG_IO_PORT: u64 = 0xcf8;
pub const PCI_CONFIG_IO_PORT_COUNT: u64 = 8;

const ENABLE: u32 = 1 << 31;
const DATA_OFFSET: u64 = 4;

pub struct PciConfigIo {
    bus: Arc<PciBus>,
    latch: u32,
}

impl PciConfigIo {
    pub fn new(bus: Arc<PciBus>) -> Self {
        PciConfigIo { bus, latch: 0 }
    }

    /// Bus, devfn and register for a data access at port offset 4 + `n`, if enabled.
    fn target(&self, n: u64) -> Option<(u8, u8, usize)> {
        if self.latch & ENABLE == 0 {
            return None;
        }
        let bus = (self.latch >> 16) as u8;
        let devfn = (self.latch >> 8) as u8;
        let register = (self.latch & 0xfc) as usize + n as usize;
        Some((bus, devfn, register))
    }
}

impl BusDevice for PciConfigIo {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        if offset < DATA_OFFSET {
            let bytes = self.latch.to_le_bytes();
            for (i, b) in data.iter_mut().enumerate() {
                *b = bytes.get(offset as usize + i).copied().unwrap_or(0xff);
            }
            return;
        }
        // An access running past 0xCFF only gets the bytes inside the window.
        let n = offset - DATA_OFFSET;
        let inside = data.len().min(4usize.saturating_sub(n as usize));
        data.fill(0xff);
        if let Some((bus, devfn, register)) = self.target(n) {
            self.bus
                .config_read(bus, devfn, register, &mut data[..inside]);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if offset < DATA_OFFSET {
            // Only a whole-dword write at 0xCF8 sets the latch (as on PIIX and in QEMU).
            if let (0, Ok(bytes)) = (offset, <[u8; 4]>::try_from(data)) {
                self.latch = u32::from_le_bytes(bytes);
            }
            return;
        }
        let n = offset - DATA_OFFSET;
        let inside = data.len().min(4usize.saturating_sub(n as usize));
        if let Some((bus, devfn, register)) = self.target(n) {
            self.bus.config_write(bus, devfn, register, &data[..inside]);
        }
    }
}

//! The PCI memory window on the MMIO bus: one bus range covering the BAR space, decoded by
//! the PCI bus itself. BARs can then move (guest relocation, sizing, memory-enable toggles)
//! without the VMM re-inserting anything into its MMIO bus.

use std::sync::Arc;

use super::bus::PciBus;
use crate::bus::BusDevice;

pub struct PciMmioWindow {
    bus: Arc<PciBus>,
    base: u64,
}

impl PciMmioWindow {
    /// `base` is where the VMM inserts this device on its MMIO bus; offsets it receives are
    /// turned back into guest-physical addresses.
    pub fn new(bus: Arc<PciBus>, base: u64) -> Self {
        PciMmioWindow { bus, base }
    }
}

impl BusDevice for PciMmioWindow {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        match self.base.checked_add(offset) {
            Some(addr) => {
                self.bus.mmio_read(addr, data);
            }
            None => data.fill(0xff),
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if let Some(addr) = self.base.checked_add(offset) {
            self.bus.mmio_write(addr, data);
        }
    }
}

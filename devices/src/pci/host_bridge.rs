//! The host bridge at 00:00.0. Linux's conf1 probe (`pci_sanity_check`) wants a host
//! bridge or an Intel/Compaq function on bus 0; QEMU's `pc` machine has the i440FX here.

use super::bar::BarMove;
use super::configuration::{PciConfiguration, PciHeader};
use super::device::PciDevice;

/// QEMU's type name for it (used in slot-conflict errors).
pub const HOST_BRIDGE_TYPE: &str = "i440FX";

/// An i440FX PMC as QEMU's `pc` machine presents it: 8086:1237 rev 2, class 0x060000,
/// subsystem 1af4:1100. Its chipset registers (PAM, SMRAM) are not modelled; writes to them
/// are dropped.
pub struct HostBridge {
    config: PciConfiguration,
}

impl HostBridge {
    pub fn new() -> Self {
        let mut config = PciConfiguration::new(&PciHeader {
            vendor_id: 0x8086,
            device_id: 0x1237,
            revision: 0x02,
            class_code: 0x06_00_00,
            subsystem_vendor_id: 0x1af4,
            subsystem_id: 0x1100,
            multifunction: false,
            interrupt_pin: 0,
        });
        config.freeze_reset_state();
        HostBridge { config }
    }
}

impl Default for HostBridge {
    fn default() -> Self {
        Self::new()
    }
}

impl PciDevice for HostBridge {
    fn config_read(&mut self, offset: usize, data: &mut [u8]) {
        self.config.read(offset, data);
    }

    fn config_write(&mut self, offset: usize, data: &[u8]) -> Option<BarMove> {
        self.config.write(offset, data)
    }

    fn memory_windows(&self) -> Vec<(usize, u64, u64)> {
        Vec::new()
    }

    fn reset(&mut self) -> Vec<BarMove> {
        self.config.reset()
    }
}

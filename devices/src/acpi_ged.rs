//! The ACPI Generic Event Device (`ACPI0013`): how a HW-reduced ACPI machine signals events,
//! here the power button that `system_powerdown` presses.
//!
//! The layout is QEMU's GED (as on its microvm machine): one 32-bit event selector register
//! that the DSDT's `_EVT` method reads, an edge-triggered interrupt, and the selector bit
//! [`POWER_DOWN_EVENT`] meaning "notify the power button device (`PNP0C0C`) with 0x80".
//! Reading the selector returns the pending events and clears them.

use vmm_sys_util::eventfd::EventFd;

use crate::bus::BusDevice;

/// The selector register's offset and width in bytes.
pub const SELECTOR_OFFSET: u64 = 0;
pub const SELECTOR_LEN: u64 = 4;
/// The selector bit of a power-button press (QEMU's `ACPI_GED_PWR_DOWN_EVT`).
pub const POWER_DOWN_EVENT: u32 = 1 << 1;

pub struct AcpiGed {
    pending: u32,
    /// An irqfd: each write is one edge on the GED's interrupt line.
    irq: EventFd,
}

impl AcpiGed {
    pub fn new(irq: EventFd) -> Self {
        AcpiGed { pending: 0, irq }
    }

    /// Presses the power button: the guest's OSPM sees a power-button notification.
    pub fn power_button(&mut self) {
        self.pending |= POWER_DOWN_EVENT;
        // A full counter means an interrupt is already on its way; nothing is lost.
        let _ = self.irq.write(1);
    }

    /// Forgets pending events (machine reset).
    pub fn reset(&mut self) {
        self.pending = 0;
    }
}

impl BusDevice for AcpiGed {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        // Only whole-register reads mean anything; the DSDT's field uses DWord access.
        if offset == SELECTOR_OFFSET && data.len() == SELECTOR_LEN as usize {
            data.copy_from_slice(&self.pending.to_le_bytes());
            self.pending = 0;
        }
    }

    fn write(&mut self, _offset: u64, _data: &[u8]) {
        // The selector is read-only (the DSDT's field is WriteAsZeros and never written).
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(ged: &mut AcpiGed, len: usize) -> Vec<u8> {
        let mut data = vec![0xaa; len];
        ged.read(SELECTOR_OFFSET, &mut data);
        data
    }

    #[test]
    fn power_button_sets_the_selector_and_raises_an_edge() {
        let irq = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let mut ged = AcpiGed::new(irq.try_clone().unwrap());
        assert_eq!(read(&mut ged, 4), [0, 0, 0, 0]);
        ged.power_button();
        assert_eq!(irq.read().unwrap(), 1);
        assert_eq!(read(&mut ged, 4), [2, 0, 0, 0]);
        // Reading cleared it.
        assert_eq!(read(&mut ged, 4), [0, 0, 0, 0]);
    }

    #[test]
    fn partial_reads_and_writes_change_nothing() {
        let irq = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let mut ged = AcpiGed::new(irq);
        ged.power_button();
        assert_eq!(read(&mut ged, 1), [0]);
        ged.write(0, &[0, 0, 0, 0]);
        assert_eq!(read(&mut ged, 4), [2, 0, 0, 0]);
        ged.power_button();
        ged.reset();
        assert_eq!(read(&mut ged, 4), [0, 0, 0, 0]);
    }
}

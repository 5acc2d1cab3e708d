//! What a PCI function implements to sit on a [`super::PciBus`].

use super::bar::BarMove;

/// A function on the PCI bus. Config accesses arrive through port 0xCF8/0xCFC, BAR accesses
/// through the bus's MMIO window, both on vCPU threads. Offsets and lengths reaching these
/// methods are already bounded: `offset + data.len() <= 256` for configuration space and
/// `offset + data.len() <= size` for a BAR.
pub trait PciDevice: Send {
    /// Reads configuration space.
    fn config_read(&mut self, offset: usize, data: &mut [u8]);

    /// Writes configuration space. Returns the BAR whose decode address changed, if any.
    fn config_write(&mut self, offset: usize, data: &[u8]) -> Option<BarMove>;

    /// Memory BARs decoded now: (BAR index, base, size). Empty while the command register's
    /// memory bit is clear.
    fn memory_windows(&self) -> Vec<(usize, u64, u64)>;

    /// Reads from memory BAR `bar` at `offset`.
    fn bar_read(&mut self, bar: usize, offset: u64, data: &mut [u8]) {
        let _ = (bar, offset);
        data.fill(0xff);
    }

    /// Writes to memory BAR `bar` at `offset`.
    fn bar_write(&mut self, bar: usize, offset: u64, data: &[u8]) {
        let _ = (bar, offset, data);
    }

    /// Machine reset: the function returns to its power-on state. Returns BARs that moved
    /// back to their assigned addresses.
    fn reset(&mut self) -> Vec<BarMove> {
        Vec::new()
    }
}

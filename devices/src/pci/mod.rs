//! PCI: bus 0 with an i440FX host bridge, configuration mechanism #1 (ports 0xCF8/0xCFC),
//! type-0 configuration spaces with BARs and capabilities, MSI-X, and a BAR-decoding MMIO
//! window.
//!
//! Wiring (VMM side):
//! - build a [`PciBus`], add functions with [`PciBus::add_device`], then share it in an `Arc`;
//! - put a [`PciConfigIo`] on the port bus at [`PCI_CONFIG_IO_PORT`] (8 ports);
//! - put a [`PciMmioWindow`] on the MMIO bus over the BAR window (e.g. 0xC000_0000 up to the
//!   IOAPIC), so BAR accesses reach functions wherever the guest places their BARs;
//! - implement [`PciBarEvents`] to hear about BAR moves (to move ioeventfds) and
//!   [`MsiInterrupt`] to deliver MSI-X messages.

pub mod address;
pub mod allocator;
pub mod bar;
pub mod bus;
pub mod config_io;
pub mod configuration;
pub mod device;
pub mod host_bridge;
pub mod mmio;
pub mod msi;
pub mod msix;

#[cfg(test)]
mod tests;

pub use address::{InvalidPciAddr, InvalidPciDevfnInt, PciDevfn};
pub use allocator::BarAllocator;
pub use bar::{Bar, BarKind, BarMove};
pub use bus::{
    PciBarEvents, PciBus, PciFunctionEntry, PciFunctionInfo, PciSlotError, SharedPciDevice,
};
pub use config_io::{PciConfigIo, PCI_CONFIG_IO_PORT, PCI_CONFIG_IO_PORT_COUNT};
pub use configuration::{PciConfiguration, PciHeader};
pub use device::PciDevice;
pub use host_bridge::HostBridge;
pub use mmio::PciMmioWindow;
pub use msi::MsiInterrupt;
pub use msix::MsixState;

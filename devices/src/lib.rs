//! Emulated devices: the port-I/O and MMIO buses, legacy PC devices, PCI and virtio.

pub mod acpi_ged;
pub mod acpi_pm;
pub mod bus;
pub mod legacy;
pub mod pci;
pub mod virtio;

/// A request a device makes of the machine as a whole. Devices run on vCPU threads; the
/// machine acts on these on its own thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineRequest {
    /// The guest asked for a reset (i8042 pulse, ACPI reset register).
    Reset,
    /// The guest asked to power off (ACPI S5).
    PowerOff,
}

/// Where devices send [`MachineRequest`]s.
pub trait MachineRequestSink: Send + Sync {
    fn request(&self, request: MachineRequest);
}

//! Guest-physical memory layout, in one place.
//!
//! ```text
//! 0x0000_0000  RAM (boot structures below, reusable by the guest)
//!   0x0500       GDT (64-bit boot)                 0x0520  IDT (empty)
//!   0x6000       PVH start_info, then its memory map
//!   0x7000       Linux zero page (boot_params)
//!   0x8ff0       boot stack top (64-bit boot)
//!   0x9000       PML4, 0xa000 PDPT, 0xb000 PD (64-bit boot, 1 GiB identity map)
//!   0x20000      kernel command line
//!   0x9fc00      MP table (last KiB of base memory, where Linux scans)
//! 0x000e_0000  ACPI tables (RSDP first, in the BIOS area Linux scans), reserved to 1 MiB
//! 0x0010_0000  kernel
//! ...          RAM up to min(size, 3 GiB)
//! 0xc000_0000  32-bit PCI hole: BARs, then IOAPIC, LAPIC, TSS
//! 0x1_0000_0000 RAM above 4 GiB
//! ```

/// Boot GDT and IDT (64-bit Linux boot protocol).
pub const BOOT_GDT_START: u64 = 0x500;
pub const BOOT_IDT_START: u64 = 0x520;
/// PVH `hvm_start_info`, followed by its memory map.
pub const PVH_INFO_START: u64 = 0x6000;
/// Linux `boot_params` (the zero page).
pub const ZERO_PAGE_START: u64 = 0x7000;
/// Initial stack for the 64-bit boot protocol.
pub const BOOT_STACK_POINTER: u64 = 0x8ff0;
/// Identity page tables for the 64-bit boot protocol.
pub const PML4_START: u64 = 0x9000;
pub const PDPTE_START: u64 = 0xa000;
pub const PDE_START: u64 = 0xb000;
/// Kernel command line and its maximum size (Linux's COMMAND_LINE_SIZE on x86 is 2048;
/// the boot protocol lets the header say more).
pub const CMDLINE_START: u64 = 0x20000;
pub const CMDLINE_MAX_SIZE: usize = 0x10000;
/// Start of the EBDA-like area holding the MP table; base memory ends here.
pub const EBDA_START: u64 = 0x9fc00;
/// ACPI tables, in the BIOS read-only area Linux scans for the RSDP.
pub const ACPI_START: u64 = 0xe0000;
pub const ACPI_END: u64 = 0x10_0000;
/// Where high memory (and the kernel) starts.
pub const HIMEM_START: u64 = 0x10_0000;

/// The 32-bit MMIO hole below 4 GiB.
pub const MMIO32_START: u64 = 0xc000_0000;
pub const MMIO32_END: u64 = 0x1_0000_0000;
/// PCI BAR window inside the hole (up to the ACPI GED's page).
pub const PCI_MMIO32_START: u64 = MMIO32_START;
pub const PCI_MMIO32_END: u64 = ACPI_GED_START;
/// The ACPI Generic Event Device's registers: where QEMU's microvm puts its GED.
pub const ACPI_GED_START: u64 = 0xfea0_0000;
pub const IOAPIC_START: u64 = 0xfec0_0000;
pub const LAPIC_START: u64 = 0xfee0_0000;
/// KVM's TSS (3 pages) and identity-map page, kept out of RAM and BAR space.
pub const KVM_IDENTITY_MAP_START: u64 = 0xfffb_c000;
pub const KVM_TSS_START: u64 = 0xfffb_d000;
/// RAM resumes here when the guest has more than the hole allows below 4 GiB.
pub const HIGH_RAM_START: u64 = 0x1_0000_0000;

/// The HW-reduced ACPI power-management ports (sleep control/status, reset).
pub const ACPI_PM_PORT: u64 = 0x600;
/// The ISA IRQ the ACPI SCI would use (advertised in the FADT; unused when HW-reduced).
pub const ACPI_SCI_IRQ: u16 = 9;
/// The ACPI GED's interrupt (edge, active high), as on QEMU's microvm; ACPICA installs no
/// SCI handler on HW-reduced machines, so sharing the number with the SCI is harmless.
pub const ACPI_GED_IRQ: u32 = 9;

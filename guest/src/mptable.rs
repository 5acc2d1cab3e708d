//! The Intel MultiProcessor Specification table (1.4), used when there is no ACPI.

use crate::mem::{bytes, read16, read32, read8, scan16};
use crate::platform::Platform;

const FLOATING_SIGNATURE: u32 = u32::from_le_bytes(*b"_MP_");
const CONFIG_SIGNATURE: u32 = u32::from_le_bytes(*b"PCMP");

/// The MP floating pointer structure: in the last KiB of base memory, else in
/// the BIOS ROM area (16-byte aligned, 16 bytes summing to 0).
pub fn find() -> Option<u64> {
    [(0x9_fc00, 0xa_0000), (0xf_0000, 0x10_0000)]
        .into_iter()
        .find_map(|(mut from, end)| {
            while let Some(a) = scan16(from, end, |a| read32(a) == FLOATING_SIGNATURE) {
                if bytes(a, 16).iter().fold(0u8, |s, &b| s.wrapping_add(b)) == 0 {
                    return Some(a);
                }
                from = a + 16;
            }
            None
        })
}

/// Processors (enabled), the first IOAPIC, the pin of ISA IRQ `isa_irq`.
/// False if there is no configuration table (a "default configuration").
pub fn read(floating: u64, isa_irq: u8, p: &mut Platform) -> bool {
    let table = u64::from(read32(floating + 4));
    if table == 0 || read32(table) != CONFIG_SIGNATURE {
        return false;
    }
    // Like Linux, walk the base table by its length (some firmware leaves the
    // entry count at 0).
    let end = table + u64::from(read16(table + 4));
    let mut entry = table + 44;
    let mut isa_bus = None;
    while entry < end {
        let len = match read8(entry) {
            // Processor: APIC id, APIC version, flags (bit 0: enabled).
            0 => {
                if read8(entry + 3) & 1 != 0 {
                    p.add_cpu(read8(entry + 1));
                }
                20
            }
            // Bus: id, type ("ISA   ").
            1 => {
                if bytes(entry + 2, 3) == b"ISA" {
                    isa_bus = Some(read8(entry + 1));
                }
                8
            }
            // I/O APIC: id, version, flags (bit 0: enabled), address.
            2 => {
                if read8(entry + 3) & 1 != 0 && p.ioapic_base == 0 {
                    p.ioapic_base = u64::from(read32(entry + 4));
                }
                8
            }
            // I/O interrupt assignment: type, flags, source bus/IRQ, IOAPIC id/pin.
            3 => {
                if read8(entry + 1) == 0
                    && Some(read8(entry + 4)) == isa_bus
                    && read8(entry + 5) == isa_irq
                {
                    p.serial_gsi = u32::from(read8(entry + 7));
                    p.serial_flags = read16(entry + 2);
                }
                8
            }
            4 => 8, // local interrupt assignment
            _ => break,
        };
        entry += len;
    }
    true
}

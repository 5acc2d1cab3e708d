//! ACPI tables: the RSDP, the XSDT/RSDT, the MADT (CPUs, IOAPIC, overrides) and
//! the DSDT's `\_S5_` sleep type. No checksums except the RSDP's when found by
//! scanning: each byte summed is an emulated kernel-mode instruction or three.

use crate::mem::{bytes, read16, read32, read64, read8, scan16};
use crate::platform::Platform;

const RSDP_SIGNATURE: u64 = u64::from_le_bytes(*b"RSD PTR ");
const HEADER_LEN: u64 = 36;

/// The RSDP: `hint` (start_info.rsdp_paddr) if it holds one, else the first
/// valid one in the BIOS area 0xe0000-0xfffff (16-byte steps).
pub fn find_rsdp(hint: u64) -> Option<u64> {
    if hint != 0 && read64(hint) == RSDP_SIGNATURE {
        return Some(hint);
    }
    let mut from = 0xe_0000;
    while let Some(a) = scan16(from, 0x10_0000, |a| read64(a) == RSDP_SIGNATURE) {
        if checksum(a, 20) == 0 {
            return Some(a);
        }
        from = a + 16;
    }
    None
}

fn checksum(addr: u64, len: usize) -> u8 {
    bytes(addr, len)
        .iter()
        .fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// Addresses of the tables the XSDT (ACPI 2.0+) or else the RSDT lists.
fn tables(rsdp: u64) -> impl Iterator<Item = u64> {
    let xsdt = if read8(rsdp + 15) >= 2 {
        read64(rsdp + 24)
    } else {
        0
    };
    let (root, width) = if xsdt != 0 {
        (xsdt, 8)
    } else {
        (u64::from(read32(rsdp + 16)), 4)
    };
    let len = if root == 0 {
        0
    } else {
        u64::from(read32(root + 4))
    };
    let count = len.saturating_sub(HEADER_LEN) / width;
    (0..count).map(move |i| {
        let entry = root + HEADER_LEN + i * width;
        if width == 8 {
            read64(entry)
        } else {
            u64::from(read32(entry))
        }
    })
}

/// The first table with signature `sig`.
pub fn find_table(rsdp: u64, sig: &[u8; 4]) -> Option<u64> {
    let sig = u32::from_le_bytes(*sig);
    tables(rsdp).find(|&t| t != 0 && read32(t) == sig)
}

/// The DSDT the FADT names: X_DSDT (offset 140) if the table has it and it is set,
/// else DSDT (offset 40).
pub fn fadt_dsdt(fadt: u64) -> Option<u64> {
    let len = u64::from(read32(fadt + 4));
    let x_dsdt = if len >= 148 { read64(fadt + 140) } else { 0 };
    let dsdt = if x_dsdt != 0 || len < 44 {
        x_dsdt
    } else {
        u64::from(read32(fadt + 40))
    };
    Some(dsdt).filter(|&d| d != 0)
}

/// MADT ("APIC"): enabled local APICs, the first IOAPIC, the override of ISA IRQ
/// `isa_irq`. Returns false if there is no MADT.
pub fn read_madt(rsdp: u64, isa_irq: u8, p: &mut Platform) -> bool {
    let Some(madt) = find_table(rsdp, b"APIC") else {
        return false;
    };
    let len = u64::from(read32(madt + 4));
    let mut off = HEADER_LEN + 8; // local APIC address, flags
    while off + 2 <= len {
        let entry = madt + off;
        let entry_len = u64::from(read8(entry + 1));
        if entry_len < 2 || off + entry_len > len {
            break;
        }
        match read8(entry) {
            // Processor local APIC: ACPI id, APIC id, flags (bit 0: enabled).
            0 if entry_len >= 8 && read32(entry + 4) & 1 != 0 => p.add_cpu(read8(entry + 3)),
            // I/O APIC: id, reserved, address, GSI base.
            1 if entry_len >= 12 && p.ioapic_base == 0 => {
                p.ioapic_base = u64::from(read32(entry + 4));
                p.ioapic_gsi_base = read32(entry + 8);
            }
            // Interrupt source override: bus 0 (ISA), source IRQ, GSI, MPS flags.
            2 if entry_len >= 10 && read8(entry + 2) == 0 && read8(entry + 3) == isa_irq => {
                p.serial_gsi = read32(entry + 4);
                p.serial_flags = read16(entry + 8);
            }
            _ => {}
        }
        off += entry_len;
    }
    true
}

/// SLP_TYPa for S5: the first element of the DSDT's `_S5_` package
/// (`Name (_S5, Package (n) { a, ... })`).
pub fn s5_sleep_type(dsdt: u64) -> Option<u8> {
    let len = u64::from(read32(dsdt + 4));
    let name = u32::from_le_bytes(*b"_S5_");
    let at = (HEADER_LEN..len.saturating_sub(8)).find(|&i| read32(dsdt + i) == name)?;
    let mut p = dsdt + at + 4;
    if read8(p) != 0x12 {
        return None; // not PackageOp
    }
    // PkgLength: bits 7:6 of the lead byte = number of extra length bytes.
    p += 2 + u64::from(read8(p + 1) >> 6);
    p += 1; // NumElements
    match read8(p) {
        0x0a => Some(read8(p + 1)), // BytePrefix
        0x00 => Some(0),            // ZeroOp
        0x01 => Some(1),            // OneOp
        _ => None,
    }
}

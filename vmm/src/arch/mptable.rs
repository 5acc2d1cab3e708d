//! The Intel MultiProcessor Specification 1.4 table: CPUs, the ISA bus, the IOAPIC and
//! interrupt routing, for guests that do not use ACPI (Linux with `acpi=off`, simple kernels).

use super::layout::{EBDA_START, IOAPIC_START, LAPIC_START};

const MPC_SIGNATURE: &[u8; 4] = b"PCMP";
const MPF_SIGNATURE: &[u8; 4] = b"_MP_";
const MP_PROCESSOR: u8 = 0;
const MP_BUS: u8 = 1;
const MP_IOAPIC: u8 = 2;
const MP_INTSRC: u8 = 3;
const MP_LINTSRC: u8 = 4;
const CPU_ENABLED: u8 = 1;
const CPU_BOOTPROCESSOR: u8 = 2;
const MP_IRQTYPE_INT: u8 = 0;
const MP_IRQTYPE_NMI: u8 = 1;
const MP_IRQTYPE_EXTINT: u8 = 3;
const MP_IOAPIC_USABLE: u8 = 1;
const APIC_VERSION: u8 = 0x14;
const IOAPIC_VERSION: u8 = 0x11;
/// Interrupts the IOAPIC routes (KVM's in-kernel IOAPIC has 24 pins).
const IOAPIC_PINS: u8 = 24;
const ISA_BUS_ID: u8 = 0;

fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)))
}

/// Builds the floating pointer and configuration table, to be written at [`EBDA_START`].
/// `apic_ids[i]` is vCPU i's APIC id; the IOAPIC id is `ioapic_id`.
pub fn build(apic_ids: &[u8], ioapic_id: u8) -> Vec<u8> {
    // Entries first, then the header that counts and checksums them.
    let mut entries = Vec::new();
    let mut count: u16 = 0;
    // CPUID signature and feature flags of a generic family-6 CPU with FPU and APIC.
    let cpu_signature: u32 = 0x600;
    let feature_flags: u32 = (1 << 0) | (1 << 9);
    for (i, &apic_id) in apic_ids.iter().enumerate() {
        let flags = CPU_ENABLED | if i == 0 { CPU_BOOTPROCESSOR } else { 0 };
        entries.extend_from_slice(&[MP_PROCESSOR, apic_id, APIC_VERSION, flags]);
        entries.extend_from_slice(&cpu_signature.to_le_bytes());
        entries.extend_from_slice(&feature_flags.to_le_bytes());
        entries.extend_from_slice(&[0; 8]);
        count += 1;
    }
    entries.extend_from_slice(&[MP_BUS, ISA_BUS_ID]);
    entries.extend_from_slice(b"ISA   ");
    count += 1;
    entries.extend_from_slice(&[MP_IOAPIC, ioapic_id, IOAPIC_VERSION, MP_IOAPIC_USABLE]);
    entries.extend_from_slice(&(IOAPIC_START as u32).to_le_bytes());
    count += 1;
    // ISA IRQ n → IOAPIC pin n, conforming polarity and trigger: KVM's default GSI routing.
    for irq in 0..IOAPIC_PINS {
        entries.extend_from_slice(&[
            MP_INTSRC,
            MP_IRQTYPE_INT,
            0,
            0,
            ISA_BUS_ID,
            irq,
            ioapic_id,
            irq,
        ]);
        count += 1;
    }
    // LINT0 ExtINT and LINT1 NMI on every local APIC (destination 0xff = all).
    entries.extend_from_slice(&[MP_LINTSRC, MP_IRQTYPE_EXTINT, 0, 0, ISA_BUS_ID, 0, 0xff, 0]);
    entries.extend_from_slice(&[MP_LINTSRC, MP_IRQTYPE_NMI, 0, 0, ISA_BUS_ID, 0, 0xff, 1]);
    count += 2;

    const FLOATING_LEN: usize = 16;
    const HEADER_LEN: usize = 44;
    let table_addr = EBDA_START as u32 + FLOATING_LEN as u32;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MPC_SIGNATURE);
    header.extend_from_slice(&((HEADER_LEN + entries.len()) as u16).to_le_bytes());
    header.push(4); // spec revision 1.4
    header.push(0); // checksum, below
    header.extend_from_slice(b"RVMM    ");
    header.extend_from_slice(b"000000000000");
    header.extend_from_slice(&0u32.to_le_bytes()); // OEM table pointer
    header.extend_from_slice(&0u16.to_le_bytes()); // OEM table size
    header.extend_from_slice(&count.to_le_bytes());
    header.extend_from_slice(&(LAPIC_START as u32).to_le_bytes());
    header.extend_from_slice(&[0; 4]); // extended table length, checksum, reserved
    let mut table = header;
    table.extend_from_slice(&entries);
    table[7] = checksum(&table);

    let mut floating = Vec::with_capacity(FLOATING_LEN);
    floating.extend_from_slice(MPF_SIGNATURE);
    floating.extend_from_slice(&table_addr.to_le_bytes());
    floating.push(1); // length in 16-byte units
    floating.push(4); // revision 1.4
    floating.push(0); // checksum, below
    floating.extend_from_slice(&[0; 5]); // feature bytes: 0 = a configuration table exists
    floating[10] = checksum(&floating);

    floating.extend_from_slice(&table);
    floating
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_and_counts() {
        let t = build(&[0, 1], 3);
        assert_eq!(&t[..4], b"_MP_");
        assert_eq!(t[..16].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
        let table = &t[16..];
        assert_eq!(&table[..4], b"PCMP");
        let len = u16::from_le_bytes([table[4], table[5]]) as usize;
        assert_eq!(len, table.len());
        assert_eq!(table.iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
        assert_eq!(
            u16::from_le_bytes([table[34], table[35]]),
            2 + 1 + 1 + 24 + 2
        );
        assert!(EBDA_START as usize + t.len() <= 0xa0000);
    }
}

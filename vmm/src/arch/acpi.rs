//! ACPI tables: RSDP, XSDT, a HW-reduced FADT, a DSDT with `\_S5`, and the MADT.
//!
//! The FADT is HW-reduced (as Cloud Hypervisor's and QEMU microvm's): power-off and reset go
//! through the sleep control and reset registers of `devices::acpi_pm`, so a guest powers off
//! the way Linux does (`acpi_hw_extended_sleep`) and the VMM sees it as a port write.

use acpi_tables::fadt::{FADTBuilder, Flags};
use acpi_tables::gas::{AccessSize, AddressSpace, GAS};
use acpi_tables::madt::{
    EnabledStatus, IoApic, LocalInterruptController, ProcessorLocalApic, MADT,
};
use acpi_tables::rsdp::Rsdp;
use acpi_tables::sdt::Sdt;
use acpi_tables::xsdt::XSDT;
use acpi_tables::{aml, Aml};
use devices::acpi_pm;

use super::layout::{ACPI_END, ACPI_PM_PORT, ACPI_SCI_IRQ, ACPI_START, IOAPIC_START, LAPIC_START};

const OEM_ID: [u8; 6] = *b"RVMM  ";
const OEM_TABLE_ID: [u8; 8] = *b"RVMMTBL ";
const OEM_REVISION: u32 = 1;
/// The IOAPIC's id sits above every CPU's APIC id (as Firecracker and crosvm do).
pub fn ioapic_id(vcpu_count: u32) -> u8 {
    (vcpu_count + 1).min(0xfe) as u8
}

/// One table blob and the guest address it goes to.
pub struct AcpiBlob {
    pub addr: u64,
    pub bytes: Vec<u8>,
}

fn bytes_of(t: &dyn Aml) -> Vec<u8> {
    let mut v = Vec::new();
    t.to_aml_bytes(&mut v);
    v
}

fn io_register(port: u64) -> GAS {
    GAS::new(AddressSpace::SystemIo, 8, 0, AccessSize::ByteAccess, port)
}

fn dsdt() -> Vec<u8> {
    let mut dsdt = Sdt::new(*b"DSDT", 36, 6, OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    // \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved.
    let s5_type = acpi_pm::S5_SLEEP_TYPE;
    let zero = 0u8;
    let s5 = aml::Name::new(
        "_S5_".into(),
        &aml::Package::new(vec![&s5_type, &zero, &zero, &zero]),
    );
    dsdt.append_slice(&bytes_of(&s5));
    dsdt.as_slice().to_vec()
}

fn fadt(dsdt_addr: u64) -> Vec<u8> {
    let mut fadt = FADTBuilder::new(OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    fadt = fadt
        .flag(Flags::HwReducedAcpi)
        .flag(Flags::ResetRegSup)
        .dsdt_64(dsdt_addr);
    fadt.sci_int = ACPI_SCI_IRQ.into();
    fadt.sleep_control_reg = io_register(ACPI_PM_PORT + acpi_pm::SLEEP_CONTROL_OFFSET);
    fadt.sleep_status_reg = io_register(ACPI_PM_PORT + acpi_pm::SLEEP_STATUS_OFFSET);
    fadt.reset_reg = io_register(ACPI_PM_PORT + acpi_pm::RESET_OFFSET);
    fadt.reset_value = acpi_pm::RESET_VALUE;
    bytes_of(&fadt.finalize())
}

fn madt(apic_ids: &[u8]) -> Vec<u8> {
    let mut madt = MADT::new(
        OEM_ID,
        OEM_TABLE_ID,
        OEM_REVISION,
        LocalInterruptController::Address(LAPIC_START as u32),
    );
    for (uid, &apic_id) in apic_ids.iter().enumerate() {
        madt.add_structure(ProcessorLocalApic::new(
            uid as u8,
            apic_id,
            EnabledStatus::Enabled,
        ));
    }
    madt.add_structure(IoApic::new(
        ioapic_id(apic_ids.len() as u32),
        IOAPIC_START as u32,
        0,
    ));
    bytes_of(&madt)
}

fn align16(x: u64) -> u64 {
    (x + 15) & !15
}

/// Lays the tables out from [`ACPI_START`]: RSDP first (Linux scans 16-byte boundaries in
/// 0xe0000..0x100000 for it), then XSDT, FADT, DSDT and MADT.
pub fn build_tables(apic_ids: &[u8]) -> Vec<AcpiBlob> {
    let rsdp_addr = ACPI_START;
    let xsdt_addr = align16(rsdp_addr + Rsdp::len() as u64);
    // The XSDT has three entries.
    let fadt_addr = align16(xsdt_addr + 36 + 3 * 8);
    let dsdt_addr = align16(fadt_addr + acpi_tables::fadt::FADT::len() as u64);
    let dsdt = dsdt();
    let fadt = fadt(dsdt_addr);
    let madt_addr = align16(dsdt_addr + dsdt.len() as u64);
    let madt = madt(apic_ids);

    let mut xsdt = XSDT::new(OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    xsdt.add_entry(fadt_addr);
    xsdt.add_entry(madt_addr);
    xsdt.add_entry(dsdt_addr);
    // (The DSDT is reached through the FADT; listing it as well is harmless and helps
    // simple table walkers.)
    let blobs = vec![
        AcpiBlob {
            addr: rsdp_addr,
            bytes: bytes_of(&Rsdp::new(OEM_ID, xsdt_addr)),
        },
        AcpiBlob {
            addr: xsdt_addr,
            bytes: bytes_of(&xsdt),
        },
        AcpiBlob {
            addr: fadt_addr,
            bytes: fadt,
        },
        AcpiBlob {
            addr: dsdt_addr,
            bytes: dsdt,
        },
        AcpiBlob {
            addr: madt_addr,
            bytes: madt,
        },
    ];
    debug_assert!(blobs
        .iter()
        .all(|b| b.addr + b.bytes.len() as u64 <= ACPI_END));
    blobs
}

/// Where the RSDP is, for boot protocols that pass it (PVH `rsdp_paddr`, `acpi_rsdp_addr`).
pub const RSDP_ADDR: u64 = ACPI_START;

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum_ok(b: &[u8]) -> bool {
        b.iter().fold(0u8, |a, x| a.wrapping_add(*x)) == 0
    }

    #[test]
    fn tables_are_well_formed() {
        let blobs = build_tables(&[0, 1, 2, 3]);
        assert_eq!(&blobs[0].bytes[..8], b"RSD PTR ");
        assert!(checksum_ok(&blobs[0].bytes[..20]));
        for b in &blobs[1..] {
            let len = u32::from_le_bytes(b.bytes[4..8].try_into().unwrap()) as usize;
            assert_eq!(len, b.bytes.len());
            assert!(checksum_ok(&b.bytes), "{:?}", &b.bytes[..4]);
        }
        let dsdt = &blobs[3].bytes;
        let s5 = dsdt.windows(4).position(|w| w == b"_S5_").unwrap();
        // NameOp _S5_ PackageOp len count BytePrefix 5
        assert_eq!(&dsdt[s5 + 4..s5 + 9], &[0x12, 7, 4, 0x0a, 5]);
        for w in blobs.windows(2) {
            assert!(w[0].addr + w[0].bytes.len() as u64 <= w[1].addr);
        }
    }
}

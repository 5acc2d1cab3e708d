//! ACPI tables: RSDP, XSDT, a HW-reduced FADT, a DSDT with `\_S5` and the power button, and
//! the MADT.
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
use devices::{acpi_ged, acpi_pm};

use super::layout::{
    ACPI_END, ACPI_GED_IRQ, ACPI_GED_START, ACPI_PM_PORT, ACPI_SCI_IRQ, ACPI_START, IOAPIC_START,
    LAPIC_START,
};

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
    dsdt.append_slice(&power_button_aml());
    dsdt.as_slice().to_vec()
}

/// `\_SB.GED_` (the Generic Event Device) and `\_SB.PWRB` (the power button it notifies),
/// in QEMU's shape for its microvm machine, so OSPMs (Linux's `acpi_ged` and `button`
/// drivers) treat `system_powerdown` as a power-button press:
///
/// ```text
/// Device (GED_) { _HID "ACPI0013", _UID "GED", _CRS { Interrupt (edge, high) { IRQ } },
///     OperationRegion (EREG, SystemMemory, BASE, 4), Field (EREG, DWordAcc) { ESEL, 32 },
///     Method (_EVT, 1, Serialized) { Local0 = ESEL
///         If ((Local0 & 2) == 2) { Notify (PWRB, 0x80) } } }
/// Device (PWRB) { _HID "PNP0C0C", _UID 0 }
/// ```
fn power_button_aml() -> Vec<u8> {
    let irq = aml::Interrupt::new(true, true, false, false, ACPI_GED_IRQ);
    let crs = aml::ResourceTemplate::new(vec![&irq]);
    let hid = aml::Name::new("_HID".into(), &"ACPI0013");
    let uid = aml::Name::new("_UID".into(), &"GED");
    let crs_name = aml::Name::new("_CRS".into(), &crs);
    let base = ACPI_GED_START as u32;
    let len = acpi_ged::SELECTOR_LEN as u32;
    let region = aml::OpRegion::new("EREG".into(), aml::OpRegionSpace::SystemMemory, &base, &len);
    let field = aml::Field::new(
        "EREG".into(),
        aml::FieldAccessType::DWord,
        aml::FieldLockRule::NoLock,
        aml::FieldUpdateRule::WriteAsZeroes,
        vec![aml::FieldEntry::Named(*b"ESEL", 32)],
    );
    let esel = aml::Path::new("ESEL");
    let selected = aml::Local(0);
    let store = aml::Store::new(&selected, &esel);
    let event = acpi_ged::POWER_DOWN_EVENT;
    let masked = aml::And::new(&aml::ZERO, &selected, &event);
    let is_power_down = aml::Equal::new(&masked, &event);
    let pwrb = aml::Path::new("PWRB");
    let notify_value = 0x80u8;
    let notify = aml::Notify::new(&pwrb, &notify_value);
    let if_power_down = aml::If::new(&is_power_down, vec![&notify]);
    let evt = aml::Method::new("_EVT".into(), 1, true, vec![&store, &if_power_down]);
    let ged = aml::Device::new(
        "GED_".into(),
        vec![&hid, &uid, &crs_name, &region, &field, &evt],
    );
    let button_hid = aml::Name::new("_HID".into(), &"PNP0C0C");
    let zero = 0u8;
    let button_uid = aml::Name::new("_UID".into(), &zero);
    let button = aml::Device::new("PWRB".into(), vec![&button_hid, &button_uid]);
    bytes_of(&aml::Scope::new("\\_SB_".into(), vec![&ged, &button]))
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

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn dsdt_has_the_ged_and_its_power_button() {
        let dsdt = &build_tables(&[0])[3].bytes;
        // Scope (\_SB) holds Device (GED_) then Device (PWRB).
        // (A PkgLength of one or two bytes sits between an op and its name.)
        let scope = find(dsdt, b"\\_SB_").unwrap();
        assert!(dsdt[scope - 3..scope - 1].contains(&0x10), "ScopeOp");
        let ged = find(dsdt, b"GED_").unwrap();
        assert!(
            find(&dsdt[ged - 4..ged], &[0x5b, 0x82]).is_some(),
            "DeviceOp"
        );
        assert!(ged > scope);
        assert!(find(dsdt, b"\x0dACPI0013\0").unwrap() > ged);
        // Extended interrupt descriptor: consumer, edge, active high, exclusive, IRQ 9.
        assert!(find(dsdt, &[0x89, 6, 0, 0x03, 1, 9, 0, 0, 0]).is_some());
        // OperationRegion (EREG, SystemMemory, 0xfea00000, 4).
        assert!(find(
            dsdt,
            &[0x5b, 0x80, b'E', b'R', b'E', b'G', 0, 0x0c, 0, 0, 0xa0, 0xfe, 0x0a, 4]
        )
        .is_some());
        // If (LEqual (And (Local0, 2, Zero), 2)) { Notify (PWRB, 0x80) }
        assert!(find(
            dsdt,
            &[0x93, 0x7b, 0x60, 0x0a, 2, 0, 0x0a, 2, 0x86, b'P', b'W', b'R', b'B', 0x0a, 0x80]
        )
        .is_some());
        let button = find(dsdt, b"PWRB\x08_HID\x0dPNP0C0C\0").unwrap();
        assert!(button > ged);
    }
}

//! The ACPI power button on a HW-reduced machine: the Generic Event Device
//! (`ACPI0013`) whose `_EVT` notifies `PWRB`. What an OSPM (Linux's `acpi_ged` and
//! `button` drivers) does is done here without an AML interpreter: the DSDT is
//! scanned for the device, its `_CRS` interrupt and the operation region of the
//! event selector (`ESEL`), and on the interrupt a set power-down bit (bit 1, the
//! bit the `_EVT` method tests) powers the machine off, as a default OSPM policy
//! (systemd's HandlePowerKey=poweroff) would.

use crate::abi::{GED_VECTOR, IDENTITY_MAP_END};
use crate::line::println;
use crate::mem::{read32, read8};
use crate::platform::Platform;
use crate::{acpi, ioapic, power};
use core::sync::atomic::{AtomicU64, Ordering};

/// How far past the `_HID` string the device's `_CRS` and region are looked for.
const DEVICE_SCAN: u64 = 512;
/// The selector bit the `_EVT` method turns into `Notify (PWRB, 0x80)`.
const POWER_DOWN_EVENT: u32 = 1 << 1;

/// The event selector's address (0: no GED).
static SELECTOR: AtomicU64 = AtomicU64::new(0);

/// An AML integer (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix) at `p`.
fn aml_integer(p: u64) -> Option<u64> {
    match read8(p) {
        0x00 => Some(0),
        0x01 => Some(1),
        0x0a => Some(u64::from(read8(p + 1))),
        0x0b => Some(u64::from(read8(p + 1)) | u64::from(read8(p + 2)) << 8),
        0x0c => Some(u64::from(read32(p + 1))),
        0x0e => Some(u64::from(read32(p + 1)) | u64::from(read32(p + 5)) << 32),
        _ => None,
    }
}

fn find(from: u64, to: u64, pattern: &[u8]) -> Option<u64> {
    (from..to.saturating_sub(pattern.len() as u64)).find(|&a| {
        pattern
            .iter()
            .enumerate()
            .all(|(i, &b)| read8(a + i as u64) == b)
    })
}

/// The GED's global system interrupt and event selector address, if the DSDT has one.
fn discover(dsdt: u64) -> Option<(u32, u64)> {
    let end = dsdt + u64::from(read32(dsdt + 4));
    let hid = find(dsdt + 36, end, b"\x0dACPI0013\0")?;
    let scan_end = end.min(hid + DEVICE_SCAN);
    // Extended interrupt descriptor: 0x89, length (>= 6), flags, count (>= 1), GSI.
    let irq = (hid..scan_end.saturating_sub(9)).find(|&a| {
        read8(a) == 0x89 && read8(a + 1) >= 6 && read8(a + 2) == 0 && read8(a + 4) >= 1
    })?;
    let gsi = read32(irq + 5);
    // OperationRegion (name, SystemMemory, offset, length): 0x5b 0x80 NameSeg 0x00 ...
    let region = find(hid, scan_end, &[0x5b, 0x80])?;
    if read8(region + 6) != 0 {
        return None; // not system memory
    }
    let base = aml_integer(region + 7)?;
    (base != 0 && base + 4 <= IDENTITY_MAP_END).then_some((gsi, base))
}

/// Finds the GED and routes its interrupt to the BSP (edge, active high, as its
/// `_CRS` says); silently nothing on machines without one (QEMU's pc).
pub fn enable(p: &Platform, bsp_apic_id: u8) {
    let Some(dsdt) = platform_dsdt() else { return };
    let Some((gsi, selector)) = discover(dsdt) else {
        return;
    };
    SELECTOR.store(selector, Ordering::Relaxed);
    ioapic::route(
        p.ioapic_base,
        gsi.wrapping_sub(p.ioapic_gsi_base),
        GED_VECTOR,
        bsp_apic_id,
        0,
    );
}

fn platform_dsdt() -> Option<u64> {
    let rsdp = crate::platform::rsdp()?;
    let fadt = acpi::find_table(rsdp, b"FACP")?;
    acpi::fadt_dsdt(fadt)
}

/// The GED interrupt: reading the selector takes (and clears) the pending events.
pub fn on_interrupt() {
    let selector = SELECTOR.load(Ordering::Relaxed);
    if selector == 0 {
        return;
    }
    // SAFETY: the identity-mapped MMIO register the DSDT names (checked below 4 GiB).
    let events = unsafe { (selector as *const u32).read_volatile() };
    if events & POWER_DOWN_EVENT != 0 {
        println("ACPI power button pressed");
        power::poweroff();
    }
}

//! `reset` (i8042 pulse) and `poweroff` (ACPI S5).

use crate::abi::IDENTITY_MAP_END;
use crate::line::println;
use crate::mem::{read32, read64, read8};
use crate::x86::{inw, outb, outl, outw};
use crate::{acpi, platform};

pub fn reset() {
    // Keyboard controller command 0xFE: pulse the CPU reset line.
    outb(0x64, 0xfe);
}

// FADT offsets.
const PM1A_CNT_BLK: u64 = 64;
const PM1B_CNT_BLK: u64 = 68;
const FLAGS: u64 = 112;
const X_PM1A_CNT_BLK: u64 = 172;
const X_PM1B_CNT_BLK: u64 = 184;
const SLEEP_CONTROL_REG: u64 = 244;
const HW_REDUCED_ACPI: u32 = 1 << 20;

const SLP_EN: u16 = 1 << 13; // PM1 control
const SLP_EN_HW_REDUCED: u8 = 1 << 5; // sleep control register

pub fn poweroff() {
    let Some(rsdp) = platform::rsdp() else {
        return println("poweroff: no ACPI");
    };
    let Some(fadt) = acpi::find_table(rsdp, b"FACP") else {
        return println("poweroff: no FADT");
    };
    let len = u64::from(read32(fadt + 4));
    let field32 = |off: u64| {
        if len >= off + 4 {
            read32(fadt + off)
        } else {
            0
        }
    };
    let Some(slp_typ) = acpi::fadt_dsdt(fadt).and_then(acpi::s5_sleep_type) else {
        return println("poweroff: no _S5_ in the DSDT");
    };
    if field32(FLAGS) & HW_REDUCED_ACPI != 0 && len >= SLEEP_CONTROL_REG + 12 {
        let value = ((slp_typ << 2) & 0x1c) | SLP_EN_HW_REDUCED;
        if write_gas(fadt + SLEEP_CONTROL_REG, u32::from(value)) {
            return;
        }
    }
    // PM1a (and PM1b) control: SLP_TYP in bits 12:10, then SLP_EN.
    for (x_off, off) in [
        (X_PM1A_CNT_BLK, PM1A_CNT_BLK),
        (X_PM1B_CNT_BLK, PM1B_CNT_BLK),
    ] {
        let set = |old: u16| (old & !(0x7 << 10)) | (u16::from(slp_typ & 7) << 10) | SLP_EN;
        if len >= x_off + 12 && read64(fadt + x_off + 4) != 0 {
            let gas = fadt + x_off;
            if read8(gas) == 1 {
                let port = read64(gas + 4) as u16;
                outw(port, set(inw(port)));
            } else {
                write_gas(gas, u32::from(set(0)));
            }
        } else if field32(off) != 0 {
            let port = field32(off) as u16;
            outw(port, set(inw(port)));
        }
    }
}

/// Writes `value` to the register an ACPI Generic Address Structure describes
/// (system memory below 4 GiB or system I/O, 8/16/32 bits). False if it has none.
fn write_gas(gas: u64, value: u32) -> bool {
    let space = read8(gas);
    let width = read8(gas + 1);
    let addr = read64(gas + 4);
    match space {
        0 if addr != 0 && addr < IDENTITY_MAP_END => {
            // SAFETY: an identity-mapped MMIO register the firmware names.
            unsafe {
                match width {
                    16 => (addr as *mut u16).write_volatile(value as u16),
                    32 => (addr as *mut u32).write_volatile(value),
                    _ => (addr as *mut u8).write_volatile(value as u8),
                }
            }
        }
        1 if addr != 0 => match width {
            16 => outw(addr as u16, value as u16),
            32 => outl(addr as u16, value),
            _ => outb(addr as u16, value as u8),
        },
        _ => return false,
    }
    true
}

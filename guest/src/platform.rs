//! What the firmware tables say about the machine: CPUs (APIC ids) and how ISA
//! IRQ 4 (COM1) reaches the IOAPIC. ACPI first, like Linux, else the MP table.

use crate::abi::{COM1_IRQ, MAX_CPUS, SERIAL_VECTOR};
use crate::global::Global;
use crate::line::Line;
use crate::x86::outb;
use crate::{acpi, ioapic, mptable, serial};
use core::sync::atomic::{AtomicU64, Ordering};

const DEFAULT_IOAPIC: u64 = 0xfec0_0000;

pub struct Platform {
    /// Enabled CPUs in table order (the BSP among them).
    pub apic_ids: [u8; MAX_CPUS],
    pub cpus: usize,
    pub ioapic_base: u64,
    pub ioapic_gsi_base: u32,
    /// COM1's global system interrupt and its MPS INTI flags (polarity bits 1:0,
    /// trigger mode bits 3:2; 0 = the ISA default, active-high edge).
    pub serial_gsi: u32,
    pub serial_flags: u16,
}

impl Platform {
    pub fn add_cpu(&mut self, apic_id: u8) {
        if self.cpus < MAX_CPUS && !self.apic_ids[..self.cpus].contains(&apic_id) {
            self.apic_ids[self.cpus] = apic_id;
            self.cpus += 1;
        }
    }
}

/// Written by the BSP during boot only (`discover` sets every field it reads).
#[link_section = ".bss.noinit.platform"]
static PLATFORM: Global<Platform> = Global::new(Platform {
    apic_ids: [0; MAX_CPUS],
    cpus: 0,
    ioapic_base: 0,
    ioapic_gsi_base: 0,
    serial_gsi: 0,
    serial_flags: 0,
});

/// The RSDP, for `poweroff` (0: no ACPI).
static RSDP: AtomicU64 = AtomicU64::new(0);

pub fn rsdp() -> Option<u64> {
    Some(RSDP.load(Ordering::Relaxed)).filter(|&a| a != 0)
}

/// Reads the tables and prints where the information came from.
pub fn discover(rsdp_hint: u64) -> &'static Platform {
    // SAFETY: the BSP alone, during boot.
    let p = unsafe { PLATFORM.get() };
    p.cpus = 0;
    p.ioapic_base = 0;
    p.ioapic_gsi_base = 0;
    p.serial_gsi = u32::from(COM1_IRQ);
    p.serial_flags = 0;
    let mut line = Line::new();
    line.str("firmware tables: ");
    let rsdp = acpi::find_rsdp(rsdp_hint);
    if let Some(rsdp) = rsdp {
        RSDP.store(rsdp, Ordering::Relaxed);
    }
    if rsdp.is_some_and(|rsdp| acpi::read_madt(rsdp, COM1_IRQ, p)) {
        line.str("ACPI (RSDP at ").hex(rsdp.unwrap_or(0)).str(")");
    } else if let Some(mp) = mptable::find().filter(|&mp| mptable::read(mp, COM1_IRQ, p)) {
        line.str("MP table (at ").hex(mp).str(")");
    } else {
        line.str("none");
    }
    line.send();
    if p.ioapic_base == 0 {
        p.ioapic_base = DEFAULT_IOAPIC;
    }
    p
}

/// COM1 interrupts to `bsp_apic_id`: legacy PICs masked, the IOAPIC pin
/// programmed, the UART's receive interrupt enabled.
pub fn route_serial_irq(p: &Platform, bsp_apic_id: u8) {
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    let pin = p.serial_gsi.wrapping_sub(p.ioapic_gsi_base);
    ioapic::route(
        p.ioapic_base,
        pin,
        SERIAL_VECTOR,
        bsp_apic_id,
        p.serial_flags,
    );
    serial::enable_rx_interrupt();
}

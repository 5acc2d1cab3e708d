//! The local APIC in xAPIC mode (memory-mapped at 0xfee00000).

use crate::abi::SPURIOUS_VECTOR;
use crate::x86::pause;

const BASE: u64 = 0xfee0_0000;
const ID: u64 = 0x20;
const EOI: u64 = 0xb0;
const SVR: u64 = 0xf0;
const ICR_LOW: u64 = 0x300;
const ICR_HIGH: u64 = 0x310;

const ICR_PENDING: u32 = 1 << 12;
const ICR_ASSERT: u32 = 1 << 14;
const ICR_INIT: u32 = 5 << 8;
const ICR_STARTUP: u32 = 6 << 8;
const ICR_ALL_BUT_SELF: u32 = 3 << 18;

fn read(reg: u64) -> u32 {
    // SAFETY: the APIC page is identity-mapped (uncached).
    unsafe { ((BASE + reg) as *const u32).read_volatile() }
}

fn write(reg: u64, value: u32) {
    // SAFETY: as read.
    unsafe { ((BASE + reg) as *mut u32).write_volatile(value) }
}

pub fn id() -> u8 {
    (read(ID) >> 24) as u8
}

/// Software-enables the APIC (an INIT leaves it disabled).
pub fn enable() {
    write(SVR, 0x100 | u32::from(SPURIOUS_VECTOR));
}

/// Whether `vector` is pending in the IRR (e.g. an MSI that came while
/// interrupts were disabled).
pub fn pending(vector: u8) -> bool {
    read(0x200 + 0x10 * u64::from(vector / 32)) & (1 << (vector % 32)) != 0
}

pub fn eoi() {
    write(EOI, 0);
}

fn send(dest: u8, command: u32) {
    write(ICR_HIGH, u32::from(dest) << 24);
    write(ICR_LOW, command);
    wait_sent();
}

fn wait_sent() {
    for _ in 0..1000 {
        if read(ICR_LOW) & ICR_PENDING == 0 {
            return;
        }
        pause();
    }
}

pub fn send_init(dest: u8) {
    send(dest, ICR_INIT | ICR_ASSERT);
}

/// Start-up IPI: the AP begins in real mode at `page` (4 KiB aligned, < 1 MiB).
pub fn send_startup(dest: u8, page: u64) {
    send(dest, ICR_STARTUP | ICR_ASSERT | (page >> 12) as u32);
}

/// A fixed interrupt to every other CPU.
pub fn send_to_others(vector: u8) {
    write(ICR_LOW, ICR_ALL_BUT_SELF | ICR_ASSERT | u32::from(vector));
    wait_sent();
}

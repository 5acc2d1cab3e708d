//! The I/O APIC: one redirection table entry per input pin.

const REGSEL: u64 = 0x00;
const WINDOW: u64 = 0x10;

fn write(base: u64, reg: u32, value: u32) {
    // SAFETY: the IOAPIC registers are identity-mapped (uncached) MMIO.
    unsafe {
        ((base + REGSEL) as *mut u32).write_volatile(reg);
        ((base + WINDOW) as *mut u32).write_volatile(value);
    }
}

/// Delivers `pin` as fixed interrupt `vector` to APIC id `dest` (physical mode),
/// unmasked. `flags` are MPS INTI flags: polarity 3 = active low, trigger 3 = level.
pub fn route(base: u64, pin: u32, vector: u8, dest: u8, flags: u16) {
    let active_low = flags & 0x3 == 0x3;
    let level = (flags >> 2) & 0x3 == 0x3;
    let low = u32::from(vector) | (u32::from(active_low) << 13) | (u32::from(level) << 15);
    let reg = 0x10 + 2 * pin;
    write(base, reg + 1, u32::from(dest) << 24);
    write(base, reg, low);
}

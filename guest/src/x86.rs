//! Single x86 instructions the compiler has no intrinsic for (inline assembly).

use core::arch::asm;

#[inline(always)]
pub fn outb(port: u16, value: u8) {
    // SAFETY: port I/O has no memory effects; callers choose the device.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    }
}

#[inline(always)]
pub fn outw(port: u16, value: u16) {
    // SAFETY: as outb.
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
    }
}

#[inline(always)]
pub fn outl(port: u16, value: u32) {
    // SAFETY: as outb.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    }
}

#[inline(always)]
pub fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as outb.
    unsafe {
        asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
    }
    value
}

/// Writes `bytes` to one port with a single `rep outsb`: one instruction for the
/// CPL0 emulator to decode instead of a loop of them (KVM still exits per byte).
#[inline(always)]
pub fn rep_outsb(port: u16, bytes: &[u8]) {
    // SAFETY: reads `bytes` only; the direction flag is clear (Rust ABI).
    unsafe {
        asm!("rep outsb", in("dx") port, inout("rsi") bytes.as_ptr() => _,
             inout("rcx") bytes.len() => _, options(nostack, preserves_flags, readonly))
    }
}

#[inline(always)]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: reads the time-stamp counter only.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    (u64::from(hi) << 32) | u64::from(lo)
}

#[inline(always)]
pub fn pause() {
    // SAFETY: a spin-wait hint.
    unsafe { asm!("pause", options(nomem, nostack, preserves_flags)) }
}

/// Enables interrupts and halts until one arrives. `sti` delays interrupt
/// recognition by one instruction, so none can slip in before the `hlt`.
#[inline(always)]
pub fn sti_hlt() {
    // SAFETY: waits for an interrupt; handlers preserve all registers.
    unsafe { asm!("sti", "hlt", options(nomem, nostack)) }
}

/// Stops this CPU for good: interrupts off, then halt (again after an NMI).
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: nothing runs on this CPU afterwards.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}

/// The descriptor-table register image for `lidt`.
#[repr(C, packed)]
pub struct TablePointer {
    pub limit: u16,
    pub base: u64,
}

/// # Safety
/// `ptr` must describe a valid IDT (or, on purpose, an empty one).
#[inline(always)]
pub unsafe fn lidt(ptr: &TablePointer) {
    asm!("lidt [{}]", in(reg) ptr, options(readonly, nostack, preserves_flags))
}

/// # Safety
/// `selector` must name an available TSS descriptor of the loaded GDT.
#[inline(always)]
pub unsafe fn ltr(selector: u16) {
    asm!("ltr {0:x}", in(reg) selector, options(nostack, preserves_flags))
}

#[inline(always)]
pub fn inw(port: u16) -> u16 {
    let value: u16;
    // SAFETY: as outb.
    unsafe {
        asm!("in ax, dx", out("ax") value, in("dx") port, options(nomem, nostack, preserves_flags))
    }
    value
}

#[inline(always)]
pub fn inl(port: u16) -> u32 {
    let value: u32;
    // SAFETY: as outb.
    unsafe {
        asm!("in eax, dx", out("eax") value, in("dx") port, options(nomem, nostack, preserves_flags))
    }
    value
}

/// A full memory barrier (stores before it are visible before loads after it),
/// as Linux's `smp_mb()`/`virt_mb()` on x86: a locked no-op on the stack. Also a
/// compiler barrier. (`mfence` is avoided: KVM's instruction emulator, which runs
/// CPL0 code on hosts without hardware virtualization, may not know it.)
#[inline(always)]
pub fn mb() {
    // SAFETY: or-ing 0 into the dword at RSP (a live stack slot) leaves it
    // unchanged; the locked access is the barrier.
    unsafe { asm!("lock or dword ptr [rsp], 0", options(nostack)) }
}

/// Invalidates the TLB entry of the page holding `addr` (after a page-table change).
#[inline(always)]
pub fn invlpg(addr: u64) {
    // SAFETY: only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) addr, options(nostack, preserves_flags)) }
}

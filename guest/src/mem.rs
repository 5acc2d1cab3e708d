//! The C memory functions the compiler calls (there is no libc), as single
//! string instructions, plus unaligned reads of guest-physical memory.
//!
//! Written in assembly: a Rust loop here could be turned back into a call to
//! the function itself, and one `rep` instruction is also far cheaper than a
//! loop when kernel-mode code is emulated.

use core::arch::asm;

/// # Safety
/// C `memcpy` contract.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // Quadwords, then the remaining bytes: an emulated `rep` costs per iteration.
    asm!("rep movsq", "mov rcx, {rest}", "rep movsb", rest = in(reg) n % 8,
         inout("rdi") dst => _, inout("rsi") src => _, inout("rcx") n / 8 => _,
         options(nostack, preserves_flags));
    dst
}

/// # Safety
/// C `memmove` contract.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // No overlap that a forward copy would clobber.
        return memcpy(dst, src, n);
    }
    // Copy backwards: std sets the direction flag for `rep movsb`, cld restores it.
    asm!("std", "rep movsb", "cld",
         inout("rdi") dst.add(n).wrapping_sub(1) => _, inout("rsi") src.add(n).wrapping_sub(1) => _,
         inout("rcx") n => _, options(nostack));
    dst
}

/// # Safety
/// C `memset` contract.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, value: i32, n: usize) -> *mut u8 {
    let pattern = u64::from(value as u8) * 0x0101_0101_0101_0101;
    asm!("rep stosq", "mov rcx, {rest}", "rep stosb", rest = in(reg) n % 8,
         inout("rdi") dst => _, inout("rcx") n / 8 => _, in("rax") pattern,
         options(nostack, preserves_flags));
    dst
}

/// # Safety
/// C `memcmp` contract.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    if n == 0 {
        return 0;
    }
    // `repe cmpsb` stops after the first differing byte (or after n bytes).
    let (pa, pb): (*const u8, *const u8);
    asm!("repe cmpsb", inout("rsi") a => pa, inout("rdi") b => pb, inout("rcx") n => _,
         options(nostack, readonly));
    i32::from(*pa.sub(1)) - i32::from(*pb.sub(1))
}

/// # Safety
/// C `bcmp` contract.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

/// Guest-physical memory below 4 GiB is identity-mapped, so a physical address is
/// also a pointer. These read possibly unaligned firmware tables.
pub fn read8(addr: u64) -> u8 {
    // SAFETY: identity-mapped; firmware tables are plain memory.
    unsafe { (addr as *const u8).read_volatile() }
}

pub fn read16(addr: u64) -> u16 {
    // SAFETY: as read8.
    unsafe { (addr as *const u16).read_unaligned() }
}

pub fn read32(addr: u64) -> u32 {
    // SAFETY: as read8.
    unsafe { (addr as *const u32).read_unaligned() }
}

pub fn read64(addr: u64) -> u64 {
    // SAFETY: as read8.
    unsafe { (addr as *const u64).read_unaligned() }
}

/// `len` bytes of guest-physical memory as a slice.
pub fn bytes(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: identity-mapped memory that nothing writes while it is read.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// The first 16-byte aligned address in [start, end) for which `found` holds
/// (firmware tables are found this way). Unrolled: a scan of the BIOS area is
/// thousands of steps of emulated kernel-mode code, about 3 instructions each so.
#[inline(always)]
pub fn scan16(start: u64, end: u64, found: impl Fn(u64) -> bool) -> Option<u64> {
    let mut addr = start;
    while addr + 64 <= end {
        for a in [addr, addr + 16, addr + 32, addr + 48] {
            if found(a) {
                return Some(a);
            }
        }
        addr += 64;
    }
    (addr..end).step_by(16).find(|&a| found(a))
}

//! The user region at 0x300000 (one user-accessible 2 MiB page covers it): the
//! patterns the host reads, the per-CPU counters, and the code that runs at CPL3.
//!
//! The patterns are data of the image, so they are in place as soon as the
//! loader has run, at no cost in emulated kernel-mode instructions. Long loops
//! run at CPL3, which executes natively even where CPL0 code is emulated.

use crate::abi::{COUNTERS_GPA, PATTERN_BYTES_GPA, PATTERN_WORDS, PATTERN_WORDS_GPA};
use crate::gdt::{USER_CS, USER_DS};
use crate::line::Line;
use core::arch::{asm, global_asm};

const REGION: u64 = PATTERN_BYTES_GPA;
const CODE_GPA: u64 = 0x30_3000;
const STACK_TOP: u64 = 0x30_5000;
/// RFLAGS at CPL3: bit 1 (reserved, set), IF, IOPL 3.
const RFLAGS_IF_IOPL3: u64 = 0x3202;
const RFLAGS_IOPL3: u64 = 0x3002;

global_asm!(
    r#"
    .section .user, "awx"
    # PATTERN_BYTES_GPA: byte i = i & 0xff.
    .set guest_i, 0
    .rept 4096
    .byte guest_i & 0xff
    .set guest_i, guest_i + 1
    .endr

    # PATTERN_WORDS_GPA: four u64 then a NUL-terminated string.
    .org {words} - {region}
    .quad {w0}, {w1}, {w2}, {w3}
    .asciz "vmm-test-guest pattern"

    # COUNTERS_GPA: one u64 per CPU.
    .org {counters} - {region}
    .fill 4096, 1, 0

    # CPL3 code.
    .org {code} - {region}
    .global guest_user_spin
guest_user_spin:                    # RDI = this CPU's counter
    mov (%rdi), %rax
1:  inc %rax
    mov %rax, (%rdi)                # a plain store of the register
    jmp 1b

    .global guest_user_int3
guest_user_int3:                    # with an empty IDT: #GP, #DF, triple fault
    int3
    jmp guest_user_int3

    # User stack page (nothing at CPL3 pushes; interrupts switch to RSP0).
    .org {stack_top} - {region} - 4096
    .fill 4096, 1, 0
    "#,
    region = const REGION,
    words = const PATTERN_WORDS_GPA,
    counters = const COUNTERS_GPA,
    code = const CODE_GPA,
    stack_top = const STACK_TOP,
    w0 = const PATTERN_WORDS[0],
    w1 = const PATTERN_WORDS[1],
    w2 = const PATTERN_WORDS[2],
    w3 = const PATTERN_WORDS[3],
    options(att_syntax)
);

extern "C" {
    static guest_user_spin: u8;
    static guest_user_int3: u8;
}

/// Leaves the kernel for good: `iretq` to CPL3 at `rip` with RDI = `arg`.
fn enter(rip: u64, arg: u64, rflags: u64) -> ! {
    // SAFETY: the target code is in the user region, mapped user-accessible;
    // this CPU's TSS holds RSP0 for the interrupts that come at CPL3.
    unsafe {
        asm!(
            "push {ss}",
            "push {rsp}",
            "push {rflags}",
            "push {cs}",
            "push {rip}",
            "iretq",
            ss = const USER_DS as u64,
            cs = const USER_CS as u64,
            rsp = in(reg) STACK_TOP,
            rflags = in(reg) rflags,
            rip = in(reg) rip,
            in("rdi") arg,
            options(noreturn)
        )
    }
}

/// This CPU increments its counter at CPL3 forever, interrupts enabled.
pub fn spin(cpu: usize) -> ! {
    enter(
        core::ptr::addr_of!(guest_user_spin) as u64,
        COUNTERS_GPA + 8 * cpu as u64,
        RFLAGS_IF_IOPL3,
    )
}

/// `int3` at CPL3, interrupts disabled (used with an empty IDT).
pub fn int3() -> ! {
    enter(core::ptr::addr_of!(guest_user_int3) as u64, 0, RFLAGS_IOPL3)
}

/// Reads CPU `cpu`'s counter.
pub fn counter(cpu: usize) -> u64 {
    // SAFETY: an aligned u64 in the identity-mapped user region.
    unsafe { ((COUNTERS_GPA + 8 * cpu as u64) as *const u64).read_volatile() }
}

/// Zeroes the counters (the image may not be reloaded on a reset).
pub fn clear_counters() {
    // SAFETY: the counters page of the user region.
    unsafe { core::ptr::write_bytes(COUNTERS_GPA as *mut u8, 0, 8 * crate::abi::MAX_CPUS) }
}

pub fn print_patterns() {
    Line::new()
        .str("patterns: bytes=")
        .hex(PATTERN_BYTES_GPA)
        .str(" words=")
        .hex(PATTERN_WORDS_GPA)
        .str(" counters=")
        .hex(COUNTERS_GPA)
        .send();
}

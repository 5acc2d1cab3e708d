//! The user region at 0x300000 (one user-accessible 2 MiB page covers it): the
//! patterns the host reads, the per-CPU counters, and the code that runs at CPL3.
//!
//! The patterns are data of the image, so they are in place as soon as the
//! loader has run, at no cost in emulated kernel-mode instructions. Long loops
//! run at CPL3, which executes natively even where CPL0 code is emulated.
//!
//! Besides the loops that never come back (`spin`), the kernel calls helper
//! routines at CPL3 and gets their result back ([`call`]): they walk the page
//! bitmaps of src/pages.rs and fill or check the pool's pages. They run with
//! interrupts disabled (IF=0: nothing else runs on the BSP meanwhile) and end
//! with `int3` (USER_RETURN_VECTOR), whose handler restores the kernel stack.

use crate::abi::{COUNTERS_GPA, PATTERN_BYTES_GPA, PATTERN_WORDS, PATTERN_WORDS_GPA};
use crate::gdt::{USER_CS, USER_DS};
use crate::line::Line;
use core::arch::{asm, global_asm};
use core::mem::offset_of;

const REGION: u64 = PATTERN_BYTES_GPA;
const CODE_GPA: u64 = 0x30_3000;
const STACK_TOP: u64 = 0x30_5000;
/// RFLAGS at CPL3: bit 1 (reserved, set), IF, IOPL 3.
const RFLAGS_IF_IOPL3: u64 = 0x3202;
const RFLAGS_IOPL3: u64 = 0x3002;
/// RFLAGS of the helper routines: interrupts off, IOPL 0.
const RFLAGS_USER_CALL: u64 = 0x2;

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

    # Helpers called through guest_user_call: RDI = &Op (see `Op`), the result
    # in RAX, then `int3` (back to the kernel). Bitmaps: bit i of word w = page base_pfn + 64w + i.

    # Takes up to `max` set bits of `bitmap` (lowest first), clearing them there
    # and in `aux` (if not 0); writes their PFNs (le32) to `out`. RAX = count.
    .global guest_user_take
guest_user_take:
    mov {op_bitmap}(%rdi), %rsi
    mov {op_aux}(%rdi), %r8
    mov {op_words}(%rdi), %rcx
    mov {op_base}(%rdi), %r9
    mov {op_out}(%rdi), %r10
    mov {op_max}(%rdi), %r11
    xor %eax, %eax                  # count
    xor %edx, %edx                  # word index
1:  cmp %r11, %rax
    jae 9f
    cmp %rcx, %rdx
    jae 9f
    mov (%rsi,%rdx,8), %rbx
    test %rbx, %rbx
    jz 5f
2:  bsf %rbx, %r12                  # lowest remaining bit
    btr %r12, %rbx
    mov %rdx, %r13
    shl $6, %r13
    add %r12, %r13
    add %r9, %r13
    mov %r13d, (%r10,%rax,4)
    inc %rax
    cmp %r11, %rax
    jae 3f
    test %rbx, %rbx
    jnz 2b
3:  mov (%rsi,%rdx,8), %r12         # the word before
    mov %rbx, (%rsi,%rdx,8)         # what is left of it
    test %r8, %r8
    jz 5f
    xor %rbx, %r12                  # the bits taken
    not %r12
    and %r12, (%r8,%rdx,8)
5:  inc %rdx
    jmp 1b
9:  int3

    # Sets, in `bitmap`, the bits of the `max` PFNs (le32) at `out`; PFNs outside
    # the bitmap are skipped. RAX = bits that were clear.
    .global guest_user_put
guest_user_put:
    mov {op_bitmap}(%rdi), %rsi
    mov {op_words}(%rdi), %rcx
    shl $6, %rcx                    # bits
    mov {op_base}(%rdi), %r9
    mov {op_out}(%rdi), %r10
    mov {op_max}(%rdi), %r11
    xor %eax, %eax
    xor %edx, %edx
1:  cmp %r11, %rdx
    jae 9f
    mov (%r10,%rdx,4), %r12d
    sub %r9, %r12
    cmp %rcx, %r12
    jae 2f                          # below base (wrapped) or past the end
    bts %r12, (%rsi)
    jc 2f
    inc %rax
2:  inc %rdx
    jmp 1b
9:  int3

    # For every set bit of `bitmap`: `cursor` = 0 (fill): every qword of the page
    # = `tag` | pfn; `cursor` = 1 (touch): `or $0` into its first qword (the page
    # is written, its contents stay). Sets the page's bit in `aux` and counts in
    # `r0` the bits that were clear there. RAX = pages.
    .global guest_user_fill
guest_user_fill:
    mov %rdi, %r15
    mov {op_bitmap}(%r15), %rsi
    mov {op_aux}(%r15), %r8
    mov {op_words}(%r15), %r14
    mov {op_base}(%r15), %r9
    mov {op_tag}(%r15), %r13
    xor %ebx, %ebx                  # pages
    xor %ebp, %ebp                  # first touches
    xor %edx, %edx                  # word index
1:  cmp %r14, %rdx
    jae 9f
    mov (%rsi,%rdx,8), %r12
2:  test %r12, %r12
    jz 5f
    bsf %r12, %r11
    btr %r11, %r12
    mov %rdx, %r10
    shl $6, %r10
    add %r11, %r10                  # bit index
    bts %r10, (%r8)
    jc 3f
    inc %rbp
3:  lea (%r9,%r10), %rax            # pfn
    mov %rax, %rdi
    shl $12, %rdi
    inc %rbx
    cmpq $0, {op_cursor}(%r15)
    jne 4f
    or %r13, %rax
    mov $512, %ecx
    rep stosq
    jmp 2b
4:  orq $0, (%rdi)
    jmp 2b
5:  inc %rdx
    jmp 1b
9:  mov %rbp, {op_r0}(%r15)
    mov %rbx, %rax
    int3

    # Classifies the page of every set bit of `bitmap`: all qwords `tag` | pfn
    # (counted in `r0`), all zero (`r1`) or anything else (`r2`). RAX = pages.
    .global guest_user_check
guest_user_check:
    mov %rdi, %r15
    mov {op_bitmap}(%r15), %rsi
    mov {op_words}(%r15), %r14
    mov {op_base}(%r15), %r9
    mov {op_tag}(%r15), %r13
    xor %ebx, %ebx                  # pages
    xor %ebp, %ebp                  # pattern
    xor %r8d, %r8d                  # zero
    xor %r10d, %r10d                # other
    xor %edx, %edx
1:  cmp %r14, %rdx
    jae 9f
    mov (%rsi,%rdx,8), %r12
2:  test %r12, %r12
    jz 5f
    bsf %r12, %r11
    btr %r11, %r12
    inc %rbx
    mov %rdx, %rax
    shl $6, %rax
    add %r11, %rax
    add %r9, %rax                   # pfn
    mov %rax, %rdi
    shl $12, %rdi
    push %rdi
    or %r13, %rax
    mov $512, %ecx
    repe scasq
    pop %rdi
    jne 3f
    inc %rbp
    jmp 2b
3:  xor %eax, %eax
    mov $512, %ecx
    repe scasq
    jne 4f
    inc %r8
    jmp 2b
4:  inc %r10
    jmp 2b
5:  inc %rdx
    jmp 1b
9:  mov %rbp, {op_r0}(%r15)
    mov %r8, {op_r1}(%r15)
    mov %r10, {op_r2}(%r15)
    mov %rbx, %rax
    int3

    # Free page reporting: from word `cursor` (a multiple of 8) on, takes up to
    # `max` naturally aligned blocks whose bits are all set: 16 words (4 MiB) where
    # possible, else 8 (2 MiB). Clears their words in `bitmap` and `aux`, writes
    # (u64 first pfn, u64 pages) per block to `out`, advances `cursor`. RAX = blocks.
    .global guest_user_take_blocks
guest_user_take_blocks:
    mov %rdi, %r15
    mov {op_bitmap}(%r15), %rsi
    mov {op_aux}(%r15), %r8
    mov {op_words}(%r15), %r14
    mov {op_base}(%r15), %r9
    mov {op_out}(%r15), %r10
    mov {op_max}(%r15), %r11
    mov {op_cursor}(%r15), %rdx
    xor %eax, %eax
1:  cmp %r11, %rax
    jae 9f
    lea 8(%rdx), %rcx
    cmp %r14, %rcx
    ja 9f
    mov $-1, %rbx
    and (%rsi,%rdx,8), %rbx
    and 8(%rsi,%rdx,8), %rbx
    and 16(%rsi,%rdx,8), %rbx
    and 24(%rsi,%rdx,8), %rbx
    and 32(%rsi,%rdx,8), %rbx
    and 40(%rsi,%rdx,8), %rbx
    and 48(%rsi,%rdx,8), %rbx
    and 56(%rsi,%rdx,8), %rbx
    cmp $-1, %rbx
    jne 6f
    mov $8, %r12
    test $8, %rdx                   # 16-word (4 MiB) aligned?
    jnz 3f
    lea 16(%rdx), %rcx
    cmp %r14, %rcx
    ja 3f
    mov $-1, %rbx
    and 64(%rsi,%rdx,8), %rbx
    and 72(%rsi,%rdx,8), %rbx
    and 80(%rsi,%rdx,8), %rbx
    and 88(%rsi,%rdx,8), %rbx
    and 96(%rsi,%rdx,8), %rbx
    and 104(%rsi,%rdx,8), %rbx
    and 112(%rsi,%rdx,8), %rbx
    and 120(%rsi,%rdx,8), %rbx
    cmp $-1, %rbx
    jne 3f
    mov $16, %r12
3:  mov %rax, %rbx
    shl $4, %rbx
    add %r10, %rbx                  # &out[count]
    mov %rdx, %rcx
    shl $6, %rcx
    add %r9, %rcx
    mov %rcx, (%rbx)
    mov %r12, %rcx
    shl $6, %rcx
    mov %rcx, 8(%rbx)
    inc %rax
4:  movq $0, (%rsi,%rdx,8)
    test %r8, %r8
    jz 5f
    movq $0, (%r8,%rdx,8)
5:  inc %rdx
    dec %r12
    jnz 4b
    jmp 1b
6:  add $8, %rdx
    jmp 1b
9:  mov %rdx, {op_cursor}(%r15)
    int3

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
    op_bitmap = const offset_of!(Op, bitmap),
    op_aux = const offset_of!(Op, aux),
    op_words = const offset_of!(Op, words),
    op_base = const offset_of!(Op, base_pfn),
    op_out = const offset_of!(Op, out),
    op_max = const offset_of!(Op, max),
    op_cursor = const offset_of!(Op, cursor),
    op_tag = const offset_of!(Op, tag),
    op_r0 = const offset_of!(Op, r0),
    op_r1 = const offset_of!(Op, r1),
    op_r2 = const offset_of!(Op, r2),
    options(att_syntax)
);

global_asm!(
    r#"
    .section .text
    # u64 guest_user_call(u64 *rsp0 /*RDI*/, u64 entry /*RSI*/, u64 arg /*RDX*/):
    # runs `entry` at CPL3 with RDI = arg and interrupts off; returns its RAX.
    .global guest_user_call
guest_user_call:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, guest_user_saved_rsp(%rip)
    mov %rsp, %rax
    and $-16, %rax
    mov %rax, (%rdi)                # TSS.RSP0: the int comes in below our frame
    push ${ss}
    push ${stack_top}
    push ${rflags}
    push ${cs}
    push %rsi
    mov %rdx, %rdi
    iretq

    # From the `int3` of a helper (the USER_RETURN_VECTOR gate, src/idt.rs), RAX =
    # the result. The
    # interrupt frame is dropped: the kernel stack is as guest_user_call left it.
    .global guest_user_return
guest_user_return:
    mov guest_user_saved_rsp(%rip), %rsp
    mov $0x10, %ecx                 # flat data (the CPL3 entry nulled them)
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %ss
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

    .section .bss.guest_user_call, "aw", @nobits
    .balign 8
guest_user_saved_rsp:
    .quad 0
    "#,
    ss = const USER_DS as u64,
    cs = const USER_CS as u64,
    stack_top = const STACK_TOP,
    rflags = const RFLAGS_USER_CALL,
    options(att_syntax)
);

/// The parameter block of the CPL3 helpers (in user-accessible memory).
#[repr(C)]
#[derive(Default)]
pub struct Op {
    pub bitmap: u64,
    pub aux: u64,
    pub words: u64,
    pub base_pfn: u64,
    pub out: u64,
    pub max: u64,
    pub cursor: u64,
    pub tag: u64,
    pub r0: u64,
    pub r1: u64,
    pub r2: u64,
}

/// The CPL3 helper routines.
#[derive(Clone, Copy)]
pub enum Helper {
    Take,
    Put,
    Fill,
    Check,
    TakeBlocks,
}

/// Runs `helper` at CPL3 on `op` (which must be user-accessible, as must every
/// address in it) and returns its result. BSP only, interrupts disabled.
pub fn call(helper: Helper, op: *mut Op) -> u64 {
    extern "C" {
        static guest_user_take: u8;
        static guest_user_put: u8;
        static guest_user_fill: u8;
        static guest_user_check: u8;
        static guest_user_take_blocks: u8;
        fn guest_user_call(rsp0: *mut u64, entry: u64, arg: u64) -> u64;
    }
    let entry = match helper {
        Helper::Take => core::ptr::addr_of!(guest_user_take),
        Helper::Put => core::ptr::addr_of!(guest_user_put),
        Helper::Fill => core::ptr::addr_of!(guest_user_fill),
        Helper::Check => core::ptr::addr_of!(guest_user_check),
        Helper::TakeBlocks => core::ptr::addr_of!(guest_user_take_blocks),
    } as u64;
    let rsp0 = crate::gdt::rsp0(0);
    // SAFETY: the routine is user code of the user region that touches only what
    // `op` describes; it comes back through USER_RETURN_VECTOR, which restores
    // this stack. RSP0 is reset afterwards for interrupts taken by `spin`.
    let result = unsafe { guest_user_call(rsp0, entry, op as u64) };
    // SAFETY: the BSP's own TSS.
    unsafe { rsp0.write_unaligned(crate::boot::stack_top(0)) };
    result
}

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

//! Interrupts: entry stubs, the IDT (complete at link time) and the dispatcher.
//!
//! The stubs sit at a fixed address (0x100000, asserted by link.ld), 16 bytes
//! apart, so the assembler can compute every IDT gate as a constant: stub `i`
//! handles exception `i` for i < 32, then come the serial, IPI, spurious and
//! virtio-balloon vectors, the CPL3 return (37) and the ACPI GED (38). Each stub pushes a dummy error code where the CPU
//! pushes none, and the vector, then the common entry saves the caller-saved
//! registers and calls `dispatch` with a pointer to the resulting [`Frame`].
//! The breakpoint gate is different: `int3` from CPL3 (a DPL 3 gate to stub
//! 37) is how the CPL3 helper routines return to the kernel (src/user.rs,
//! `call`); the kernel itself never executes `int3`.

use crate::abi::{
    BALLOON_CONFIG_VECTOR, BALLOON_QUEUE_VECTOR, GED_VECTOR, IPI_VECTOR, SERIAL_VECTOR,
    SPURIOUS_VECTOR, USER_RETURN_VECTOR,
};
use crate::line::Line;
use crate::x86::{self, TablePointer};
use core::arch::global_asm;

const VECTORS_BASE: u64 = 0x10_0000;

global_asm!(
    r#"
    .macro guest_stub vector, has_error
    .balign 16
    .if \has_error == 0
    push $0                         # no error code from the CPU: keep the frame uniform
    .endif
    push $\vector
    jmp guest_interrupt_common
    .endm

    .section .text.vectors, "ax"
    # Exceptions 0-31; those with an error code: 8, 10-14, 17, 21, 29, 30.
    guest_stub 0, 0
    guest_stub 1, 0
    guest_stub 2, 0
    guest_stub 3, 0
    guest_stub 4, 0
    guest_stub 5, 0
    guest_stub 6, 0
    guest_stub 7, 0
    guest_stub 8, 1
    guest_stub 9, 0
    guest_stub 10, 1
    guest_stub 11, 1
    guest_stub 12, 1
    guest_stub 13, 1
    guest_stub 14, 1
    guest_stub 15, 0
    guest_stub 16, 0
    guest_stub 17, 1
    guest_stub 18, 0
    guest_stub 19, 0
    guest_stub 20, 0
    guest_stub 21, 1
    guest_stub 22, 0
    guest_stub 23, 0
    guest_stub 24, 0
    guest_stub 25, 0
    guest_stub 26, 0
    guest_stub 27, 0
    guest_stub 28, 0
    guest_stub 29, 1
    guest_stub 30, 1
    guest_stub 31, 0
    guest_stub {serial}, 0          # stub 32
    guest_stub {ipi}, 0             # stub 33
    guest_stub {spurious}, 0        # stub 34
    guest_stub {balloon_config}, 0  # stub 35
    guest_stub {balloon_queue}, 0   # stub 36
    .balign 16                      # stub 37: back from CPL3 (src/user.rs)
    jmp guest_user_return
    guest_stub {ged}, 0             # stub 38

    .section .text
guest_interrupt_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov %rsp, %rdi                  # &Frame; RSP is 16-byte aligned here
    cld
    call {dispatch}
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp                   # vector and error code
    iretq

    # 64-bit interrupt gate to a stub below 4 GiB, kernel code segment, DPL 0
    # (type 0x8e) or DPL 3 (0xee: `int` from CPL3 allowed).
    .macro guest_gate addr, type=0x8e
    .word (\addr) & 0xffff
    .word 0x18
    .byte 0, \type
    .word ((\addr) >> 16) & 0xffff
    .long 0, 0
    .endm

    .section .rodata.idt, "a"
    .balign 16
    .global guest_idt
guest_idt:
    .set guest_vec, 0
    .rept 256
    .if guest_vec == {user_return}
    guest_gate ({base} + 37 * 16), 0xee
    .elseif guest_vec < 32
    guest_gate ({base} + guest_vec * 16)
    .elseif guest_vec == {serial}
    guest_gate ({base} + 32 * 16)
    .elseif guest_vec == {ipi}
    guest_gate ({base} + 33 * 16)
    .elseif guest_vec == {spurious}
    guest_gate ({base} + 34 * 16)
    .elseif guest_vec == {balloon_config}
    guest_gate ({base} + 35 * 16)
    .elseif guest_vec == {balloon_queue}
    guest_gate ({base} + 36 * 16)
    .elseif guest_vec == {ged}
    guest_gate ({base} + 38 * 16)
    .else
    .quad 0, 0                      # not present
    .endif
    .set guest_vec, guest_vec + 1
    .endr
    "#,
    base = const VECTORS_BASE,
    serial = const SERIAL_VECTOR,
    ipi = const IPI_VECTOR,
    spurious = const SPURIOUS_VECTOR,
    balloon_config = const BALLOON_CONFIG_VECTOR,
    balloon_queue = const BALLOON_QUEUE_VECTOR,
    ged = const GED_VECTOR,
    user_return = const USER_RETURN_VECTOR,
    dispatch = sym dispatch,
    options(att_syntax)
);

/// What the stubs and the CPU pushed, lowest address first.
#[repr(C)]
pub struct Frame {
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Loads the IDT on this CPU.
pub fn load() {
    extern "C" {
        static guest_idt: u8;
    }
    let ptr = TablePointer {
        limit: 256 * 16 - 1,
        base: core::ptr::addr_of!(guest_idt) as u64,
    };
    // SAFETY: a complete IDT whose gates point at the stubs above.
    unsafe { x86::lidt(&ptr) }
}

/// Loads an empty IDT: the next exception cannot be delivered (triple fault).
pub fn load_null() {
    // SAFETY: deliberately makes every interrupt and exception fatal.
    unsafe { x86::lidt(&TablePointer { limit: 0, base: 0 }) }
}

extern "C" fn dispatch(frame: &mut Frame) {
    match frame.vector as u8 {
        SERIAL_VECTOR => {
            // EOI first: a command may not return (e.g. `spin` goes to CPL3).
            crate::lapic::eoi();
            crate::serial::service_rx();
        }
        IPI_VECTOR => {
            crate::lapic::eoi();
            crate::smp::on_ipi();
        }
        BALLOON_CONFIG_VECTOR => {
            crate::lapic::eoi();
            crate::balloon::on_config_interrupt();
        }
        BALLOON_QUEUE_VECTOR => {
            crate::lapic::eoi();
            crate::balloon::on_queue_interrupt();
        }
        GED_VECTOR => {
            crate::lapic::eoi();
            crate::ged::on_interrupt();
        }
        SPURIOUS_VECTOR => {} // no EOI for spurious interrupts
        vector => {
            Line::new()
                .str("exception ")
                .dec(u64::from(vector))
                .str(" at rip ")
                .hex(frame.rip)
                .send();
            x86::halt_forever();
        }
    }
}

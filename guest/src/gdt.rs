//! The GDT (static: flat kernel and user segments) and one TSS per CPU.
//!
//! The TSS gives RSP0, the stack the CPU switches to when an interrupt arrives
//! at CPL3. Each CPU needs its own TSS descriptor (`ltr` marks it busy).

use crate::abi::MAX_CPUS;
use crate::global::Global;
use core::arch::global_asm;

pub const USER_CS: u16 = 0x20 | 3;
pub const USER_DS: u16 = 0x28 | 3;
const FIRST_TSS: usize = 6; // GDT slot of CPU 0's TSS descriptor (16 bytes each)
/// The GDT's limit (size - 1), for `lgdt` operands.
pub const GDT_LIMIT: usize = (FIRST_TSS + 2 * MAX_CPUS) * 8 - 1;

global_asm!(
    r#"
    .section .data.gdt, "aw"
    .balign 16
    .global guest_gdt
guest_gdt:
    .quad 0                         # null
    .quad 0x00cf9b000000ffff        # 0x08 32-bit code, flat (AP trampoline)
    .quad 0x00cf93000000ffff        # 0x10 data, flat
    .quad 0x00af9b000000ffff        # 0x18 64-bit code, DPL 0
    .quad 0x00affb000000ffff        # 0x20 64-bit code, DPL 3
    .quad 0x00cff3000000ffff        # 0x28 data, DPL 3
    .fill {max_cpus} * 2, 8, 0      # 0x30 + 16 * cpu: TSS descriptors (run time)

    # lgdt operand for 32-bit code (reads limit and a 32-bit base).
    .balign 8
    .global guest_gdt_ptr
guest_gdt_ptr:
    .word {gdt_limit}
    .quad guest_gdt
    "#,
    gdt_limit = const GDT_LIMIT,
    max_cpus = const MAX_CPUS,
    options(att_syntax)
);

/// The 64-bit TSS (104 bytes, no I/O bitmap).
#[repr(C, packed)]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iopb_offset: u16,
}

const TSS_SIZE: usize = core::mem::size_of::<Tss>();
const _: () = assert!(TSS_SIZE == 104);

/// Element `cpu` belongs to that CPU only. Not zeroed at boot: `load_tss`
/// writes every field that matters (RSP0, no IST in use, the I/O map offset).
#[link_section = ".bss.noinit.tss"]
static TSS: Global<[Tss; MAX_CPUS]> = Global::new(
    [const {
        Tss {
            reserved0: 0,
            rsp: [0; 3],
            reserved1: 0,
            ist: [0; 7],
            reserved2: 0,
            reserved3: 0,
            iopb_offset: 0,
        }
    }; MAX_CPUS],
);

/// Fills in this CPU's TSS (RSP0 = top of its kernel stack) and loads it.
pub fn load_tss(cpu: usize) {
    extern "C" {
        static mut guest_gdt: [u64; FIRST_TSS + 2 * MAX_CPUS];
    }
    let tss = TSS.element(cpu);
    let base = tss as u64;
    let limit = TSS_SIZE as u64 - 1;
    // Available 64-bit TSS (type 9), present.
    let low = (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (0x89 << 40)
        | (((limit >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    // SAFETY: this CPU's own TSS and GDT slots; the loaded GDT is this array.
    unsafe {
        (*tss).rsp[0] = crate::boot::stack_top(cpu);
        // No I/O bitmap: port access at CPL3 is decided by RFLAGS.IOPL alone.
        (*tss).iopb_offset = TSS_SIZE as u16;
        let gdt = core::ptr::addr_of_mut!(guest_gdt).cast::<u64>();
        gdt.add(FIRST_TSS + 2 * cpu).write_volatile(low);
        gdt.add(FIRST_TSS + 2 * cpu + 1).write_volatile(base >> 32);
        crate::x86::ltr(((FIRST_TSS + 2 * cpu) * 8) as u16);
    }
}

/// CPU `cpu`'s TSS.RSP0 (unaligned: the TSS is packed), for code that enters
/// CPL3 with live kernel frames below the top of its stack (src/user.rs).
pub fn rsp0(cpu: usize) -> *mut u64 {
    let tss = TSS.element(cpu);
    // SAFETY: in bounds of this CPU's TSS; no reference is created.
    unsafe { core::ptr::addr_of_mut!((*tss).rsp).cast::<u64>() }
}

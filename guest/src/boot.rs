//! Entry: the PVH ELF note, the 32-bit entry point and the switch to 64-bit mode.
//!
//! Assembly because no Rust code can run before there is a stack and 64-bit mode.
//! The page tables (src/paging.rs) and GDT (src/gdt.rs) are static data loaded
//! with the image, so the switch is a handful of register writes.

use core::arch::global_asm;

/// Per-CPU kernel stack size (the stacks are an array in `.stacks`, CPU 0 = BSP).
pub const STACK_SHIFT: u32 = 13;
pub const STACK_SIZE: usize = 1 << STACK_SHIFT;

/// Top of CPU `cpu`'s kernel stack.
pub fn stack_top(cpu: usize) -> u64 {
    extern "C" {
        static stacks: u8;
    }
    let base = core::ptr::addr_of!(stacks) as u64;
    base + ((cpu as u64 + 1) << STACK_SHIFT)
}

global_asm!(
    r#"
    # ELF note read by the loader (linux-loader, QEMU): XEN_ELFNOTE_PHYS32_ENTRY
    # (type 18, name "Xen") = the 32-bit physical entry point.
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                         # namesz
    .long 4                         # descsz
    .long 18                        # type: XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long pvh_start32
    .balign 4

    .section .stacks, "aw", @nobits
    .balign 4096
    .global stacks
stacks:
    .skip {max_cpus} * {stack_size}

    .section .text.boot, "ax"
    .code32
    # PVH entry: 32-bit protected mode, paging off, flat segments,
    # EBX = guest-physical address of struct hvm_start_info.
    .global pvh_start32
pvh_start32:
    xor %esi, %esi                  # ESI = 0: BSP (EBX kept for bsp_main)
    lgdt guest_gdt_ptr
    jmp 1f

    # APs come here from the real-mode trampoline (src/smp.rs), GDT loaded.
    .global ap_start32
ap_start32:
    mov $0x10, %eax                 # flat data: the real-mode DS limit is 64 KiB
    mov %eax, %ds
    mov $1, %esi                    # ESI = 1: AP

1:  # Long mode: PAE paging with the static tables, EFER.LME, then paging on.
    mov ${cr4}, %eax                # PAE, OSFXSR, OSXMMEXCPT
    mov %eax, %cr4
    mov $guest_pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx           # IA32_EFER
    mov $0x100, %eax                # LME
    xor %edx, %edx
    wrmsr
    mov ${cr0}, %eax                # PE, MP, ET, NE, WP, PG
    mov %eax, %cr0
    ljmp $0x18, $2f                 # 64-bit kernel code segment

    .code64
2:  mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    test %esi, %esi
    jnz 3f

    # BSP: zero .bss (the image may not be reloaded on a reset), take stack 0.
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    shr $3, %ecx
    xor %eax, %eax
    rep stosq
    mov $stacks + {stack_size}, %esp
    mov %ebx, %edi                  # zero-extends: upper halves are undefined here
    call {bsp_main}
    ud2

3:  # AP: the BSP published our CPU number before the SIPI.
    mov {ap_boot_cpu}(%rip), %edi
    lea 1(%rdi), %eax
    shl ${stack_shift}, %eax
    lea stacks(%rax), %rsp
    call {ap_main}
    ud2
    "#,
    max_cpus = const crate::abi::MAX_CPUS,
    stack_size = const STACK_SIZE,
    stack_shift = const STACK_SHIFT,
    cr4 = const 0x620,
    cr0 = const 0x8001_0033u32,
    bsp_main = sym crate::bsp_main,
    ap_main = sym crate::smp::ap_main,
    ap_boot_cpu = sym crate::smp::AP_BOOT_CPU,
    options(att_syntax)
);

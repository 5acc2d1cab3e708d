//! Initial vCPU register state for the two boot entries: the Linux 64-bit boot protocol
//! (long mode, identity-mapped, `boot_params` in RSI) and PVH (32-bit protected mode, paging
//! off, `hvm_start_info` in EBX).

use kvm_bindings::{kvm_fpu, kvm_regs, kvm_sregs};
use vm_memory::{Bytes, GuestAddress, GuestMemoryError};

use crate::memory::GuestRam;

use super::gdt::{gdt_entry, kvm_segment_from_gdt};
use super::layout::*;

const X86_CR0_PE: u64 = 1 << 0;
const X86_CR0_ET: u64 = 1 << 4;
const X86_CR0_PG: u64 = 1 << 31;
const X86_CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

/// How the first vCPU enters the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootEntry {
    /// 64-bit Linux boot protocol: `rip` in long mode, `boot_params` address in RSI.
    Linux64 { rip: u64, boot_params: u64 },
    /// PVH: 32-bit entry, `hvm_start_info` address in EBX.
    Pvh { rip: u64, start_info: u64 },
}

/// General-purpose registers at entry.
pub fn boot_regs(entry: BootEntry) -> kvm_regs {
    match entry {
        BootEntry::Linux64 { rip, boot_params } => kvm_regs {
            rflags: 0x2,
            rip,
            rsp: BOOT_STACK_POINTER,
            rbp: BOOT_STACK_POINTER,
            rsi: boot_params,
            ..Default::default()
        },
        BootEntry::Pvh { rip, start_info } => kvm_regs {
            rflags: 0x2,
            rip,
            rbx: start_info,
            ..Default::default()
        },
    }
}

/// x87/SSE control state at entry.
pub fn boot_fpu() -> kvm_fpu {
    kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    }
}

fn write_gdt(mem: &GuestRam, table: &[u64]) -> Result<(), GuestMemoryError> {
    for (i, entry) in table.iter().enumerate() {
        mem.write_obj(*entry, GuestAddress(BOOT_GDT_START + (i as u64) * 8))?;
    }
    // An empty IDT: the kernel installs its own before enabling interrupts.
    mem.write_obj(0u64, GuestAddress(BOOT_IDT_START))
}

/// 1 GiB identity map with 2 MiB pages, enough for the kernel, zero page and command line.
fn write_page_tables(mem: &GuestRam) -> Result<(), GuestMemoryError> {
    const PRESENT_RW: u64 = 0x3;
    const PAGE_SIZE_2M: u64 = 0x80;
    mem.write_obj(PDPTE_START | PRESENT_RW, GuestAddress(PML4_START))?;
    mem.write_obj(PDE_START | PRESENT_RW, GuestAddress(PDPTE_START))?;
    for i in 0..512u64 {
        mem.write_obj(
            (i << 21) | PAGE_SIZE_2M | PRESENT_RW,
            GuestAddress(PDE_START + i * 8),
        )?;
    }
    Ok(())
}

/// Writes the boot GDT (and page tables for 64-bit entry) to guest memory and fills the
/// segment and control registers of `sregs` (which holds KVM's reset state).
pub fn setup_boot_sregs(
    mem: &GuestRam,
    entry: BootEntry,
    sregs: &mut kvm_sregs,
) -> Result<(), GuestMemoryError> {
    let table: [u64; 4] = match entry {
        BootEntry::Linux64 { .. } => [
            gdt_entry(0, 0, 0),
            gdt_entry(0xa09b, 0, 0xfffff), // 64-bit code
            gdt_entry(0xc093, 0, 0xfffff), // data
            gdt_entry(0x808b, 0, 0xfffff), // TSS
        ],
        BootEntry::Pvh { .. } => [
            gdt_entry(0, 0, 0),
            gdt_entry(0xc09b, 0, 0xfffff), // 32-bit code, 4 GiB
            gdt_entry(0xc093, 0, 0xfffff), // 32-bit data, 4 GiB
            gdt_entry(0x008b, 0, 0x67),    // 32-bit TSS, as the PVH ABI specifies
        ],
    };
    write_gdt(mem, &table)?;
    let code = kvm_segment_from_gdt(table[1], 1);
    let data = kvm_segment_from_gdt(table[2], 2);
    let tss = kvm_segment_from_gdt(table[3], 3);
    sregs.gdt.base = BOOT_GDT_START;
    sregs.gdt.limit = (std::mem::size_of_val(&table) - 1) as u16;
    sregs.idt.base = BOOT_IDT_START;
    sregs.idt.limit = 7;
    sregs.cs = code;
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = tss;

    match entry {
        BootEntry::Linux64 { .. } => {
            write_page_tables(mem)?;
            sregs.cr3 = PML4_START;
            sregs.cr4 |= X86_CR4_PAE;
            sregs.cr0 |= X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
            sregs.efer |= EFER_LME | EFER_LMA;
        }
        BootEntry::Pvh { .. } => {
            sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
            sregs.cr4 = 0;
            sregs.cr3 = 0;
            sregs.efer = 0;
        }
    }
    Ok(())
}

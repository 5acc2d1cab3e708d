//! The ELF core QEMU's `dump-guest-memory` writes: one PT_NOTE segment (an NT_PRSTATUS note
//! per vCPU, then a "QEMU" note per vCPU holding QEMU's `QEMUCPUState`) and one PT_LOAD per
//! RAM block, followed by the memory.

use super::mapping::Mapping;
use crate::cpu_state::{seg_flags, CpuState};

const PAGE: u64 = 4096;

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

const NT_PRSTATUS: u32 = 1;
/// QEMU's note type for its `QEMUCPUState` note.
const NT_QEMU: u32 = 0;
const PRSTATUS_SIZE: usize = 336;
const QEMU_CPUSTATE_SIZE: usize = 440;

/// One ELF note: namesz, descsz, type, name and desc each padded to 4 bytes.
fn note(out: &mut Vec<u8>, name: &str, ty: u32, desc: &[u8]) {
    put32(out, name.len() as u32 + 1);
    put32(out, desc.len() as u32);
    put32(out, ty);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out.extend_from_slice(desc);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// x86_64 `elf_prstatus` as QEMU's `x86_64_write_elf64_note` fills it.
fn prstatus(index: usize, s: &CpuState) -> Vec<u8> {
    let r = &s.regs;
    let sr = &s.sregs;
    let mut d = vec![0u8; 32];
    put32(&mut d, index as u32 + 1); // pr_pid
    d.resize(32 + 4 + 76, 0);
    for v in [
        r.r15,
        r.r14,
        r.r13,
        r.r12,
        r.rbp,
        r.rbx,
        r.r11,
        r.r10,
        r.r9,
        r.r8,
        r.rax,
        r.rcx,
        r.rdx,
        r.rsi,
        r.rdi,
        0, // orig_rax
        r.rip,
        u64::from(sr.cs.selector),
        r.rflags,
        r.rsp,
        u64::from(sr.ss.selector),
        sr.fs.base,
        sr.gs.base,
        u64::from(sr.ds.selector),
        u64::from(sr.es.selector),
        u64::from(sr.fs.selector),
        u64::from(sr.gs.selector),
    ] {
        put64(&mut d, v);
    }
    d.resize(PRSTATUS_SIZE, 0);
    d
}

fn qemu_segment(d: &mut Vec<u8>, selector: u16, limit: u32, flags: u32, base: u64) {
    put32(d, u32::from(selector));
    put32(d, limit);
    put32(d, flags);
    put32(d, 0);
    put64(d, base);
}

/// QEMU's `QEMUCPUState` (version 1).
fn qemu_cpu_state(s: &CpuState) -> Vec<u8> {
    let r = &s.regs;
    let sr = &s.sregs;
    let mut d = Vec::with_capacity(QEMU_CPUSTATE_SIZE);
    put32(&mut d, 1);
    put32(&mut d, QEMU_CPUSTATE_SIZE as u32);
    for v in [
        r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12,
        r.r13, r.r14, r.r15, r.rip, r.rflags,
    ] {
        put64(&mut d, v);
    }
    for seg in [
        &sr.cs, &sr.ds, &sr.es, &sr.fs, &sr.gs, &sr.ss, &sr.ldt, &sr.tr,
    ] {
        qemu_segment(&mut d, seg.selector, seg.limit, seg_flags(seg), seg.base);
    }
    qemu_segment(&mut d, 0, u32::from(sr.gdt.limit), 0, sr.gdt.base);
    qemu_segment(&mut d, 0, u32::from(sr.idt.limit), 0, sr.idt.base);
    for v in [sr.cr0, 0, sr.cr2, sr.cr3, sr.cr4] {
        put64(&mut d, v);
    }
    put64(&mut d, 0); // kernel_gs_base: an MSR not read here
    debug_assert_eq!(d.len(), QEMU_CPUSTATE_SIZE);
    d
}

/// The file's parts before the memory, written (and failing) separately as QEMU does.
pub struct Headers {
    /// The ELF header.
    pub ehdr: Vec<u8>,
    /// The program header table, and the section header that holds the real count when it
    /// does not fit `e_phnum` (PN_XNUM).
    pub phdrs: Vec<u8>,
    /// The notes, padded to the first memory byte.
    pub notes: Vec<u8>,
}

/// `e_phnum`'s escape: the count is in section 0's `sh_info`.
const PN_XNUM: u64 = 0xffff;

/// The file offset and size of a mapping's bytes (QEMU's `get_offset_range`): the memory
/// follows the headers block after block; a mapping outside them has offset -1 and no bytes.
fn offset_range(m: &Mapping, blocks: &[(u64, u64)], block_offsets: &[u64]) -> (u64, u64) {
    for (&(start, len), &off) in blocks.iter().zip(block_offsets) {
        if m.phys >= start && m.phys < start + len {
            let filesz = if m.phys + m.length <= start + len {
                m.length
            } else {
                len - (m.phys - start)
            };
            return (off + (m.phys - start), filesz);
        }
    }
    (u64::MAX, 0)
}

/// The ELF header, program headers (a PT_NOTE, then a PT_LOAD per mapping) and notes, padded
/// to the first memory byte; `blocks` are the memory written after them, in order.
pub fn elf_headers(blocks: &[(u64, u64)], mappings: &[Mapping], cpus: &[CpuState]) -> Headers {
    let mut notes = Vec::new();
    for (i, c) in cpus.iter().enumerate() {
        note(&mut notes, "CORE", NT_PRSTATUS, &prstatus(i, c));
    }
    for c in cpus {
        note(&mut notes, "QEMU", NT_QEMU, &qemu_cpu_state(c));
    }
    let phdr_num = 1 + mappings.len() as u64;
    let have_section = mappings.len() as u64 >= PN_XNUM - 2;
    let note_off = 64 + 56 * phdr_num + if have_section { 64 } else { 0 };
    let mut off = (note_off + notes.len() as u64).div_ceil(PAGE) * PAGE;
    let first = off;
    let mut offsets = Vec::new();
    for b in blocks {
        offsets.push(off);
        off += b.1;
    }

    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    h.resize(16, 0);
    put16(&mut h, 4); // ET_CORE
    put16(&mut h, 62); // EM_X86_64
    put32(&mut h, 1); // EV_CURRENT
    put64(&mut h, 0); // e_entry
    put64(&mut h, 64); // e_phoff
    put64(&mut h, if have_section { 64 + 56 * phdr_num } else { 0 }); // e_shoff
    put32(&mut h, 0); // e_flags
    put16(&mut h, 64); // e_ehsize
    put16(&mut h, 56); // e_phentsize
    put16(&mut h, phdr_num.min(PN_XNUM) as u16);
    put16(&mut h, 64); // e_shentsize
    put16(&mut h, u16::from(have_section)); // e_shnum
    put16(&mut h, 0); // e_shstrndx

    let mut p = Vec::with_capacity(56 * phdr_num as usize + 64);
    // PT_NOTE
    put32(&mut p, 4);
    put32(&mut p, 0);
    put64(&mut p, note_off);
    put64(&mut p, 0);
    put64(&mut p, 0);
    put64(&mut p, notes.len() as u64);
    put64(&mut p, notes.len() as u64);
    put64(&mut p, 0);
    for m in mappings {
        let (offset, filesz) = offset_range(m, blocks, &offsets);
        put32(&mut p, 1); // PT_LOAD
        put32(&mut p, 0);
        put64(&mut p, offset);
        // No virtual address shows as the physical one, as in QEMU.
        put64(&mut p, if m.virt != 0 { m.virt } else { m.phys });
        put64(&mut p, m.phys);
        put64(&mut p, filesz);
        put64(&mut p, m.length);
        put64(&mut p, 0);
    }
    if have_section {
        let mut shdr = [0u8; 64];
        shdr[44..48].copy_from_slice(&(phdr_num.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        p.extend_from_slice(&shdr);
    }
    notes.resize((first - note_off) as usize, 0);
    Headers {
        ehdr: h,
        phdrs: p,
        notes,
    }
}

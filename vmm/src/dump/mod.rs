//! `dump-guest-memory` in QEMU's ELF format: an ELF64 core with one PT_NOTE segment (an
//! NT_PRSTATUS note per vCPU, then a "QEMU" note per vCPU holding QEMU's `QEMUCPUState`) and
//! one PT_LOAD per RAM block, followed by the memory. `query-dump` progress lives here too.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

use kvm_bindings::kvm_segment;
use monitor::vm::Effects;
use qapi::types::{DumpCompletedEventData, DumpGuestMemoryFormat, DumpQueryResult, DumpStatus};
use qapi::{Event, QapiError};
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryRegion};

use crate::cpu_state::CpuState;
use crate::os_error::strerror as os_text;
use crate::run_state::RunState;
use crate::vm_backend::VmBackend;

/// Memory is written in steps of this many bytes (progress is updated between steps).
const CHUNK: u64 = 4 << 20;
const PAGE: u64 = 4096;

/// QEMU's `DumpState` status, completed and total bytes (`query-dump`).
static PROGRESS: Mutex<(DumpStatus, u64, u64)> = Mutex::new((DumpStatus::None, 0, 0));

fn set_progress(status: DumpStatus, completed: u64, total: u64) {
    *PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = (status, completed, total);
}

/// `query-dump`.
pub fn query() -> DumpQueryResult {
    let (status, completed, total) = *PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
    DumpQueryResult {
        status,
        completed: completed as i64,
        total: total as i64,
    }
}

/// `info dump` text for the status.
pub fn status_name(s: DumpStatus) -> &'static str {
    match s {
        DumpStatus::None => "none",
        DumpStatus::Active => "active",
        DumpStatus::Completed => "completed",
        DumpStatus::Failed => "failed",
    }
}

/// The formats this VMM writes (`query-dump-guest-memory-capability`).
pub fn formats() -> Vec<DumpGuestMemoryFormat> {
    vec![DumpGuestMemoryFormat::Elf]
}

/// One `dump-guest-memory` request.
pub struct Request<'a> {
    pub paging: bool,
    pub protocol: &'a str,
    pub detach: bool,
    pub begin: Option<i64>,
    pub length: Option<i64>,
    pub format: Option<DumpGuestMemoryFormat>,
}

fn format_name(f: DumpGuestMemoryFormat) -> &'static str {
    use DumpGuestMemoryFormat as F;
    match f {
        F::Elf => "elf",
        F::KdumpZlib => "kdump-zlib",
        F::KdumpLzo => "kdump-lzo",
        F::KdumpSnappy => "kdump-snappy",
        F::KdumpRawZlib => "kdump-raw-zlib",
        F::KdumpRawLzo => "kdump-raw-lzo",
        F::KdumpRawSnappy => "kdump-raw-snappy",
        F::WinDmp => "win-dmp",
    }
}

/// `dump-guest-memory`, with QEMU's checks in QEMU's order. Synchronous: the events (STOP,
/// DUMP_COMPLETED, RESUME) come before the reply. `detach` is accepted but the dump still
/// runs to completion before the reply (no main-loop hook exists for a background job yet).
pub fn dump_guest_memory(
    vm: &mut VmBackend,
    req: Request<'_>,
    fx: &mut Effects,
) -> Result<(), QapiError> {
    let _ = req.detach;
    if query().status == DumpStatus::Active {
        return Err(QapiError::generic(
            "There is a dump in progress, please wait.",
        ));
    }
    let format = req.format.unwrap_or(DumpGuestMemoryFormat::Elf);
    if format == DumpGuestMemoryFormat::WinDmp {
        return Err(QapiError::generic(
            "win-dump: dump format 'win-dmp' is not supported for this guest",
        ));
    }
    if format != DumpGuestMemoryFormat::Elf
        && (req.paging || req.begin.is_some() || req.length.is_some())
    {
        return Err(QapiError::generic(
            "kdump-compressed format doesn't support paging or filter",
        ));
    }
    match (req.begin, req.length) {
        (Some(_), None) => return Err(QapiError::generic("Parameter 'length' is missing")),
        (None, Some(_)) => return Err(QapiError::generic("Parameter 'begin' is missing")),
        _ => {}
    }
    if format != DumpGuestMemoryFormat::Elf {
        return Err(QapiError::generic(format!(
            "{} is not available now",
            format_name(format)
        )));
    }
    let mut file = if let Some(name) = req.protocol.strip_prefix("fd:") {
        // Named descriptors (getfd) are kept by the monitor, out of reach here.
        return Err(QapiError::generic(format!(
            "File descriptor named '{name}' has not been found"
        )));
    } else if let Some(path) = req.protocol.strip_prefix("file:") {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| {
                QapiError::generic(format!("Could not create '{path}': {}", os_text(&e)))
            })?
    } else {
        return Err(QapiError::generic(
            "parameter 'protocol' must start with 'file:' or 'fd:'",
        ));
    };

    // As QEMU's dump_init: stop a running VM, resume it in dump_cleanup.
    let resume = vm.machine.run_state().is_running();
    vm.vm_stop(RunState::Paused, fx);
    let result = prepare(vm, &req).and_then(|(blocks, cpus)| {
        let total: u64 = blocks.iter().map(|b| b.1).sum();
        set_progress(DumpStatus::Active, 0, total);
        match write_elf(vm, &mut file, &blocks, &cpus, total) {
            Ok(()) => {
                set_progress(DumpStatus::Completed, total, total);
                fx.events.push(Event::DumpCompleted(DumpCompletedEventData {
                    result: query(),
                    error: None,
                }));
                Ok(())
            }
            Err(e) => {
                let (_, done, _) = *PROGRESS.lock().unwrap_or_else(|p| p.into_inner());
                set_progress(DumpStatus::Failed, done, total);
                fx.events.push(Event::DumpCompleted(DumpCompletedEventData {
                    result: query(),
                    error: Some(e.clone()),
                }));
                Err(QapiError::generic(e))
            }
        }
    });
    if result.is_err() && query().status != DumpStatus::Failed {
        let (_, done, total) = *PROGRESS.lock().unwrap_or_else(|p| p.into_inner());
        set_progress(DumpStatus::Failed, done, total);
    }
    if resume {
        vm.vm_start(fx);
    }
    result
}

type Blocks = Vec<(u64, u64)>;

/// The RAM blocks to dump (filtered by begin/length) and every vCPU's registers.
fn prepare(vm: &VmBackend, req: &Request<'_>) -> Result<(Blocks, Vec<CpuState>), QapiError> {
    // The RAM as mapped (`none` maps its RAM flat from 0, or has none).
    let mut blocks: Blocks = vm
        .machine
        .mem()
        .iter()
        .map(|r| (r.start_addr().0, r.len()))
        .collect();
    if blocks.is_empty() {
        return Err(QapiError::generic("dump: no guest memory to dump"));
    }
    if let (Some(begin), Some(length)) = (req.begin, req.length) {
        if length == 0 {
            return Err(QapiError::generic(
                "parameter 'length' expects a non-zero size",
            ));
        }
        let lo = begin as u64;
        let hi = lo.saturating_add(length as u64);
        blocks = blocks
            .into_iter()
            .filter_map(|(a, l)| {
                let s = a.max(lo);
                let e = (a + l).min(hi);
                (s < e).then_some((s, e - s))
            })
            .collect();
        if blocks.is_empty() {
            return Err(QapiError::generic("dump: no guest memory to dump"));
        }
    }
    let cpus = (0..vm.machine.vcpu_count())
        .map(|i| vm.machine.cpu_state(i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| QapiError::generic(e.to_string()))?;
    Ok((blocks, cpus))
}

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

/// QEMU's segment-cache flag word for a KVM segment.
fn seg_flags(s: &kvm_segment) -> u32 {
    (u32::from(s.type_) << 8)
        | (u32::from(s.s) << 12)
        | (u32::from(s.dpl) << 13)
        | (u32::from(s.present != 0 && s.unusable == 0) << 15)
        | (u32::from(s.avl) << 20)
        | (u32::from(s.l) << 21)
        | (u32::from(s.db) << 22)
        | (u32::from(s.g) << 23)
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

/// The ELF header, program headers and notes, padded to the first memory byte.
pub fn elf_headers(blocks: &[(u64, u64)], cpus: &[CpuState]) -> (Vec<u8>, Vec<u64>) {
    let mut notes = Vec::new();
    for (i, c) in cpus.iter().enumerate() {
        note(&mut notes, "CORE", NT_PRSTATUS, &prstatus(i, c));
    }
    for c in cpus {
        note(&mut notes, "QEMU", NT_QEMU, &qemu_cpu_state(c));
    }
    let phnum = 1 + blocks.len();
    let note_off = 64 + 56 * phnum as u64;
    let mut off = (note_off + notes.len() as u64).div_ceil(PAGE) * PAGE;
    let mut offsets = Vec::new();
    for b in blocks {
        offsets.push(off);
        off += b.1;
    }

    let mut h = Vec::with_capacity(off.min(1 << 20) as usize);
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    h.resize(16, 0);
    put16(&mut h, 4); // ET_CORE
    put16(&mut h, 62); // EM_X86_64
    put32(&mut h, 1); // EV_CURRENT
    put64(&mut h, 0); // e_entry
    put64(&mut h, 64); // e_phoff
    put64(&mut h, 0); // e_shoff
    put32(&mut h, 0); // e_flags
    put16(&mut h, 64); // e_ehsize
    put16(&mut h, 56); // e_phentsize
    put16(&mut h, phnum as u16);
    put16(&mut h, 64); // e_shentsize
    put16(&mut h, 0); // e_shnum
    put16(&mut h, 0); // e_shstrndx
                      // PT_NOTE
    put32(&mut h, 4);
    put32(&mut h, 0);
    put64(&mut h, note_off);
    put64(&mut h, 0);
    put64(&mut h, 0);
    put64(&mut h, notes.len() as u64);
    put64(&mut h, notes.len() as u64);
    put64(&mut h, 0);
    for (b, o) in blocks.iter().zip(&offsets) {
        put32(&mut h, 1); // PT_LOAD
        put32(&mut h, 0);
        put64(&mut h, *o);
        put64(&mut h, 0); // p_vaddr: no paging
        put64(&mut h, b.0);
        put64(&mut h, b.1);
        put64(&mut h, b.1);
        put64(&mut h, 0);
    }
    h.extend_from_slice(&notes);
    h.resize(
        offsets.first().copied().unwrap_or(h.len() as u64) as usize,
        0,
    );
    (h, offsets)
}

fn write_elf(
    vm: &VmBackend,
    file: &mut std::fs::File,
    blocks: &[(u64, u64)],
    cpus: &[CpuState],
    total: u64,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("dump: failed to save memory: {}", os_text(&e));
    let (headers, _) = elf_headers(blocks, cpus);
    file.write_all(&headers).map_err(io)?;
    let mem = vm.machine.mem();
    let mut done = 0u64;
    for &(start, len) in blocks {
        let mut pos = 0u64;
        while pos < len {
            let n = CHUNK.min(len - pos);
            let slice = mem
                .get_slice(GuestAddress(start + pos), n as usize)
                .map_err(|e| format!("dump: failed to save memory: {e}"))?;
            let guard = slice.ptr_guard();
            // SAFETY: the slice is mapped guest RAM of `n` bytes; the vCPUs are stopped.
            let bytes = unsafe { std::slice::from_raw_parts(guard.as_ptr(), n as usize) };
            file.write_all(bytes).map_err(io)?;
            pos += n;
            done += n;
            set_progress(DumpStatus::Active, done, total);
        }
    }
    Ok(())
}

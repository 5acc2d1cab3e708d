//! A vCPU's architectural state as the monitor shows it, and QEMU's text dump of it
//! (`x86_cpu_dump_state`: the format of `info registers` and of internal-error reports).

use std::fmt::Write;

use kvm_bindings::{kvm_debugregs, kvm_regs, kvm_segment, kvm_sregs, KVM_MP_STATE_HALTED};
use kvm_ioctls::VcpuFd;

/// Registers read from KVM on the vCPU's own thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuState {
    pub regs: kvm_regs,
    pub sregs: kvm_sregs,
    pub debugregs: kvm_debugregs,
    pub halted: bool,
}

const CR0_PE: u64 = 1;
const EFER_LMA: u64 = 1 << 10;

/// QEMU's segment-cache flag word for a KVM segment.
pub(crate) fn seg_flags(s: &kvm_segment) -> u32 {
    (u32::from(s.type_) << 8)
        | (u32::from(s.s) << 12)
        | (u32::from(s.dpl) << 13)
        | (u32::from(s.present != 0 && s.unusable == 0) << 15)
        | (u32::from(s.avl) << 20)
        | (u32::from(s.l) << 21)
        | (u32::from(s.db) << 22)
        | (u32::from(s.g) << 23)
}

impl CpuState {
    pub fn capture(fd: &VcpuFd) -> Result<Self, kvm_ioctls::Error> {
        Ok(CpuState {
            regs: fd.get_regs()?,
            sregs: fd.get_sregs()?,
            debugregs: fd.get_debug_regs()?,
            halted: fd.get_mp_state()?.mp_state == KVM_MP_STATE_HALTED,
        })
    }

    pub fn long_mode(&self) -> bool {
        self.sregs.efer & EFER_LMA != 0
    }

    /// Executing 64-bit code (long mode and CS.L).
    pub fn code64(&self) -> bool {
        self.long_mode() && self.sregs.cs.l != 0
    }

    pub fn protected(&self) -> bool {
        self.sregs.cr0 & CR0_PE != 0
    }

    /// Current privilege level.
    pub fn cpl(&self) -> u8 {
        if self.protected() {
            (self.sregs.cs.selector & 3) as u8
        } else {
            0
        }
    }

    fn dump_segment(&self, out: &mut String, name: &str, s: &kvm_segment) {
        let flags = seg_flags(s);
        if self.long_mode() {
            let _ = write!(
                out,
                "{name:<3}={:04x} {:016x} {:08x} {:08x}",
                s.selector,
                s.base,
                s.limit,
                flags & 0x00ff_ff00
            );
        } else {
            let _ = write!(
                out,
                "{name:<3}={:04x} {:08x} {:08x} {:08x}",
                s.selector,
                s.base as u32,
                s.limit,
                flags & 0x00ff_ff00
            );
        }
        if self.protected() && flags & (1 << 15) != 0 {
            let _ = write!(out, " DPL={} ", (flags >> 13) & 3);
            if flags & (1 << 12) != 0 {
                let bit = |b: u32, c: char| if flags & (1 << b) != 0 { c } else { '-' };
                if flags & (1 << 11) != 0 {
                    out.push_str(if flags & (1 << 21) != 0 {
                        "CS64"
                    } else if flags & (1 << 22) != 0 {
                        "CS32"
                    } else {
                        "CS16"
                    });
                    let _ = write!(out, " [{}{}", bit(10, 'C'), bit(9, 'R'));
                } else {
                    out.push_str(if flags & (1 << 22) != 0 || self.long_mode() {
                        "DS  "
                    } else {
                        "DS16"
                    });
                    let _ = write!(out, " [{}{}", bit(10, 'E'), bit(9, 'W'));
                }
                let _ = write!(out, "{}]", bit(8, 'A'));
            } else {
                const SYS32: [&str; 16] = [
                    "Reserved",
                    "TSS16-avl",
                    "LDT",
                    "TSS16-busy",
                    "CallGate16",
                    "TaskGate",
                    "IntGate16",
                    "TrapGate16",
                    "Reserved",
                    "TSS32-avl",
                    "Reserved",
                    "TSS32-busy",
                    "CallGate32",
                    "Reserved",
                    "IntGate32",
                    "TrapGate32",
                ];
                const SYS64: [&str; 16] = [
                    "<hiword>",
                    "Reserved",
                    "LDT",
                    "Reserved",
                    "Reserved",
                    "Reserved",
                    "Reserved",
                    "Reserved",
                    "Reserved",
                    "TSS64-avl",
                    "Reserved",
                    "TSS64-busy",
                    "CallGate64",
                    "Reserved",
                    "IntGate64",
                    "TrapGate64",
                ];
                let table = if self.long_mode() { &SYS64 } else { &SYS32 };
                out.push_str(table[((flags >> 8) & 0xf) as usize]);
            }
        }
        out.push('\n');
    }

    /// The register dump without FPU state (QEMU's `cpu_dump_state` with no flags).
    pub fn dump(&self) -> String {
        let r = &self.regs;
        let s = &self.sregs;
        let mut out = String::new();
        let fl = r.rflags;
        let f = |bit: u32, c: char| if fl & (1 << bit) != 0 { c } else { '-' };
        let flag_chars: String = [
            f(10, 'D'),
            f(11, 'O'),
            f(7, 'S'),
            f(6, 'Z'),
            f(4, 'A'),
            f(2, 'P'),
            f(0, 'C'),
        ]
        .iter()
        .collect();
        let tail = format!(
            "CPL={} II=0 A20=1 SMM=0 HLT={}",
            self.cpl(),
            u8::from(self.halted)
        );
        if self.code64() {
            let _ = writeln!(
                out,
                "RAX={:016x} RBX={:016x} RCX={:016x} RDX={:016x}",
                r.rax, r.rbx, r.rcx, r.rdx
            );
            let _ = writeln!(
                out,
                "RSI={:016x} RDI={:016x} RBP={:016x} RSP={:016x}",
                r.rsi, r.rdi, r.rbp, r.rsp
            );
            let _ = writeln!(
                out,
                "R8 ={:016x} R9 ={:016x} R10={:016x} R11={:016x}",
                r.r8, r.r9, r.r10, r.r11
            );
            let _ = writeln!(
                out,
                "R12={:016x} R13={:016x} R14={:016x} R15={:016x}",
                r.r12, r.r13, r.r14, r.r15
            );
            let _ = writeln!(
                out,
                "RIP={:016x} RFL={:08x} [{flag_chars}] {tail}",
                r.rip, fl as u32
            );
        } else {
            let _ = writeln!(
                out,
                "EAX={:08x} EBX={:08x} ECX={:08x} EDX={:08x}",
                r.rax as u32, r.rbx as u32, r.rcx as u32, r.rdx as u32
            );
            let _ = writeln!(
                out,
                "ESI={:08x} EDI={:08x} EBP={:08x} ESP={:08x}",
                r.rsi as u32, r.rdi as u32, r.rbp as u32, r.rsp as u32
            );
            let _ = writeln!(
                out,
                "EIP={:08x} EFL={:08x} [{flag_chars}] {tail}",
                r.rip as u32, fl as u32
            );
        }
        for (name, seg) in [
            ("ES", &s.es),
            ("CS", &s.cs),
            ("SS", &s.ss),
            ("DS", &s.ds),
            ("FS", &s.fs),
            ("GS", &s.gs),
            ("LDT", &s.ldt),
            ("TR", &s.tr),
        ] {
            self.dump_segment(&mut out, name, seg);
        }
        let d = &self.debugregs;
        if self.long_mode() {
            let _ = writeln!(out, "GDT=     {:016x} {:08x}", s.gdt.base, s.gdt.limit);
            let _ = writeln!(out, "IDT=     {:016x} {:08x}", s.idt.base, s.idt.limit);
            let _ = writeln!(
                out,
                "CR0={:08x} CR2={:016x} CR3={:016x} CR4={:08x}",
                s.cr0 as u32, s.cr2, s.cr3, s.cr4 as u32
            );
        } else {
            let _ = writeln!(
                out,
                "GDT=     {:08x} {:08x}",
                s.gdt.base as u32, s.gdt.limit
            );
            let _ = writeln!(
                out,
                "IDT=     {:08x} {:08x}",
                s.idt.base as u32, s.idt.limit
            );
            let _ = writeln!(
                out,
                "CR0={:08x} CR2={:08x} CR3={:08x} CR4={:08x}",
                s.cr0 as u32, s.cr2 as u32, s.cr3 as u32, s.cr4 as u32
            );
        }
        for (i, dr) in d.db.iter().enumerate() {
            let _ = write!(out, "DR{i}={dr:016x} ");
        }
        let _ = writeln!(out, "\nDR6={:016x} DR7={:016x}", d.dr6, d.dr7);
        let _ = writeln!(out, "EFER={:016x}", s.efer);
        out
    }
}

//! What the HMP commands need from the machine: [`HmpTarget`], implemented by the VMM.
//!
//! Operations that fail as a QMP command would return `Err(desc)`; the command then prints
//! `Error: desc`, as QEMU's `hmp_handle_error` does.

use serde_json::Value;

/// A QMP-style failure: the error's `desc`.
pub type HmpResult<T> = Result<T, String>;

/// One segment register as QEMU's segment cache holds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub base: u64,
    pub limit: u32,
    /// 64-bit code segment (`L`).
    pub long: bool,
    /// 32-bit default operand size (`D/B`).
    pub db: bool,
}

/// The registers `$name` expressions and the disassembler read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuRegs {
    /// RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15 (QEMU's `regs[]` order).
    pub gpr: [u64; 16],
    pub rip: u64,
    pub rflags: u64,
    /// ES, CS, SS, DS, FS, GS (QEMU's `segs[]` order).
    pub segs: [Segment; 6],
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
}

pub const R_ES: usize = 0;
pub const R_CS: usize = 1;
pub const R_SS: usize = 2;
pub const R_DS: usize = 3;
pub const R_FS: usize = 4;
pub const R_GS: usize = 5;

impl CpuRegs {
    /// The code size the CPU executes in (long mode with CS.L, else CS.D/B).
    pub fn code_size(&self) -> crate::disas::CodeSize {
        use crate::disas::CodeSize;
        let cs = &self.segs[R_CS];
        if self.efer & (1 << 10) != 0 && cs.long {
            CodeSize::Bits64
        } else if self.cr0 & 1 != 0 && cs.db {
            CodeSize::Bits32
        } else {
            CodeSize::Bits16
        }
    }
}

/// `query-status`: whether vCPUs run and the run state's QAPI name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStatus {
    pub running: bool,
    pub status: String,
}

/// One `query-hotpluggable-cpus` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotpluggableCpu {
    pub type_name: String,
    pub vcpus_count: i64,
    pub qom_path: Option<String>,
    /// `CpuInstanceProperties` present, in QEMU's print order.
    pub props: Vec<(String, i64)>,
}

/// A `qom-set` value: JSON with `-j`, else text parsed by the property's type.
#[derive(Debug, Clone, PartialEq)]
pub enum QomSetValue {
    Json(Value),
    Text(String),
}

/// The machine as the HMP commands see it.
pub trait HmpTarget {
    // --- CPUs -------------------------------------------------------------------------
    /// Number of vCPUs.
    fn cpu_count(&self) -> usize;
    /// The monitor's current CPU (`cpu N`, or `human-monitor-command`'s `cpu-index`).
    fn current_cpu(&self) -> usize;
    fn set_current_cpu(&mut self, index: usize);
    /// Registers of vCPU `index`, or None if it cannot be read.
    fn cpu_regs(&mut self, index: usize) -> Option<CpuRegs>;
    /// QEMU's register dump with FPU state (`info registers` body, no `CPU#` header).
    fn register_dump(&mut self, index: usize) -> Option<String>;
    /// Host thread ids of the vCPUs, by index.
    fn vcpu_thread_ids(&self) -> Vec<i64>;
    /// The RAM block's name (`pc.ram`; `ram` on `none`), None if the machine has no RAM.
    fn ram_block(&self) -> Option<String>;
    /// The CPU slots, or why the machine has none to list.
    fn hotpluggable_cpus(&self) -> HmpResult<Vec<HotpluggableCpu>>;
    /// Injects an NMI into vCPU `index`.
    fn nmi(&mut self, index: usize) -> HmpResult<()>;

    // --- memory -----------------------------------------------------------------------
    /// Reads guest-physical memory; false if any byte is not backed by RAM.
    fn read_phys(&mut self, addr: u64, buf: &mut [u8]) -> bool;
    /// Guest-virtual to guest-physical with vCPU `cpu`'s page tables.
    fn translate(&mut self, cpu: usize, addr: u64) -> Option<u64>;
    /// The RAM block and host address backing guest-physical `addr`.
    fn gpa2hva(&mut self, addr: u64) -> Option<(String, u64)>;
    /// The RAM block and host physical address behind guest-physical `addr` (the page is
    /// touched first, as QEMU does); the error is QEMU's text.
    fn gpa2hpa(&mut self, addr: u64) -> Option<(String, Result<u64, String>)>;
    fn memsave(&mut self, addr: u64, size: u64, filename: &str, cpu: usize) -> HmpResult<()>;
    fn pmemsave(&mut self, addr: u64, size: u64, filename: &str) -> HmpResult<()>;
    /// `query-memory-size-summary`: base memory and plugged memory (if reported).
    fn memory_size_summary(&self) -> (u64, Option<u64>);

    // --- run state --------------------------------------------------------------------
    fn status(&self) -> RunStatus;
    fn stop(&mut self) -> HmpResult<()>;
    fn cont(&mut self) -> HmpResult<()>;
    fn system_reset(&mut self) -> HmpResult<()>;
    fn system_powerdown(&mut self) -> HmpResult<()>;
    fn quit(&mut self);

    // --- balloon ----------------------------------------------------------------------
    /// QMP `balloon` (target size in bytes).
    fn balloon(&mut self, bytes: i64) -> HmpResult<()>;
    /// QMP `query-balloon`'s `actual` in bytes.
    fn query_balloon(&self) -> HmpResult<i64>;

    // --- identity ---------------------------------------------------------------------
    fn name(&self) -> Option<String>;
    fn uuid(&self) -> String;
    /// `info version`: QEMU's version and package joined.
    fn version(&self) -> String;

    // --- QOM --------------------------------------------------------------------------
    /// `qom-list`: (name, type) of each property.
    fn qom_list(&mut self, path: &str) -> HmpResult<Vec<(String, String)>>;
    /// The property's value.
    fn qom_get(&mut self, path: &str, property: &str) -> HmpResult<Value>;
    /// `qom-get` as HMP prints it: the value through QEMU's pretty JSON writer (the
    /// monitor's, so members come in QDict order and strings are escaped as QEMU does).
    fn qom_get_pretty(&mut self, path: &str, property: &str) -> HmpResult<String>;
    fn qom_set(&mut self, path: &str, property: &str, value: QomSetValue) -> HmpResult<()>;

    // --- device and machine views, already in QEMU's text format ----------------------
    /// `info pci`.
    fn info_pci(&mut self) -> String;
    /// `info qtree` (`brief`: no properties).
    fn info_qtree(&mut self, brief: bool) -> String;
    /// `info mtree` with its flags.
    fn info_mtree(
        &mut self,
        flatview: bool,
        dispatch_tree: bool,
        owner: bool,
        disabled: bool,
    ) -> String;
    /// `info chardev`: (label, filename) of each chardev.
    fn chardevs(&mut self) -> Vec<(String, String)>;
    /// `info history`: the session's command history (`0: 'line'\n` …), empty without one.
    fn history(&mut self) -> String;
    /// `info lapic` for the LAPIC of vCPU `cpu`.
    fn info_lapic(&mut self, cpu: usize) -> String;
    /// `info pic`.
    fn info_pic(&mut self) -> String;
    /// `info irq`.
    fn info_irq(&mut self) -> String;
    /// `info dump`: `query-dump` status, completed and total bytes.
    fn dump_status(&self) -> (String, u64, u64) {
        ("none".into(), 0, 0)
    }
    /// `dump-guest-memory`; None if this VMM has no dump support (QEMU's text then).
    fn dump_guest_memory(
        &mut self,
        _filename: &str,
        _paging: bool,
        _detach: bool,
        _range: Option<(u64, u64)>,
    ) -> Option<HmpResult<()>> {
        None
    }
}

//! `dump-guest-memory` (an ELF core, see [`elf`]) as QEMU runs it: checks and the file's
//! opening, `dump_init` (stop the VM, take the vCPUs' registers), the writing on another
//! thread, then `DUMP_COMPLETED` and the VM's resumption on the main thread. `query-dump`
//! progress lives here too.
//!
//! A plain dump answers later ([`Reply::Later`]): the file is opened on a worker (a FIFO
//! blocks), the main thread stops the VM ([`Step::Opened`]), the worker writes, and the main
//! thread finishes ([`Step::Written`]) before the reply. A detached dump opens the file on the
//! main thread, as QEMU does, replies at once, and its end comes back as a machine event.

mod elf;
mod mapping;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::Mutex;

use monitor::vm::{Effects, FdSource, Job, JobOutput, Reply};
use qapi::types::{
    DumpCompletedEventData, DumpGuestMemoryArgs, DumpGuestMemoryFormat, DumpQueryResult, DumpStatus,
};
use qapi::{Event, QapiError};
use vm_memory::{GuestMemoryBackend, GuestMemoryRegion};

use crate::cpu_state::CpuState;
use crate::memory::GuestRam;
use crate::os_error::strerror as os_text;
use crate::run_state::RunState;
use crate::vm_backend::{empty, VmBackend};

pub use elf::elf_headers;

/// Memory is written in steps of this many bytes (progress is updated between steps).
const CHUNK: u64 = 4 << 20;

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

/// The formats this VMM writes (`query-dump-guest-memory-capability`).
pub fn formats() -> Vec<DumpGuestMemoryFormat> {
    vec![DumpGuestMemoryFormat::Elf]
}

/// One `dump-guest-memory` request.
pub struct Request {
    pub paging: bool,
    pub protocol: String,
    pub detach: bool,
    pub begin: Option<i64>,
    pub length: Option<i64>,
    pub format: Option<DumpGuestMemoryFormat>,
}

impl From<DumpGuestMemoryArgs> for Request {
    fn from(a: DumpGuestMemoryArgs) -> Request {
        Request {
            paging: a.paging,
            protocol: a.protocol,
            detach: a.detach.unwrap_or(false),
            begin: a.begin,
            length: a.length,
            format: a.format,
        }
    }
}

/// A dump between its start and QEMU's `dump_cleanup` (the VM's resumption).
#[derive(Debug, Default)]
pub struct InFlight {
    /// The dump stopped a running VM and resumes it at the end.
    resume: bool,
}

/// QEMU's `qemu_system_dump_in_progress()` check, for `dump-guest-memory`, `stop` and `cont`.
pub fn check_not_in_progress(vm: &VmBackend) -> Result<(), QapiError> {
    if vm.dump.is_some() || query().status == DumpStatus::Active {
        return Err(QapiError::generic(
            "There is a dump in process, please wait.",
        ));
    }
    Ok(())
}

/// What a plain dump's worker hands back to the main thread ([`step`]).
pub enum Step {
    /// The file is open (or could not be).
    Opened {
        file: Result<File, QapiError>,
        request: Request,
    },
    /// The memory is written (or failed, with QEMU's text).
    Written(Result<(), String>),
}

/// Where the core goes.
enum Output {
    /// `file:PATH`, to create.
    Path(String),
    /// `fd:NAME`, taken from the monitor.
    Fd(OwnedFd),
}

/// `dump-guest-memory`, with QEMU's checks in QEMU's order.
pub fn dump_guest_memory(
    vm: &mut VmBackend,
    req: Request,
    fds: &mut dyn FdSource,
    fx: &mut Effects,
) -> Reply {
    match checks(vm, &req, fds) {
        Err(e) => Reply::Now(Err(e)),
        Ok(Output::Fd(fd)) => {
            // Nothing to open: straight to dump_init.
            vm.dump = Some(InFlight::default());
            let file = Ok(File::from(fd));
            if req.detach {
                detach(vm, file, &req, fx)
            } else {
                step(vm, Step::Opened { file, request: req }, fx)
            }
        }
        Ok(Output::Path(path)) if req.detach => {
            // As QEMU, the detached dump's file opens here, before the reply.
            let file = create(&path);
            if file.is_ok() {
                vm.dump = Some(InFlight::default());
            }
            detach(vm, file, &req, fx)
        }
        Ok(Output::Path(path)) => {
            // Held from now on, so that no other dump starts while the file opens.
            vm.dump = Some(InFlight::default());
            Reply::Later(Job::new(move || {
                JobOutput::Step(Box::new(Step::Opened {
                    file: create(&path),
                    request: req,
                }))
            }))
        }
    }
}

/// A detached dump: started here, written by its own thread, ended by a machine event.
fn detach(
    vm: &mut VmBackend,
    file: Result<File, QapiError>,
    req: &Request,
    fx: &mut Effects,
) -> Reply {
    let file = match file {
        Ok(f) => f,
        Err(e) => return Reply::Now(Err(e)),
    };
    let work = match start(vm, req, fx) {
        Ok(work) => work,
        Err(e) => return Reply::Now(Err(e)),
    };
    let events = vm.machine_events();
    let spawned = std::thread::Builder::new()
        .name("dump_thread".into())
        .spawn({
            let events = events.clone();
            move || events.dump_done(work.write(file).err())
        });
    if let Err(e) = spawned {
        set_failed();
        events.dump_done(Some(format!("dump: {e}")));
    }
    Reply::Now(Ok(empty()))
}

/// The main thread's part after a plain dump's worker.
pub fn step(vm: &mut VmBackend, step: Step, fx: &mut Effects) -> Reply {
    match step {
        Step::Opened { file: Err(e), .. } => {
            vm.dump = None;
            Reply::Now(Err(e))
        }
        Step::Opened {
            file: Ok(file),
            request,
        } => match start(vm, &request, fx) {
            Ok(work) => Reply::Later(Job::new(move || {
                JobOutput::Step(Box::new(Step::Written(work.write(file))))
            })),
            Err(e) => Reply::Now(Err(e)),
        },
        Step::Written(result) => {
            finish(vm, result.clone().err(), fx);
            Reply::Now(result.map(|()| empty()).map_err(QapiError::generic))
        }
    }
}

/// The end of a dump (QEMU's `dump_process` tail and `dump_cleanup` on the main thread):
/// DUMP_COMPLETED with `query-dump`'s result, then the VM resumes if the dump stopped it.
pub fn finish(vm: &mut VmBackend, error: Option<String>, fx: &mut Effects) {
    fx.events.push(Event::DumpCompleted(DumpCompletedEventData {
        result: query(),
        error,
    }));
    cleanup(vm, fx);
}

fn cleanup(vm: &mut VmBackend, fx: &mut Effects) {
    if vm.dump.take().is_some_and(|d| d.resume) {
        vm.vm_start(fx);
    }
}

fn set_failed() {
    let (_, done, total) = *PROGRESS.lock().unwrap_or_else(|p| p.into_inner());
    set_progress(DumpStatus::Failed, done, total);
}

/// The checks before `dump_init`; returns where the core goes.
fn checks(vm: &VmBackend, req: &Request, fds: &mut dyn FdSource) -> Result<Output, QapiError> {
    check_not_in_progress(vm)?;
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
            format.as_str()
        )));
    }
    if let Some(name) = req.protocol.strip_prefix("fd:") {
        return fds.take_fd(name).map(Output::Fd).ok_or_else(|| {
            QapiError::generic(format!("File descriptor named '{name}' has not been found"))
        });
    }
    match req.protocol.strip_prefix("file:") {
        Some(path) => Ok(Output::Path(path.to_string())),
        None => Err(QapiError::generic(
            "parameter 'protocol' must start with 'file:' or 'fd:'",
        )),
    }
}

fn create(path: &str) -> Result<File, QapiError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| QapiError::generic(format!("Could not create '{path}': {}", os_text(&e))))
}

/// QEMU's `dump_init`: stops a running VM (`save-vm`) and takes what the writer needs. On
/// failure the dump is over (status `failed`, VM resumed).
fn start(vm: &mut VmBackend, req: &Request, fx: &mut Effects) -> Result<Work, QapiError> {
    set_progress(DumpStatus::Active, 0, 0);
    let resume = vm.machine.run_state().is_running();
    vm.vm_stop(RunState::SaveVm, fx);
    vm.dump = Some(InFlight { resume });
    match prepare(vm, req) {
        Ok(work) => {
            set_progress(DumpStatus::Active, 0, work.total);
            Ok(work)
        }
        Err(e) => {
            set_failed();
            cleanup(vm, fx);
            Err(e)
        }
    }
}

type Blocks = Vec<(u64, u64)>;

/// The RAM blocks to dump (filtered by begin/length), the mappings that describe them
/// (`paging`: from the guest's page tables) and every vCPU's registers.
fn prepare(vm: &VmBackend, req: &Request) -> Result<Work, QapiError> {
    // The RAM as mapped (`none` maps its RAM flat from 0, or has none).
    let all: Blocks = vm
        .machine
        .mem()
        .iter()
        .map(|r| (r.start_addr().0, r.len()))
        .collect();
    if all.is_empty() {
        return Err(QapiError::generic("dump: no guest memory to dump"));
    }
    let mut blocks = all.clone();
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
    let mem = vm.machine.mem().clone();
    let mut mappings = if req.paging {
        let sregs: Vec<_> = cpus.iter().map(|c| &c.sregs).collect();
        mapping::from_page_tables(&mem, &sregs, &all)
    } else {
        mapping::simple(&all)
    };
    if let (Some(begin), Some(length)) = (req.begin, req.length) {
        mappings.filter(begin as u64, length as u64);
    }
    let total = blocks.iter().map(|b| b.1).sum();
    Ok(Work {
        mem,
        blocks,
        mappings: mappings.list,
        cpus,
        total,
    })
}

/// What the writer needs, taken on the main thread.
struct Work {
    mem: GuestRam,
    blocks: Blocks,
    mappings: Vec<mapping::Mapping>,
    cpus: Vec<CpuState>,
    total: u64,
}

impl Work {
    /// Writes the core (on a worker thread) and sets the final status, as QEMU's
    /// `dump_process` does before its event.
    fn write(self, mut file: File) -> Result<(), String> {
        let result = self.write_core(&mut file);
        match &result {
            Ok(()) => set_progress(DumpStatus::Completed, self.total, self.total),
            Err(_) => set_failed(),
        }
        result
    }

    fn write_core(&self, file: &mut File) -> Result<(), String> {
        let failed = |what: &str| {
            let what = what.to_string();
            move |e: std::io::Error| format!("dump: failed to {what}: {}", os_text(&e))
        };
        let headers = elf_headers(&self.blocks, &self.mappings, &self.cpus);
        file.write_all(&headers.ehdr)
            .map_err(failed("write elf header"))?;
        file.write_all(&headers.phdrs)
            .map_err(failed("write program header table"))?;
        file.write_all(&headers.notes)
            .map_err(|_| "dump: failed to write elf notes".to_string())?;
        let mut done = 0u64;
        for &(start, len) in &self.blocks {
            let mut pos = 0u64;
            while pos < len {
                let n = CHUNK.min(len - pos);
                // Straight from the mapping, with no Rust reference to memory the guest (or a
                // device) may write meanwhile.
                crate::guest_write::write_phys_range(&self.mem, start + pos, n, file)
                    .map_err(failed("save memory"))?;
                pos += n;
                done += n;
                set_progress(DumpStatus::Active, done, self.total);
            }
        }
        Ok(())
    }
}

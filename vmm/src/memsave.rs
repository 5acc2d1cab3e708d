//! `memsave` and `pmemsave`: guest memory to a file. The file is opened and written on a
//! worker thread (a FIFO may block both for ever); what the job needs from the machine is
//! taken here, on the main thread: the guest RAM handle and, for `memsave`, the vCPU's
//! paging registers, with which the worker walks the page tables.

use std::fs::File;
use std::io::Write;

use kvm_bindings::kvm_sregs;
use monitor::vm::{Job, JobOutput, Reply};
use qapi::QapiError;
use vm_memory::{Bytes, GuestAddress};

use crate::guest_access::translate;
use crate::memory::GuestRam;
use crate::os_error::strerror as os_text;
use crate::vm_backend::{empty, VmBackend};

/// QEMU's text for a file `fopen` could not open.
pub fn open_for_save(filename: &str) -> Result<File, QapiError> {
    File::create(filename)
        .map_err(|e| QapiError::generic(format!("Could not open '{filename}': {}", os_text(&e))))
}

fn io_error() -> QapiError {
    QapiError::generic("An IO error has occurred")
}

fn done(result: Result<(), QapiError>) -> JobOutput {
    JobOutput::Done(result.map(|()| empty()))
}

/// QMP `memsave`: `cpu` is already checked.
pub fn memsave(vm: &VmBackend, cpu: usize, addr: u64, size: u64, filename: String) -> Reply {
    let sregs = match vm.machine.cpu_state(cpu) {
        Ok(state) => state.sregs,
        Err(e) => return Reply::Now(Err(QapiError::generic(e.to_string()))),
    };
    let mem = vm.machine.mem().clone();
    Reply::Later(Job::new(move || {
        done(write_virtual(&mem, &sregs, addr, size, &filename))
    }))
}

/// QMP `pmemsave`.
pub fn pmemsave(vm: &VmBackend, addr: u64, size: u64, filename: String) -> Reply {
    let mem = vm.machine.mem().clone();
    Reply::Later(Job::new(move || {
        done(write_physical(&mem, addr, size, &filename))
    }))
}

fn write_virtual(
    mem: &GuestRam,
    sregs: &kvm_sregs,
    addr: u64,
    size: u64,
    filename: &str,
) -> Result<(), QapiError> {
    let mut file = open_for_save(filename)?;
    let invalid =
        || QapiError::generic(format!("Invalid addr 0x{addr:016x}/size {size} specified"));
    let mut buf = Vec::new();
    let mut done = 0u64;
    while done < size {
        let va = addr.wrapping_add(done);
        // Within one guest page at a time: contiguous virtual pages need not be physically so.
        let len = (0x1000 - (va & 0xfff)).min(size - done);
        let pa = translate(mem, sregs, va).map_err(|_| invalid())?;
        buf.resize(len as usize, 0);
        mem.read_slice(&mut buf, GuestAddress(pa))
            .map_err(|_| invalid())?;
        file.write_all(&buf).map_err(|_| io_error())?;
        done += len;
    }
    Ok(())
}

fn write_physical(mem: &GuestRam, addr: u64, size: u64, filename: &str) -> Result<(), QapiError> {
    let mut file = open_for_save(filename)?;
    crate::guest_write::write_phys_range(mem, addr, size, &mut file).map_err(|_| io_error())
}

//! Guest RAM: anonymous private mappings (so a balloon's MADV_DONTNEED really frees pages),
//! laid out around the 32-bit PCI hole.

use std::io;

use thiserror::Error;
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryRegion};

use crate::arch::memory_map::ram_regions;

/// The guest's RAM.
pub type GuestRam = vm_memory::GuestMemoryMmap<()>;

#[derive(Debug, Error)]
pub enum MemoryError {
    #[error("cannot set up guest memory 'pc.ram': {0}")]
    Map(#[from] vm_memory::mmap::FromRangesError),
    #[error("RAM size {0:#x} does not fit this host's address space")]
    TooLarge(u64),
    #[error("mlockall: {0}")]
    Lock(io::Error),
}

/// How a board places its RAM in the guest-physical address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamLayout {
    /// Around the 32-bit PCI hole (pc, q35, microvm).
    PciHole,
    /// One block from address 0 (`none`: QEMU maps its `ram` backend there).
    Flat,
}

/// Maps `size` bytes of RAM; `prealloc` touches every page now (`-mem-prealloc`). Zero bytes
/// is no RAM at all (`-machine none` without `-m`).
pub fn create_guest_ram(
    size: u64,
    layout: RamLayout,
    prealloc: bool,
) -> Result<GuestRam, MemoryError> {
    if size == 0 {
        return Ok(GuestRam::default());
    }
    let regions = match layout {
        RamLayout::PciHole => ram_regions(size),
        RamLayout::Flat => vec![(0, size)],
    };
    let ranges = regions
        .into_iter()
        .map(|(addr, len)| {
            Ok((
                GuestAddress(addr),
                usize::try_from(len).map_err(|_| MemoryError::TooLarge(size))?,
            ))
        })
        .collect::<Result<Vec<_>, MemoryError>>()?;
    let ram = GuestRam::from_ranges(&ranges)?;
    if prealloc {
        for region in ram.iter() {
            populate(region.as_ptr(), region.len() as usize);
        }
    }
    Ok(ram)
}

/// Faults in a host range for writing, as `-mem-prealloc` promises.
fn populate(addr: *mut u8, len: usize) {
    // SAFETY: the range is one of our own anonymous mappings.
    let ret = unsafe { libc::madvise(addr.cast(), len, libc::MADV_POPULATE_WRITE) };
    if ret != 0 {
        // Kernels before 5.14: touch one byte per page.
        let page = 4096;
        for off in (0..len).step_by(page) {
            // SAFETY: in bounds of the mapping; a volatile read-modify-write of our memory.
            unsafe {
                let p = addr.add(off);
                p.write_volatile(p.read_volatile());
            }
        }
    }
}

/// `-overcommit mem-lock=on`: lock all current and future memory, as QEMU does.
pub fn lock_all_memory() -> Result<(), MemoryError> {
    // SAFETY: no memory is touched; only the process's locking policy changes.
    let ret = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if ret != 0 {
        return Err(MemoryError::Lock(io::Error::last_os_error()));
    }
    Ok(())
}

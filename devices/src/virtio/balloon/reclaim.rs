//! Giving ballooned guest memory back to the host.

use thiserror::Error;
use vm_memory::{GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

#[derive(Debug, Error)]
pub enum ReclaimError {
    #[error("madvise(MADV_DONTNEED) of {len:#x} bytes at guest {gpa:#x}: {source}")]
    Madvise {
        gpa: u64,
        len: u64,
        source: std::io::Error,
    },
}

/// Frees the host memory behind guest-physical ranges. Ranges are 4 KiB aligned and may
/// reach outside RAM; only the parts inside RAM are touched. Returns the bytes released.
pub trait MemoryReclaimer: Send + Sync {
    fn discard(&self, gpa: u64, len: u64) -> Result<u64, ReclaimError>;
}

/// `madvise(MADV_DONTNEED)` on the host mapping of guest RAM: with the private anonymous
/// mappings `GuestMemoryMmap` makes, the pages are freed at once and read back as zero.
/// (Shared or file-backed RAM would need `fallocate(PUNCH_HOLE)` or `MADV_REMOVE`; locked
/// RAM, `-overcommit mem-lock=on`, makes DONTNEED fail with EINVAL.)
pub struct MadviseReclaimer {
    mem: GuestMemoryMmap<()>,
}

impl MadviseReclaimer {
    pub fn new(mem: GuestMemoryMmap<()>) -> Self {
        MadviseReclaimer { mem }
    }
}

impl MemoryReclaimer for MadviseReclaimer {
    fn discard(&self, gpa: u64, len: u64) -> Result<u64, ReclaimError> {
        let end = gpa.saturating_add(len);
        let mut done = 0;
        for region in self.mem.iter() {
            let r_start = region.start_addr().0;
            let r_end = r_start.saturating_add(region.len());
            let (start, stop) = (gpa.max(r_start), end.min(r_end));
            if start >= stop {
                continue;
            }
            let offset = (start - r_start) as usize;
            let size = (stop - start) as usize;
            // SAFETY: [offset, offset + size) lies inside this region's live mapping, which
            // `self.mem` keeps alive. DONTNEED only replaces the pages' contents with zeros,
            // which is what the guest asked for by ballooning them; no Rust reference into
            // guest memory exists (vm-memory accesses it through raw/volatile pointers).
            let ret = unsafe {
                libc::madvise(
                    region.as_ptr().add(offset).cast(),
                    size,
                    libc::MADV_DONTNEED,
                )
            };
            if ret != 0 {
                return Err(ReclaimError::Madvise {
                    gpa: start,
                    len: stop - start,
                    source: std::io::Error::last_os_error(),
                });
            }
            done += stop - start;
        }
        Ok(done)
    }
}

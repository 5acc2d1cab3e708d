//! Writing a guest-physical range to a file straight from the guest's mapping, with no bounce
//! buffer: `pmemsave` of a large range is then bound by the file, not by a copy (to /dev/null it
//! is nearly free, as the kernel reads nothing). Bytes outside RAM are written as zeros, as
//! QEMU's `pmemsave` does.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;

use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryRegion, MemoryRegionAddress};

use crate::memory::GuestRam;

/// Zeros for the parts of a range outside RAM.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// Writes `size` bytes of guest-physical memory from `addr` (wrapping at 2^64, as QEMU's
/// address arithmetic does) to `file`.
pub fn write_phys_range(mem: &GuestRam, addr: u64, size: u64, file: &mut File) -> io::Result<()> {
    let mut done = 0u64;
    while done < size {
        let pa = addr.wrapping_add(done);
        let left = size - done;
        let n = match mem.find_region(GuestAddress(pa)) {
            Some(region) => {
                let offset = pa - region.start_addr().0;
                let n = left.min(region.len() - offset);
                let slice = region
                    .get_slice(MemoryRegionAddress(offset), n as usize)
                    .map_err(io::Error::other)?;
                let guard = slice.ptr_guard();
                // SAFETY: `guard` points at `n` mapped bytes of guest RAM, alive while `mem` is.
                unsafe { write_raw(file, guard.as_ptr(), n as usize)? };
                n
            }
            None => {
                // Up to the next region, or to the end of the range.
                let gap = mem
                    .iter()
                    .map(|r| r.start_addr().0.wrapping_sub(pa))
                    .filter(|&d| d > 0)
                    .min()
                    .unwrap_or(u64::MAX);
                let n = left.min(gap);
                write_zeros(file, n)?;
                n
            }
        };
        done += n;
    }
    Ok(())
}

fn write_zeros(file: &mut File, mut n: u64) -> io::Result<()> {
    while n > 0 {
        let step = n.min(ZEROS.len() as u64) as usize;
        file.write_all(&ZEROS[..step])?;
        n -= step as u64;
    }
    Ok(())
}

/// write(2) of `len` bytes at `ptr` until all are written. Raw, because the guest may be
/// writing the same memory meanwhile: no Rust reference to it is made.
///
/// # Safety
/// `ptr..ptr + len` must be mapped and stay mapped for the call.
unsafe fn write_raw(file: &File, mut ptr: *const u8, mut len: usize) -> io::Result<()> {
    while len > 0 {
        // SAFETY: per this function's contract.
        let r = unsafe { libc::write(file.as_raw_fd(), ptr.cast(), len) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let r = r as usize;
        // SAFETY: r <= len, so the pointer stays within the range.
        ptr = unsafe { ptr.add(r) };
        len -= r;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek};
    use vm_memory::Bytes;

    /// Two regions with a hole between them, as RAM below and above the PCI hole.
    fn ram() -> GuestRam {
        let mem =
            GuestRam::from_ranges(&[(GuestAddress(0), 0x2000), (GuestAddress(0x4000), 0x1000)])
                .expect("guest memory");
        mem.write_slice(&[0xaa; 0x2000], GuestAddress(0))
            .expect("fill");
        mem.write_slice(&[0xbb; 0x1000], GuestAddress(0x4000))
            .expect("fill");
        mem
    }

    fn saved(mem: &GuestRam, addr: u64, size: u64) -> Vec<u8> {
        let mut f = tempfile_in_tmp();
        write_phys_range(mem, addr, size, &mut f).expect("write");
        let mut out = Vec::new();
        f.rewind().expect("rewind");
        f.read_to_end(&mut out).expect("read back");
        out
    }

    fn tempfile_in_tmp() -> File {
        let path = std::env::temp_dir().join(format!(
            "guest-write-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("temp file");
        let _ = std::fs::remove_file(&path);
        f
    }

    #[test]
    fn ram_holes_and_the_end_of_memory() {
        let mem = ram();
        let out = saved(&mem, 0x1ff0, 0x3020);
        assert_eq!(out.len(), 0x3020);
        assert!(out[..0x10].iter().all(|&b| b == 0xaa));
        assert!(out[0x10..0x2010].iter().all(|&b| b == 0));
        assert!(out[0x2010..0x3010].iter().all(|&b| b == 0xbb));
        assert!(out[0x3010..].iter().all(|&b| b == 0));
        // Wrapping past 2^64 lands back in RAM at 0.
        let out = saved(&mem, u64::MAX - 1, 4);
        assert_eq!(out, [0, 0, 0xaa, 0xaa]);
        assert!(saved(&mem, 0, 0).is_empty());
    }
}

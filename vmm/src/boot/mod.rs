//! Loading a kernel the way Linux's boot protocols expect: an ELF with a PVH note enters at its
//! 32-bit PVH entry; a bzImage (or an ELF without the note) enters in 64-bit mode with a zero page.

mod linux64;
mod pvh;

use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::{Path, PathBuf};

use linux_loader::loader::{self, elf::PvhBootCapability, BzImage, Elf, KernelLoader};
use thiserror::Error;
use vm_memory::{Bytes, GuestAddress};

use crate::arch::layout::{CMDLINE_MAX_SIZE, CMDLINE_START, HIMEM_START};
use crate::arch::memory_map::{e820_map, low_ram_end};
use crate::arch::regs::BootEntry;
use crate::memory::GuestRam;

#[derive(Debug, Error)]
pub enum BootError {
    #[error("could not open kernel file '{path}': {source}", path = .0.display(), source = .1)]
    OpenKernel(PathBuf, std::io::Error),
    #[error("could not load kernel '{path}': {source}", path = .0.display(), source = .1)]
    LoadKernel(PathBuf, loader::Error),
    #[error("could not read kernel '{path}': {source}", path = .0.display(), source = .1)]
    ReadKernel(PathBuf, std::io::Error),
    #[error("the kernel supports neither PVH nor the 64-bit Linux boot protocol (boot protocol 2.12+ with XLF_KERNEL_64)")]
    Not64Bit,
    #[error("could not load initial ram disk '{path}': {source}", path = .0.display(), source = .1)]
    OpenInitrd(PathBuf, std::io::Error),
    #[error("initial ram disk '{path}' ({size} bytes) does not fit in guest memory below {limit:#x}", path = .path.display())]
    InitrdTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("kernel command line is too long ({0} bytes, at most {1})")]
    CmdlineTooLong(usize, usize),
    #[error("kernel command line contains a NUL byte")]
    CmdlineNul,
    #[error("could not write boot parameters: {0}")]
    BootParams(String),
    #[error("guest memory: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

/// What to boot.
pub struct BootSpec<'a> {
    /// The kernel file, or `None` for the built-in test guest.
    pub kernel: Option<&'a Path>,
    pub builtin_kernel: &'static [u8],
    pub initrd: Option<&'a Path>,
    pub cmdline: &'a str,
    pub ram_size: u64,
}

/// Where an initrd was put.
#[derive(Debug, Clone, Copy)]
struct InitrdPlacement {
    addr: u64,
    size: u64,
}

enum Image {
    File(File),
    Builtin(Cursor<&'static [u8]>),
}

fn is_elf<R: Read + Seek>(r: &mut R) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    r.seek(std::io::SeekFrom::Start(0))?;
    let n = r.read(&mut magic)?;
    r.seek(std::io::SeekFrom::Start(0))?;
    Ok(n == 4 && &magic == b"\x7fELF")
}

/// Loads kernel, initrd, command line and boot parameters into `mem`; returns the entry.
pub fn load(mem: &GuestRam, spec: &BootSpec) -> Result<BootEntry, BootError> {
    let display = spec
        .kernel
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("<built-in guest>"));
    let mut image = match spec.kernel {
        Some(path) => {
            Image::File(File::open(path).map_err(|e| BootError::OpenKernel(path.to_path_buf(), e))?)
        }
        None => Image::Builtin(Cursor::new(spec.builtin_kernel)),
    };
    let cmdline = spec.cmdline.as_bytes();
    if cmdline.contains(&0) {
        return Err(BootError::CmdlineNul);
    }

    let elf = match &mut image {
        Image::File(f) => is_elf(f),
        Image::Builtin(c) => is_elf(c),
    }
    .map_err(|e| BootError::ReadKernel(display.clone(), e))?;

    let himem = Some(GuestAddress(HIMEM_START));
    let result = match &mut image {
        Image::File(f) if elf => Elf::load(mem, None, f, himem),
        Image::Builtin(c) if elf => Elf::load(mem, None, c, himem),
        Image::File(f) => BzImage::load(mem, None, f, himem),
        Image::Builtin(c) => BzImage::load(mem, None, c, himem),
    }
    .map_err(|e| BootError::LoadKernel(display.clone(), e))?;

    if cmdline.len() + 1 > CMDLINE_MAX_SIZE {
        return Err(BootError::CmdlineTooLong(
            cmdline.len(),
            CMDLINE_MAX_SIZE - 1,
        ));
    }
    mem.write_slice(cmdline, GuestAddress(CMDLINE_START))?;
    mem.write_obj(0u8, GuestAddress(CMDLINE_START + cmdline.len() as u64))?;

    let e820 = e820_map(spec.ram_size);
    let initrd_limit = result
        .setup_header
        .map(|h| u64::from(h.initrd_addr_max))
        .filter(|&m| m != 0)
        .unwrap_or(0x7fff_ffff);
    let initrd = match spec.initrd {
        Some(path) => Some(load_initrd(
            mem,
            path,
            low_ram_end(spec.ram_size).min(initrd_limit + 1),
            result.kernel_end,
        )?),
        None => None,
    };

    match (result.pvh_boot_cap, result.setup_header) {
        (PvhBootCapability::PvhEntryPresent(entry), _) => {
            pvh::write_start_info(mem, &e820, cmdline.len(), initrd)?;
            Ok(BootEntry::Pvh {
                rip: entry.0,
                start_info: crate::arch::layout::PVH_INFO_START,
            })
        }
        (_, Some(header)) => {
            // bzImage: the 64-bit entry is 0x200 past the protected-mode code, only if the
            // header says the kernel has one.
            const XLF_KERNEL_64: u16 = 1;
            if header.version < 0x20c || header.xloadflags & XLF_KERNEL_64 == 0 {
                return Err(BootError::Not64Bit);
            }
            if cmdline.len() > header.cmdline_size as usize && header.cmdline_size != 0 {
                return Err(BootError::CmdlineTooLong(
                    cmdline.len(),
                    header.cmdline_size as usize,
                ));
            }
            linux64::write_zero_page(mem, Some(header), &e820, cmdline.len(), initrd)?;
            Ok(BootEntry::Linux64 {
                rip: result.kernel_load.0 + 0x200,
                boot_params: crate::arch::layout::ZERO_PAGE_START,
            })
        }
        (_, None) => {
            // An ELF vmlinux without a PVH note: its entry is startup_64.
            linux64::write_zero_page(mem, None, &e820, cmdline.len(), initrd)?;
            Ok(BootEntry::Linux64 {
                rip: result.kernel_load.0,
                boot_params: crate::arch::layout::ZERO_PAGE_START,
            })
        }
    }
}

/// Places the initrd page-aligned at the top of RAM below `limit`, above the kernel.
fn load_initrd(
    mem: &GuestRam,
    path: &Path,
    limit: u64,
    kernel_end: u64,
) -> Result<InitrdPlacement, BootError> {
    let mut file = File::open(path).map_err(|e| BootError::OpenInitrd(path.to_path_buf(), e))?;
    let size = file
        .metadata()
        .map_err(|e| BootError::OpenInitrd(path.to_path_buf(), e))?
        .len();
    let too_large = || BootError::InitrdTooLarge {
        path: path.to_path_buf(),
        size,
        limit,
    };
    let addr = limit.checked_sub(size).ok_or_else(too_large)? & !0xfff;
    if addr < kernel_end.max(HIMEM_START) {
        return Err(too_large());
    }
    let len = usize::try_from(size).map_err(|_| too_large())?;
    mem.read_exact_volatile_from(GuestAddress(addr), &mut file, len)
        .map_err(|e| {
            BootError::OpenInitrd(path.to_path_buf(), std::io::Error::other(e.to_string()))
        })?;
    Ok(InitrdPlacement { addr, size })
}

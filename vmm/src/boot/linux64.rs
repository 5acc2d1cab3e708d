//! The zero page (`boot_params`) of the Linux 64-bit boot protocol.

use linux_loader::configurator::linux::LinuxBootConfigurator;
use linux_loader::configurator::{BootConfigurator, BootParams};
use linux_loader::loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use vm_memory::GuestAddress;

use super::{BootError, InitrdPlacement};
use crate::arch::acpi::RSDP_ADDR;
use crate::arch::layout::{CMDLINE_START, ZERO_PAGE_START};
use crate::arch::memory_map::E820Entry;
use crate::memory::GuestRam;

const KERNEL_BOOT_FLAG_MAGIC: u16 = 0xaa55;
const KERNEL_HDR_MAGIC: u32 = 0x5372_6448; // "HdrS"
/// "Undefined" boot loader id: non-zero, or Linux ignores the initrd (Cloud Hypervisor #918).
const KERNEL_LOADER_OTHER: u8 = 0xff;
const KERNEL_MIN_ALIGNMENT_BYTES: u32 = 0x0100_0000;
const E820_MAX_ENTRIES_ZEROPAGE: usize = 128;

pub(super) fn write_zero_page(
    mem: &GuestRam,
    header: Option<setup_header>,
    e820: &[E820Entry],
    cmdline_len: usize,
    initrd: Option<InitrdPlacement>,
) -> Result<(), BootError> {
    let mut params = boot_params::default();
    if let Some(h) = header {
        params.hdr = h;
    } else {
        params.hdr.boot_flag = KERNEL_BOOT_FLAG_MAGIC;
        params.hdr.header = KERNEL_HDR_MAGIC;
        params.hdr.kernel_alignment = KERNEL_MIN_ALIGNMENT_BYTES;
    }
    params.hdr.type_of_loader = KERNEL_LOADER_OTHER;
    params.hdr.cmd_line_ptr = CMDLINE_START as u32;
    params.hdr.cmdline_size = cmdline_len as u32;
    if let Some(rd) = initrd {
        params.hdr.ramdisk_image = rd.addr as u32;
        params.hdr.ramdisk_size = rd.size as u32;
    }
    params.acpi_rsdp_addr = RSDP_ADDR;
    for (slot, entry) in params
        .e820_table
        .iter_mut()
        .zip(e820.iter().take(E820_MAX_ENTRIES_ZEROPAGE))
    {
        *slot = boot_e820_entry {
            addr: entry.addr,
            size: entry.size,
            r#type: entry.kind as u32,
        };
    }
    params.e820_entries = e820.len().min(E820_MAX_ENTRIES_ZEROPAGE) as u8;
    LinuxBootConfigurator::write_bootparams(
        &BootParams::new(&params, GuestAddress(ZERO_PAGE_START)),
        mem,
    )
    .map_err(|e| BootError::BootParams(e.to_string()))
}

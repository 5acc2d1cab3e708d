//! The PVH `hvm_start_info`, its memory map and module list.

use linux_loader::configurator::pvh::PvhBootConfigurator;
use linux_loader::configurator::{BootConfigurator, BootParams};
use linux_loader::loader::elf::start_info::{
    hvm_memmap_table_entry, hvm_modlist_entry, hvm_start_info,
};
use vm_memory::GuestAddress;

use super::{BootError, InitrdPlacement};
use crate::arch::acpi::RSDP_ADDR;
use crate::arch::layout::{CMDLINE_START, PVH_INFO_START};
use crate::arch::memory_map::E820Entry;
use crate::memory::GuestRam;

const XEN_HVM_START_MAGIC_VALUE: u32 = 0x336e_c578;
/// Version 1 adds the memory map fields.
const START_INFO_VERSION: u32 = 1;

pub(super) fn write_start_info(
    mem: &GuestRam,
    e820: &[E820Entry],
    cmdline_len: usize,
    initrd: Option<InitrdPlacement>,
) -> Result<(), BootError> {
    let info_size = std::mem::size_of::<hvm_start_info>() as u64;
    let memmap_addr = PVH_INFO_START + info_size;
    let memmap: Vec<hvm_memmap_table_entry> = e820
        .iter()
        .map(|e| hvm_memmap_table_entry {
            addr: e.addr,
            size: e.size,
            type_: e.kind as u32,
            reserved: 0,
        })
        .collect();
    let modlist_addr =
        memmap_addr + (memmap.len() * std::mem::size_of::<hvm_memmap_table_entry>()) as u64;
    let start_info = hvm_start_info {
        magic: XEN_HVM_START_MAGIC_VALUE,
        version: START_INFO_VERSION,
        cmdline_paddr: if cmdline_len > 0 { CMDLINE_START } else { 0 },
        rsdp_paddr: RSDP_ADDR,
        memmap_paddr: memmap_addr,
        memmap_entries: memmap.len() as u32,
        nr_modules: u32::from(initrd.is_some()),
        modlist_paddr: if initrd.is_some() { modlist_addr } else { 0 },
        ..Default::default()
    };
    let mut params = BootParams::new(&start_info, GuestAddress(PVH_INFO_START));
    params.set_sections(&memmap, GuestAddress(memmap_addr));
    if let Some(rd) = initrd {
        let module = hvm_modlist_entry {
            paddr: rd.addr,
            size: rd.size,
            ..Default::default()
        };
        params.set_modules(&[module], GuestAddress(modlist_addr));
    }
    PvhBootConfigurator::write_bootparams(&params, mem)
        .map_err(|e| BootError::BootParams(e.to_string()))
}

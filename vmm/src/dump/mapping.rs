//! The guest memory mappings a dump describes, one PT_LOAD each, built as QEMU builds its
//! `MemoryMappingList`: without paging, one per RAM block; with `paging`, from the page tables
//! of every vCPU from the first one with paging on (QEMU's `x86_cpu_get_memory_mapping`,
//! quirks included: in 4-level long mode every virtual address has bits 63..48 set), merged
//! and sorted by physical address as `memory_mapping_list_add_merge_sorted` does.

use kvm_bindings::kvm_sregs;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend};

use crate::guest_access::{
    ADDR_MASK, CR0_PG, CR4_LA57, CR4_PAE, CR4_PSE, EFER_LMA, PAGE_SIZE_BIT as PSE, PRESENT,
};
use crate::memory::GuestRam;

/// One mapping: `length` bytes at guest-physical `phys` seen at guest-virtual `virt` (0 for
/// none, which the ELF header shows as the physical address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub phys: u64,
    pub virt: u64,
    pub length: u64,
}

/// QEMU's `MemoryMappingList`: sorted by physical address, with the last-touched entry
/// remembered for the common contiguous case.
#[derive(Debug, Default)]
pub struct MappingList {
    pub list: Vec<Mapping>,
    last: Option<usize>,
}

impl MappingList {
    fn create(&mut self, phys: u64, virt: u64, length: u64) {
        let at = self
            .list
            .iter()
            .position(|m| m.phys >= phys)
            .unwrap_or(self.list.len());
        self.list.insert(at, Mapping { phys, virt, length });
        self.last = Some(at);
    }

    /// `memory_mapping_list_add_merge_sorted`.
    fn add_merge_sorted(&mut self, phys: u64, virt: u64, length: u64) {
        let contiguous = |m: &Mapping| {
            phys == m.phys.wrapping_add(m.length) && virt == m.virt.wrapping_add(m.length)
        };
        if let Some(i) = self.last {
            if contiguous(&self.list[i]) {
                self.list[i].length += length;
                return;
            }
        }
        for i in 0..self.list.len() {
            let m = self.list[i];
            if contiguous(&m) {
                self.list[i].length += length;
                self.last = Some(i);
                return;
            }
            if phys.wrapping_add(length) < m.phys {
                break;
            }
            let overlaps =
                !(phys.wrapping_add(length) < m.phys || phys >= m.phys.wrapping_add(m.length));
            if overlaps {
                if virt.wrapping_sub(m.virt) != phys.wrapping_sub(m.phys) {
                    continue; // The same physical range at another virtual address.
                }
                let m = &mut self.list[i];
                if virt < m.virt {
                    m.length += m.virt - virt;
                    m.virt = virt;
                }
                if virt.wrapping_add(length) > m.virt.wrapping_add(m.length) {
                    m.length = virt.wrapping_add(length).wrapping_sub(m.virt);
                }
                self.last = Some(i);
                return;
            }
        }
        self.create(phys, virt, length);
    }

    /// `memory_mapping_filter`: only what overlaps [begin, begin + length), clipped.
    pub fn filter(&mut self, begin: u64, length: u64) {
        let end = begin.saturating_add(length);
        self.list
            .retain(|m| m.phys < end && begin < m.phys.saturating_add(m.length));
        for m in &mut self.list {
            if m.phys < begin {
                m.length -= begin - m.phys;
                if m.virt != 0 {
                    m.virt += begin - m.phys;
                }
                m.phys = begin;
            }
            if m.phys + m.length > end {
                m.length = end - m.phys;
            }
        }
        self.last = None;
    }
}

/// One mapping per RAM block, without virtual addresses (`paging: false`).
pub fn simple(blocks: &[(u64, u64)]) -> MappingList {
    let mut l = MappingList::default();
    for &(start, len) in blocks {
        l.create(start, 0, len);
    }
    l
}

const NX: u64 = 1 << 63;

/// `paging: true`: the page tables of every vCPU from the first with paging on, or the RAM
/// blocks mapped one to one if none has it on.
pub fn from_page_tables(mem: &GuestRam, cpus: &[&kvm_sregs], blocks: &[(u64, u64)]) -> MappingList {
    let mut walker = Walker {
        mem,
        list: MappingList::default(),
    };
    match cpus.iter().position(|s| s.cr0 & CR0_PG != 0) {
        Some(first) => {
            for s in &cpus[first..] {
                walker.cpu(s);
            }
        }
        None => {
            for &(start, len) in blocks {
                walker.list.create(start, start, len);
            }
        }
    }
    walker.list
}

struct Walker<'a> {
    mem: &'a GuestRam,
    list: MappingList,
}

impl Walker<'_> {
    /// A table entry; what is not RAM reads as 0 (not present).
    fn ldq(&self, addr: u64) -> u64 {
        self.mem.read_obj::<u64>(GuestAddress(addr)).unwrap_or(0)
    }

    fn ldl(&self, addr: u64) -> u64 {
        self.mem
            .read_obj::<u32>(GuestAddress(addr))
            .map(u64::from)
            .unwrap_or(0)
    }

    /// QEMU's `address_space_is_io`: what is not RAM gets no mapping.
    fn is_io(&self, addr: u64) -> bool {
        !self.mem.address_in_range(GuestAddress(addr))
    }

    fn add(&mut self, phys: u64, virt: u64, length: u64) {
        if !self.is_io(phys) {
            self.list.add_merge_sorted(phys, virt, length);
        }
    }

    fn cpu(&mut self, s: &kvm_sregs) {
        if s.cr0 & CR0_PG == 0 {
            return;
        }
        if s.cr4 & CR4_PAE != 0 {
            if s.efer & EFER_LMA != 0 {
                let top = s.cr3 & ADDR_MASK;
                if s.cr4 & CR4_LA57 != 0 {
                    self.pml5e(top);
                } else {
                    self.pml4e(top, 0xffff << 48);
                }
            } else {
                self.pdpe2(s.cr3 & !0x1f);
            }
        } else {
            self.pde2(s.cr3 & !0xfff, s.cr4 & CR4_PSE != 0);
        }
    }

    fn pte(&mut self, table: u64, line: u64) {
        for i in 0..512u64 {
            let e = self.ldq(table + i * 8);
            if e & PRESENT != 0 {
                self.add(e & !0xfff & !NX, line | (i << 12), 1 << 12);
            }
        }
    }

    fn pte2(&mut self, table: u64, line: u64) {
        for i in 0..1024u64 {
            let e = self.ldl(table + i * 4);
            if e & PRESENT != 0 {
                self.add(e & !0xfff, line | (i << 12), 1 << 12);
            }
        }
    }

    fn pde(&mut self, table: u64, line: u64) {
        for i in 0..512u64 {
            let e = self.ldq(table + i * 8);
            if e & PRESENT == 0 {
                continue;
            }
            let line = line | (i << 21);
            if e & PSE != 0 {
                self.add(e & !0x1f_ffff & !NX, line, 1 << 21);
            } else {
                self.pte(e & ADDR_MASK, line);
            }
        }
    }

    fn pde2(&mut self, table: u64, pse: bool) {
        for i in 0..1024u64 {
            let e = self.ldl(table + i * 4);
            if e & PRESENT == 0 {
                continue;
            }
            let line = i << 22;
            if e & PSE != 0 && pse {
                // 4 MiB page: physical bits 39..32 from PDE bits 20..13.
                let high = (e & 0x1f_e000) << 19;
                self.add((e & !0x3f_ffff) | high, line, 1 << 22);
            } else {
                self.pte2(e & !0xfff, line);
            }
        }
    }

    fn pdpe2(&mut self, table: u64) {
        for i in 0..4u64 {
            let e = self.ldq(table + i * 8);
            if e & PRESENT != 0 {
                self.pde(e & !0xfff, i << 30);
            }
        }
    }

    fn pdpe(&mut self, table: u64, line: u64) {
        for i in 0..512u64 {
            let e = self.ldq(table + i * 8);
            if e & PRESENT == 0 {
                continue;
            }
            let line = line | (i << 30);
            if e & PSE != 0 {
                self.add(e & !0x3fff_ffff & !NX, line, 1 << 30);
            } else {
                self.pde(e & ADDR_MASK, line);
            }
        }
    }

    fn pml4e(&mut self, table: u64, line: u64) {
        for i in 0..512u64 {
            let e = self.ldq(table + i * 8);
            if e & PRESENT != 0 {
                self.pdpe(e & ADDR_MASK, line | (i << 39));
            }
        }
    }

    fn pml5e(&mut self, table: u64) {
        for i in 0..512u64 {
            let e = self.ldq(table + i * 8);
            if e & PRESENT != 0 {
                self.pml4e(e & ADDR_MASK, (0x7f << 57) | (i << 48));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_contiguous_and_keeps_physical_order() {
        let mut l = MappingList::default();
        l.add_merge_sorted(0x2000, 0x1000, 0x1000);
        l.add_merge_sorted(0x3000, 0x2000, 0x1000); // contiguous with the last
        l.add_merge_sorted(0x1000, 0x9000, 0x1000); // before, not contiguous
        l.add_merge_sorted(0x2000, 0x5000, 0x1000); // same physical, another virtual
        assert_eq!(
            l.list,
            [
                Mapping {
                    phys: 0x1000,
                    virt: 0x9000,
                    length: 0x1000
                },
                Mapping {
                    phys: 0x2000,
                    virt: 0x5000,
                    length: 0x1000
                },
                Mapping {
                    phys: 0x2000,
                    virt: 0x1000,
                    length: 0x2000
                },
            ]
        );
    }

    #[test]
    fn long_mode_walk_sets_the_high_bits_and_skips_non_ram() {
        let mem = GuestRam::from_ranges(&[(GuestAddress(0), 16 << 20)]).unwrap();
        let (pml4, pdpt, pd) = (0x1000u64, 0x2000u64, 0x3000u64);
        mem.write_obj(pdpt | 3, GuestAddress(pml4)).unwrap();
        mem.write_obj(pd | 3, GuestAddress(pdpt)).unwrap();
        mem.write_obj(0x83u64, GuestAddress(pd)).unwrap(); // 0..2M → 0
        mem.write_obj(0x20_0083u64, GuestAddress(pd + 8)).unwrap(); // 2M..4M → 2M
        mem.write_obj(0x8000_0083u64, GuestAddress(pd + 16))
            .unwrap(); // outside RAM
        let s = kvm_sregs {
            cr0: CR0_PG | 1,
            cr3: pml4,
            cr4: CR4_PAE,
            efer: EFER_LMA,
            ..Default::default()
        };
        let l = from_page_tables(&mem, &[&s], &[(0, 16 << 20)]);
        assert_eq!(
            l.list,
            [Mapping {
                phys: 0,
                virt: 0xffff_0000_0000_0000,
                length: 4 << 20
            }]
        );
        let none = kvm_sregs::default();
        let l = from_page_tables(&mem, &[&none], &[(0, 16 << 20)]);
        assert_eq!(l.list[0].virt, 0, "no paging: one to one");
        assert_eq!(l.list[0].length, 16 << 20);
    }

    #[test]
    fn filter_clips_to_the_range() {
        let mut l = simple(&[(0, 0xa0000), (0x100000, 0x700000)]);
        l.filter(0x90000, 0x80000);
        assert_eq!(
            l.list,
            [
                Mapping {
                    phys: 0x90000,
                    virt: 0,
                    length: 0x10000
                },
                Mapping {
                    phys: 0x100000,
                    virt: 0,
                    length: 0x10000
                },
            ]
        );
    }
}

//! Guest memory by physical address, and guest-virtual → guest-physical translation by walking
//! the guest's own page tables (4- and 5-level long mode, PAE, and 32-bit paging).

use kvm_bindings::kvm_sregs;
use thiserror::Error;
use vm_memory::{Bytes, GuestAddress};

use crate::memory::GuestRam;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TranslateError {
    /// No present mapping for the address.
    #[error("Unmapped")]
    Unmapped,
    /// A paging structure lies outside RAM.
    #[error("page table at {0:#x} is not in guest RAM")]
    TableOutsideRam(u64),
}

pub(crate) const CR0_PG: u64 = 1 << 31;
pub(crate) const CR4_PSE: u64 = 1 << 4;
pub(crate) const CR4_PAE: u64 = 1 << 5;
pub(crate) const CR4_LA57: u64 = 1 << 12;
pub(crate) const EFER_LMA: u64 = 1 << 10;
pub(crate) const PRESENT: u64 = 1;
pub(crate) const PAGE_SIZE_BIT: u64 = 1 << 7;
pub(crate) const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

fn read_entry(mem: &GuestRam, addr: u64) -> Result<u64, TranslateError> {
    mem.read_obj::<u64>(GuestAddress(addr))
        .map_err(|_| TranslateError::TableOutsideRam(addr))
}

fn read_entry32(mem: &GuestRam, addr: u64) -> Result<u64, TranslateError> {
    mem.read_obj::<u32>(GuestAddress(addr))
        .map(u64::from)
        .map_err(|_| TranslateError::TableOutsideRam(addr))
}

/// Walks 64-bit-entry tables from `table` over `levels` levels (the lowest has 4 KiB pages);
/// levels where `large_ok` allow the PS bit to end the walk early.
fn walk64(
    mem: &GuestRam,
    mut table: u64,
    gva: u64,
    levels: u32,
    index_bits: &dyn Fn(u32) -> (u32, u64),
) -> Result<u64, TranslateError> {
    for level in (1..=levels).rev() {
        let (shift, mask) = index_bits(level);
        let index = (gva >> shift) & mask;
        let entry = read_entry(mem, table + index * 8)?;
        if entry & PRESENT == 0 {
            return Err(TranslateError::Unmapped);
        }
        // PS ends the walk at the 1 GiB (level 3) and 2 MiB (level 2) levels.
        if (level == 2 || level == 3) && entry & PAGE_SIZE_BIT != 0 {
            let page_mask = (1u64 << shift) - 1;
            return Ok((entry & ADDR_MASK & !page_mask) | (gva & page_mask));
        }
        table = entry & ADDR_MASK;
    }
    Ok(table | (gva & 0xfff))
}

/// Translates `gva` using the paging mode described by `sregs`.
pub fn translate(mem: &GuestRam, sregs: &kvm_sregs, gva: u64) -> Result<u64, TranslateError> {
    if sregs.cr0 & CR0_PG == 0 {
        return Ok(if sregs.efer & EFER_LMA != 0 {
            gva
        } else {
            gva & 0xffff_ffff
        });
    }
    if sregs.efer & EFER_LMA != 0 {
        let levels = if sregs.cr4 & CR4_LA57 != 0 { 5 } else { 4 };
        // Non-canonical addresses have no translation.
        let va_bits = 12 + 9 * levels;
        let high = (gva as i64) >> (va_bits - 1);
        if high != 0 && high != -1 {
            return Err(TranslateError::Unmapped);
        }
        let idx = |level: u32| (12 + 9 * (level - 1), 0x1ff);
        return walk64(mem, sregs.cr3 & ADDR_MASK, gva, levels, &idx);
    }
    let gva = gva & 0xffff_ffff;
    if sregs.cr4 & CR4_PAE != 0 {
        // PAE: a 4-entry PDPT, then 64-bit-entry directory and table.
        let pdpte = read_entry(mem, (sregs.cr3 & 0xffff_ffe0) + ((gva >> 30) & 3) * 8)?;
        if pdpte & PRESENT == 0 {
            return Err(TranslateError::Unmapped);
        }
        let idx = |level: u32| (12 + 9 * (level - 1), 0x1ff);
        return walk64(mem, pdpte & ADDR_MASK, gva, 2, &idx);
    }
    // 32-bit paging.
    let pde = read_entry32(mem, (sregs.cr3 & 0xffff_f000) + (gva >> 22) * 4)?;
    if pde & PRESENT == 0 {
        return Err(TranslateError::Unmapped);
    }
    if sregs.cr4 & CR4_PSE != 0 && pde & PAGE_SIZE_BIT != 0 {
        // 4 MiB page; PSE-36 supplies physical bits 32..39 from PDE bits 13..20.
        let high = ((pde >> 13) & 0xff) << 32;
        return Ok(high | (pde & 0xffc0_0000) | (gva & 0x3f_ffff));
    }
    let pte = read_entry32(mem, (pde & 0xffff_f000) + ((gva >> 12) & 0x3ff) * 4)?;
    if pte & PRESENT == 0 {
        return Err(TranslateError::Unmapped);
    }
    Ok((pte & 0xffff_f000) | (gva & 0xfff))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram() -> GuestRam {
        GuestRam::from_ranges(&[(GuestAddress(0), 16 << 20)]).unwrap()
    }

    fn long_mode_sregs(cr3: u64) -> kvm_sregs {
        kvm_sregs {
            cr0: CR0_PG | 1,
            cr3,
            cr4: CR4_PAE,
            efer: EFER_LMA | (1 << 8),
            ..Default::default()
        }
    }

    #[test]
    fn four_level_4k_2m_and_1g() {
        let mem = ram();
        let (pml4, pdpt, pd, pt) = (0x1000u64, 0x2000u64, 0x3000u64, 0x4000u64);
        mem.write_obj(pdpt | 3, GuestAddress(pml4)).unwrap();
        mem.write_obj(pd | 3, GuestAddress(pdpt)).unwrap(); // 0..1G via PD
        mem.write_obj((1u64 << 30) | 0x83, GuestAddress(pdpt + 8))
            .unwrap(); // 1G page at 1G
        mem.write_obj(pt | 3, GuestAddress(pd)).unwrap(); // 0..2M via PT
        mem.write_obj(0x0060_0000u64 | 0x83, GuestAddress(pd + 8))
            .unwrap(); // 2M..4M → 6M
        mem.write_obj(0x0050_0000u64 | 3, GuestAddress(pt + 5 * 8))
            .unwrap(); // 0x5000 → 5M
        let s = long_mode_sregs(pml4);
        assert_eq!(translate(&mem, &s, 0x5123), Ok(0x50_0123));
        assert_eq!(translate(&mem, &s, 0x20_1234), Ok(0x60_1234));
        assert_eq!(translate(&mem, &s, 0x4000_0042), Ok(0x4000_0042));
        assert_eq!(translate(&mem, &s, 0x6000), Err(TranslateError::Unmapped));
        assert_eq!(
            translate(&mem, &s, 0x8000_0000_0000),
            Err(TranslateError::Unmapped),
            "non-canonical"
        );
    }

    #[test]
    fn table_outside_ram_is_reported() {
        let mem = ram();
        mem.write_obj(0x7000_0000u64 | 3, GuestAddress(0x1000))
            .unwrap();
        let s = long_mode_sregs(0x1000);
        assert_eq!(
            translate(&mem, &s, 0x1000),
            Err(TranslateError::TableOutsideRam(0x7000_0000))
        );
    }

    #[test]
    fn paging_off_and_32bit() {
        let mem = ram();
        let s = kvm_sregs::default();
        assert_eq!(translate(&mem, &s, 0x1_2345_6789), Ok(0x2345_6789));
        mem.write_obj(0x2000u32 | 3, GuestAddress(0x1000 + 4))
            .unwrap(); // 4M..8M → PT at 0x2000
        mem.write_obj(0x0070_0000u32 | 3, GuestAddress(0x2000 + 3 * 4))
            .unwrap();
        mem.write_obj(0x0080_0000u32 | 0x83, GuestAddress(0x1000 + 8))
            .unwrap(); // 8M 4M-page
        let s = kvm_sregs {
            cr0: CR0_PG | 1,
            cr3: 0x1000,
            cr4: CR4_PSE,
            ..Default::default()
        };
        assert_eq!(translate(&mem, &s, 0x40_3abc), Ok(0x70_0abc));
        assert_eq!(translate(&mem, &s, 0x80_1234), Ok(0x80_1234));
        assert_eq!(
            translate(&mem, &s, 0xc0_0000),
            Err(TranslateError::Unmapped)
        );
    }
}

//! The page tables, complete at link time (assembler `.rept` loops): the loader
//! places them with the image, so the guest spends no instructions building them.
//!
//! - identity map of 0..4 GiB with 2 MiB pages; 0x200000-0xbfffffff (the user
//!   region, src/user.rs, the driver area and the page pool the CPL3 helpers
//!   fill and scan) is user-accessible, 0-2 MiB (the image) is not, 3-4 GiB
//!   (MMIO) is uncached and kernel-only;
//! - from `MMIO_WINDOW_GVA`: 2 MiB uncached pages set at run time, for device
//!   registers above 4 GiB (`map_mmio`);
//! - 0x0000_4000_0000_1000 → 0x301000 (a 4 KiB page);
//! - 0x0000_4000_0020_0000 → 0x200000 (a 2 MiB page);
//! - 0xffff_8000_0020_0000.. → 0x200000..0x3fffff (4 KiB pages), covering the
//!   alias 0xffff_8000_0030_0000 → 0x300000;
//! - everything else (e.g. 0x0000_5000_0000_0000) not present.
//!
//! Entry bits: P=1, RW=2, US=4, PWT=8, PCD=0x10, PS=0x80.

use crate::abi::{IDENTITY_MAP_END, MMIO_WINDOW_GVA};
use core::arch::global_asm;
use core::sync::atomic::{AtomicUsize, Ordering};

global_asm!(
    r#"
    .section .pagetables, "aw"
    .balign 4096
    .global guest_pml4
guest_pml4:
    .quad guest_pdpt_identity + 0x7                 # [0]     0x0000_0000_0000_0000
    .quad guest_pdpt_mmio + 0x3                     # [1]     0x0000_0080_0000_0000
    .fill 0x80 - 2, 8, 0
    .quad guest_pdpt_alias + 0x3                    # [0x80]  0x0000_4000_0000_0000
    .fill 0x100 - 0x80 - 1, 8, 0
    .quad guest_pdpt_high + 0x3                     # [0x100] 0xffff_8000_0000_0000
    .fill 512 - 0x100 - 1, 8, 0

guest_pdpt_identity:
    .quad guest_pd_identity + 0x0000 + 0x7
    .quad guest_pd_identity + 0x1000 + 0x7
    .quad guest_pd_identity + 0x2000 + 0x7
    .quad guest_pd_identity + 0x3000 + 0x3
    .fill 512 - 4, 8, 0

    # 2048 2 MiB pages for 0..4 GiB.
guest_pd_identity:
    .set guest_page, 0
    .rept 2048
    .if guest_page == 0
    .quad (guest_page << 21) + 0x83                 # the image: kernel only
    .elseif guest_page < 1536
    .quad (guest_page << 21) + 0x87                 # user region, driver area, pool
    .else
    .quad (guest_page << 21) + 0x9b                 # 3-4 GiB: MMIO, uncached
    .endif
    .set guest_page, guest_page + 1
    .endr

guest_pdpt_alias:
    .quad guest_pd_alias + 0x3
    .fill 511, 8, 0
guest_pd_alias:
    .quad guest_pt_alias + 0x3                      # 0x0000_4000_0000_0000: 4 KiB pages
    .quad 0x200000 + 0x83                           # 0x0000_4000_0020_0000: 2 MiB page
    .fill 510, 8, 0
guest_pt_alias:
    .quad 0
    .quad 0x301000 + 0x3                            # 0x0000_4000_0000_1000
    .fill 510, 8, 0

guest_pdpt_high:
    .quad guest_pd_high + 0x3
    .fill 511, 8, 0
guest_pd_high:
    .quad 0
    .quad guest_pt_high + 0x3                       # 0xffff_8000_0020_0000
    .fill 510, 8, 0
guest_pt_high:
    .set guest_page, 0
    .rept 512
    .quad 0x200000 + (guest_page << 12) + 0x3
    .set guest_page, guest_page + 1
    .endr

guest_pdpt_mmio:
    .quad guest_pd_mmio + 0x3                       # 0x0000_0080_0000_0000: 1 GiB
    .fill 511, 8, 0
    .global guest_pd_mmio
guest_pd_mmio:                                      # slots filled by map_mmio
    .fill 512, 8, 0
    "#,
    options(att_syntax)
);

/// 2 MiB pages of the MMIO window handed out so far (BSP only, at boot).
static MMIO_SLOTS: AtomicUsize = AtomicUsize::new(0);

/// A virtual address for the `len` bytes of device registers at `phys`: the
/// identity map below 4 GiB, else 2 MiB uncached pages of the MMIO window. None
/// if the window is full.
pub fn map_mmio(phys: u64, len: u64) -> Option<u64> {
    let end = phys.checked_add(len.max(1))?;
    if end <= IDENTITY_MAP_END {
        return Some(phys);
    }
    extern "C" {
        static mut guest_pd_mmio: [u64; 512];
    }
    const PAGE: u64 = 1 << 21;
    let first = phys & !(PAGE - 1);
    let pages = (end - first).div_ceil(PAGE) as usize;
    // SAFETY: the BSP alone writes the window's PD, at boot.
    let pd = unsafe { &mut *core::ptr::addr_of_mut!(guest_pd_mmio) };
    // Reuse a run of slots that already maps these pages.
    let used = MMIO_SLOTS.load(Ordering::Relaxed);
    let entry = |i: usize| (first + i as u64 * PAGE) | 0x9b; // P, RW, PWT, PCD, PS
    let slot = (0..used.saturating_sub(pages - 1))
        .find(|&s| (0..pages).all(|i| pd[s + i] == entry(i)))
        .or_else(|| {
            if used + pages > pd.len() {
                return None;
            }
            for i in 0..pages {
                pd[used + i] = entry(i);
                crate::x86::invlpg(MMIO_WINDOW_GVA + ((used + i) as u64) * PAGE);
            }
            MMIO_SLOTS.store(used + pages, Ordering::Relaxed);
            Some(used)
        })?;
    Some(MMIO_WINDOW_GVA + slot as u64 * PAGE + (phys - first))
}

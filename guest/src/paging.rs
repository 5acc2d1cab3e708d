//! The page tables, complete at link time (assembler `.rept` loops): the loader
//! places them with the image, so the guest spends no instructions building them.
//!
//! - identity map of 0..4 GiB with 2 MiB pages; 0x200000-0x3fffff (the user
//!   region, src/user.rs) is user-accessible, 3-4 GiB (MMIO) is uncached;
//! - 0x0000_4000_0000_1000 → 0x301000 (a 4 KiB page);
//! - 0x0000_4000_0020_0000 → 0x200000 (a 2 MiB page);
//! - 0xffff_8000_0020_0000.. → 0x200000..0x3fffff (4 KiB pages), covering the
//!   alias 0xffff_8000_0030_0000 → 0x300000;
//! - everything else (e.g. 0x0000_5000_0000_0000) not present.
//!
//! Entry bits: P=1, RW=2, US=4, PWT=8, PCD=0x10, PS=0x80.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .pagetables, "aw"
    .balign 4096
    .global guest_pml4
guest_pml4:
    .quad guest_pdpt_identity + 0x7                 # [0]     0x0000_0000_0000_0000
    .fill 0x80 - 1, 8, 0
    .quad guest_pdpt_alias + 0x3                    # [0x80]  0x0000_4000_0000_0000
    .fill 0x100 - 0x80 - 1, 8, 0
    .quad guest_pdpt_high + 0x3                     # [0x100] 0xffff_8000_0000_0000
    .fill 512 - 0x100 - 1, 8, 0

guest_pdpt_identity:
    .quad guest_pd_identity + 0x0000 + 0x7
    .quad guest_pd_identity + 0x1000 + 0x3
    .quad guest_pd_identity + 0x2000 + 0x3
    .quad guest_pd_identity + 0x3000 + 0x3
    .fill 512 - 4, 8, 0

    # 2048 2 MiB pages for 0..4 GiB.
guest_pd_identity:
    .set guest_page, 0
    .rept 2048
    .if guest_page == 1
    .quad (guest_page << 21) + 0x87                 # user region: user-accessible
    .elseif guest_page >= 1536
    .quad (guest_page << 21) + 0x9b                 # 3-4 GiB: MMIO, uncached
    .else
    .quad (guest_page << 21) + 0x83
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
    "#,
    options(att_syntax)
);

//! Segment descriptors for the boot GDT, and their KVM segment register form.

use kvm_bindings::kvm_segment;

/// Builds a GDT entry from flags (in the `0xf0ff` layout: granularity/size/L in the top
/// nibble, access byte low), base and limit.
pub const fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    ((base as u64 & 0xff00_0000) << 32)
        | ((base as u64 & 0x00ff_ffff) << 16)
        | (limit as u64 & 0x0000_ffff)
        | ((limit as u64 & 0x000f_0000) << 32)
        | ((flags as u64 & 0x0000_f0ff) << 40)
}

/// Decodes a GDT entry into the segment register KVM expects (`table_index` → selector).
pub fn kvm_segment_from_gdt(entry: u64, table_index: u8) -> kvm_segment {
    let base = ((entry >> 16) & 0x00ff_ffff) | ((entry >> 32) & 0xff00_0000);
    let limit_raw = ((entry & 0xffff) | ((entry >> 32) & 0x000f_0000)) as u32;
    let g = ((entry >> 55) & 1) as u8;
    // With 4 KiB granularity the limit counts pages.
    let limit = if g == 1 {
        (limit_raw << 12) | 0xfff
    } else {
        limit_raw
    };
    kvm_segment {
        base,
        limit,
        selector: u16::from(table_index) * 8,
        type_: ((entry >> 40) & 0xf) as u8,
        present: ((entry >> 47) & 1) as u8,
        dpl: ((entry >> 45) & 3) as u8,
        db: ((entry >> 54) & 1) as u8,
        s: ((entry >> 44) & 1) as u8,
        l: ((entry >> 53) & 1) as u8,
        g,
        avl: ((entry >> 52) & 1) as u8,
        padding: 0,
        unusable: u8::from((entry >> 47) & 1 == 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code64() {
        let e = gdt_entry(0xa09b, 0, 0xfffff);
        let s = kvm_segment_from_gdt(e, 1);
        assert_eq!(
            (s.selector, s.l, s.db, s.g, s.type_, s.present),
            (8, 1, 0, 1, 0xb, 1)
        );
        assert_eq!(s.limit, 0xffff_ffff);
    }

    #[test]
    fn data32_with_base() {
        let e = gdt_entry(0xc093, 0x1234_5678, 0xfffff);
        let s = kvm_segment_from_gdt(e, 2);
        assert_eq!((s.base, s.db, s.s, s.type_), (0x1234_5678, 1, 1, 3));
    }
}

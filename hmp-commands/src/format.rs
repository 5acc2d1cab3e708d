//! Output formats: `x`/`xp` memory dumps, `print`, characters, pretty JSON, and the x86
//! page-table views `info tlb` and `info mem`.

use std::fmt::Write;

/// QEMU's `monitor_printc`: a quoted character with C escapes.
pub fn printc(out: &mut String, c: u8) {
    out.push('\'');
    match c {
        b'\'' => out.push_str("\\'"),
        b'\\' => out.push_str("\\\\"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        32..=126 => out.push(char::from(c)),
        _ => {
            let _ = write!(out, "\\x{c:02x}");
        }
    }
    out.push('\'');
}

/// `print /fmt value`.
pub fn print_value(format: u8, val: i64) -> String {
    let mut out = String::new();
    let u = val as u64;
    match format {
        b'o' => {
            if u == 0 {
                out.push('0');
            } else {
                let _ = write!(out, "0{u:o}");
            }
        }
        b'x' => {
            if u == 0 {
                out.push('0');
            } else {
                let _ = write!(out, "{u:#x}");
            }
        }
        b'u' => {
            let _ = write!(out, "{u}");
        }
        b'c' => printc(&mut out, u as u8),
        _ => {
            let _ = write!(out, "{val}");
        }
    }
    out.push('\n');
    out
}

/// One item of a memory dump: `%#*o`, `0x%0*x`, `%*u`, `%*d` or a character.
fn item(out: &mut String, format: u8, v: u64, max_digits: usize) {
    out.push(' ');
    match format {
        b'o' => {
            let text = if v == 0 {
                "0".to_string()
            } else {
                format!("0{v:o}")
            };
            let _ = write!(out, "{text:>max_digits$}");
        }
        b'u' => {
            let _ = write!(out, "{v:>max_digits$}");
        }
        b'd' => {
            // The value is read unsigned at its size, then printed as a signed 64-bit.
            let _ = write!(out, "{:>max_digits$}", v as i64);
        }
        b'c' => printc(out, v as u8),
        _ => {
            out.push_str("0x");
            push_hex(out, v, max_digits);
        }
    }
}

/// `{v:0width$x}` without the formatter, which pads a character at a time: dumps of many
/// items spend most of their time here otherwise.
fn push_hex(out: &mut String, v: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let needed = (64 - v.leading_zeros() as usize).div_ceil(4).max(1);
    for _ in needed..width {
        out.push('0');
    }
    for i in (0..needed).rev() {
        out.push(char::from(DIGITS[((v >> (4 * i)) & 0xf) as usize]));
    }
}

/// QEMU's `memory_dump` for every format but `i`: `count` items of `size` bytes from
/// `addr`, read a line at a time with `read` (false: that line cannot be read, which ends
/// the dump with `Cannot access memory`).
pub fn memory_dump(
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
    count: i64,
    format: u8,
    size: i64,
    mut addr: u64,
) -> String {
    let mut out = String::new();
    let mut wsize = match size {
        1 | 2 | 4 | 8 => size as usize,
        _ => 4,
    };
    let mut len = (wsize as i64).wrapping_mul(count);
    let line_size: i64 = if wsize == 1 { 8 } else { 16 };
    let max_digits = match format {
        b'o' => (wsize * 8).div_ceil(3),
        b'u' | b'd' => (wsize * 8 * 10).div_ceil(33),
        b'c' => {
            wsize = 1;
            0
        }
        _ => wsize * 8 / 4,
    };
    let mut buf = [0u8; 16];
    // Room for every line (address, items and line end), so the text grows once.
    let lines = (len.max(0) as u64).div_ceil(line_size as u64) as usize;
    let per_line = 18 + (line_size as usize / wsize.max(1)) * (max_digits + 4);
    out.reserve(lines.min(4096) * per_line);
    while len > 0 {
        push_hex(&mut out, addr, 16);
        out.push(':');
        let l = len.min(line_size) as usize;
        if !read(addr, &mut buf[..l]) {
            out.push_str(" Cannot access memory\n");
            break;
        }
        let mut i = 0;
        while i < l {
            let mut v = [0u8; 8];
            let n = wsize.min(l - i);
            v[..n].copy_from_slice(&buf[i..i + n]);
            item(&mut out, format, u64::from_le_bytes(v), max_digits);
            i += wsize;
        }
        out.push('\n');
        addr = addr.wrapping_add(l as u64);
        len -= l as i64;
    }
    out
}

const PG_PRESENT: u64 = 1 << 0;
const PG_RW: u64 = 1 << 1;
const PG_USER: u64 = 1 << 2;
const PG_PWT: u64 = 1 << 3;
const PG_PCD: u64 = 1 << 4;
const PG_ACCESSED: u64 = 1 << 5;
const PG_DIRTY: u64 = 1 << 6;
const PG_PSE: u64 = 1 << 7;
const PG_GLOBAL: u64 = 1 << 8;
const PG_NX: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x3_ffff_ffff_f000;

/// The paging registers `info tlb` and `info mem` walk.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
}

impl Paging {
    fn enabled(&self) -> bool {
        self.cr0 & (1 << 31) != 0
    }
    fn pae(&self) -> bool {
        self.cr4 & (1 << 5) != 0
    }
    fn long(&self) -> bool {
        self.efer & (1 << 10) != 0
    }
    fn la57(&self) -> bool {
        self.cr4 & (1 << 12) != 0
    }
    fn canonical(&self, addr: u64) -> u64 {
        let bits = if self.la57() { 57 } else { 48 };
        if self.long() && addr & (1 << (bits - 1)) != 0 {
            addr | !((1u64 << bits) - 1)
        } else {
            addr
        }
    }
}

fn read64(read: &mut dyn FnMut(u64, &mut [u8]) -> bool, addr: u64) -> u64 {
    let mut b = [0u8; 8];
    if !read(addr, &mut b) {
        return 0;
    }
    u64::from_le_bytes(b)
}

fn read32(read: &mut dyn FnMut(u64, &mut [u8]) -> bool, addr: u64) -> u64 {
    let mut b = [0u8; 4];
    if !read(addr, &mut b) {
        return 0;
    }
    u64::from(u32::from_le_bytes(b))
}

fn print_pte(out: &mut String, p: &Paging, addr: u64, pte: u64, mask: u64) {
    let f = |bit: u64, ch: char| if pte & bit != 0 { ch } else { '-' };
    let _ = writeln!(
        out,
        "{:016x}: {:016x} {}{}{}{}{}{}{}{}{}",
        p.canonical(addr),
        pte & mask,
        f(PG_NX, 'X'),
        f(PG_GLOBAL, 'G'),
        f(PG_PSE, 'P'),
        f(PG_DIRTY, 'D'),
        f(PG_ACCESSED, 'A'),
        f(PG_PCD, 'C'),
        f(PG_PWT, 'T'),
        f(PG_USER, 'U'),
        f(PG_RW, 'W'),
    );
}

/// `info tlb`.
pub fn info_tlb(read: &mut dyn FnMut(u64, &mut [u8]) -> bool, p: &Paging) -> String {
    let mut out = String::new();
    if !p.enabled() {
        return "PG disabled\n".into();
    }
    if p.pae() {
        if p.long() {
            if p.la57() {
                let pml5 = p.cr3 & ADDR_MASK;
                for l0 in 0..512u64 {
                    let e = read64(read, pml5 + l0 * 8);
                    if e & PG_PRESENT != 0 {
                        tlb_la48(&mut out, read, p, l0 << 48, e & ADDR_MASK);
                    }
                }
            } else {
                tlb_la48(&mut out, read, p, 0, p.cr3 & ADDR_MASK);
            }
        } else {
            let pdp_addr = p.cr3 & !0x1f;
            for l1 in 0..4u64 {
                let pdpe = read64(read, pdp_addr + l1 * 8);
                if pdpe & PG_PRESENT == 0 {
                    continue;
                }
                let pd_addr = pdpe & ADDR_MASK;
                for l2 in 0..512u64 {
                    let pde = read64(read, pd_addr + l2 * 8);
                    if pde & PG_PRESENT == 0 {
                        continue;
                    }
                    if pde & PG_PSE != 0 {
                        print_pte(
                            &mut out,
                            p,
                            (l1 << 30) + (l2 << 21),
                            pde,
                            0x3_ffff_ffe0_0000,
                        );
                    } else {
                        let pt_addr = pde & ADDR_MASK;
                        for l3 in 0..512u64 {
                            let pte = read64(read, pt_addr + l3 * 8);
                            if pte & PG_PRESENT != 0 {
                                print_pte(
                                    &mut out,
                                    p,
                                    (l1 << 30) + (l2 << 21) + (l3 << 12),
                                    pte & !PG_PSE,
                                    ADDR_MASK,
                                );
                            }
                        }
                    }
                }
            }
        }
    } else {
        let pgd = p.cr3 & !0xfff;
        for l1 in 0..1024u64 {
            let pde = read32(read, pgd + l1 * 4);
            if pde & PG_PRESENT == 0 {
                continue;
            }
            if pde & PG_PSE != 0 && p.cr4 & (1 << 4) != 0 {
                print_pte(&mut out, p, l1 << 22, pde, !((1 << 21) - 1));
            } else {
                for l2 in 0..1024u64 {
                    let pte = read32(read, (pde & !0xfff) + l2 * 4);
                    if pte & PG_PRESENT != 0 {
                        print_pte(&mut out, p, (l1 << 22) + (l2 << 12), pte & !PG_PSE, !0xfff);
                    }
                }
            }
        }
    }
    out
}

fn tlb_la48(
    out: &mut String,
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
    p: &Paging,
    l0_base: u64,
    pml4_addr: u64,
) {
    for l1 in 0..512u64 {
        let pml4e = read64(read, pml4_addr + l1 * 8);
        if pml4e & PG_PRESENT == 0 {
            continue;
        }
        let pdp_addr = pml4e & ADDR_MASK;
        for l2 in 0..512u64 {
            let pdpe = read64(read, pdp_addr + l2 * 8);
            if pdpe & PG_PRESENT == 0 {
                continue;
            }
            let base2 = l0_base + (l1 << 39) + (l2 << 30);
            if pdpe & PG_PSE != 0 {
                print_pte(out, p, base2, pdpe, 0x3_ffff_c000_0000);
                continue;
            }
            let pd_addr = pdpe & ADDR_MASK;
            for l3 in 0..512u64 {
                let pde = read64(read, pd_addr + l3 * 8);
                if pde & PG_PRESENT == 0 {
                    continue;
                }
                let base3 = base2 + (l3 << 21);
                if pde & PG_PSE != 0 {
                    print_pte(out, p, base3, pde, 0x3_ffff_ffe0_0000);
                    continue;
                }
                let pt_addr = pde & ADDR_MASK;
                for l4 in 0..512u64 {
                    let pte = read64(read, pt_addr + l4 * 8);
                    if pte & PG_PRESENT != 0 {
                        print_pte(out, p, base3 + (l4 << 12), pte & !PG_PSE, ADDR_MASK);
                    }
                }
            }
        }
    }
}

struct MemRanges<'a> {
    out: String,
    start: Option<u64>,
    last_prot: u64,
    p: &'a Paging,
}

impl MemRanges<'_> {
    fn print(&mut self, end: u64, prot: u64) {
        if prot == self.last_prot {
            return;
        }
        if let Some(start) = self.start {
            let lp = self.last_prot;
            let _ = writeln!(
                self.out,
                "{:016x}-{:016x} {:016x} {}r{}",
                self.p.canonical(start),
                self.p.canonical(end),
                self.p.canonical(end.wrapping_sub(start)),
                if lp & PG_USER != 0 { 'u' } else { '-' },
                if lp & PG_RW != 0 { 'w' } else { '-' },
            );
        }
        self.start = (prot != 0).then_some(end);
        self.last_prot = prot;
    }
}

/// `info mem`.
pub fn info_mem(read: &mut dyn FnMut(u64, &mut [u8]) -> bool, p: &Paging) -> String {
    if !p.enabled() {
        return "PG disabled\n".into();
    }
    let mask = PG_USER | PG_RW | PG_PRESENT;
    let mut m = MemRanges {
        out: String::new(),
        start: None,
        last_prot: 0,
        p,
    };
    if p.pae() && p.long() {
        let top = p.cr3 & ADDR_MASK;
        if p.la57() {
            for l0 in 0..512u64 {
                let pml5e = read64(read, top + l0 * 8);
                if pml5e & PG_PRESENT == 0 {
                    m.print(l0 << 48, 0);
                    continue;
                }
                mem_la48(&mut m, read, l0 << 48, pml5e & ADDR_MASK, pml5e & mask);
            }
            m.print(1u64 << 57, 0);
        } else {
            mem_la48(&mut m, read, 0, top, mask);
            m.print(1u64 << 48, 0);
        }
    } else if p.pae() {
        let pdp_addr = p.cr3 & !0x1f;
        for l1 in 0..4u64 {
            let pdpe = read64(read, pdp_addr + l1 * 8);
            let end1 = l1 << 30;
            if pdpe & PG_PRESENT == 0 {
                m.print(end1, 0);
                continue;
            }
            let pd_addr = pdpe & ADDR_MASK;
            for l2 in 0..512u64 {
                let pde = read64(read, pd_addr + l2 * 8);
                let end2 = end1 + (l2 << 21);
                if pde & PG_PRESENT == 0 {
                    m.print(end2, 0);
                    continue;
                }
                if pde & PG_PSE != 0 {
                    m.print(end2, pde & mask);
                    continue;
                }
                let pt_addr = pde & ADDR_MASK;
                for l3 in 0..512u64 {
                    let pte = read64(read, pt_addr + l3 * 8);
                    let prot = if pte & PG_PRESENT != 0 {
                        pte & mask & pde
                    } else {
                        0
                    };
                    m.print(end2 + (l3 << 12), prot);
                }
            }
        }
        m.print(1u64 << 32, 0);
    } else {
        let pgd = p.cr3 & !0xfff;
        for l1 in 0..1024u64 {
            let pde = read32(read, pgd + l1 * 4);
            let end1 = l1 << 22;
            if pde & PG_PRESENT == 0 {
                m.print(end1, 0);
                continue;
            }
            if pde & PG_PSE != 0 && p.cr4 & (1 << 4) != 0 {
                m.print(end1, pde & mask);
                continue;
            }
            for l2 in 0..1024u64 {
                let pte = read32(read, (pde & !0xfff) + l2 * 4);
                let prot = if pte & PG_PRESENT != 0 {
                    pte & mask & pde
                } else {
                    0
                };
                m.print(end1 + (l2 << 12), prot);
            }
        }
        m.print(1u64 << 32, 0);
    }
    m.out
}

fn mem_la48(
    m: &mut MemRanges,
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
    base: u64,
    pml4_addr: u64,
    up: u64,
) {
    let mask = PG_USER | PG_RW | PG_PRESENT;
    for l1 in 0..512u64 {
        let pml4e = read64(read, pml4_addr + l1 * 8);
        let end1 = base + (l1 << 39);
        if pml4e & PG_PRESENT == 0 {
            m.print(end1, 0);
            continue;
        }
        let pdp_addr = pml4e & ADDR_MASK;
        for l2 in 0..512u64 {
            let pdpe = read64(read, pdp_addr + l2 * 8);
            let end2 = end1 + (l2 << 30);
            if pdpe & PG_PRESENT == 0 {
                m.print(end2, 0);
                continue;
            }
            if pdpe & PG_PSE != 0 {
                m.print(end2, pdpe & mask & pml4e & up);
                continue;
            }
            let pd_addr = pdpe & ADDR_MASK;
            for l3 in 0..512u64 {
                let pde = read64(read, pd_addr + l3 * 8);
                let end3 = end2 + (l3 << 21);
                if pde & PG_PRESENT == 0 {
                    m.print(end3, 0);
                    continue;
                }
                if pde & PG_PSE != 0 {
                    m.print(end3, pde & mask & pml4e & pdpe & up);
                    continue;
                }
                let pt_addr = pde & ADDR_MASK;
                for l4 in 0..512u64 {
                    let pte = read64(read, pt_addr + l4 * 8);
                    let prot = if pte & PG_PRESENT != 0 {
                        pte & mask & pml4e & pdpe & pde & up
                    } else {
                        0
                    };
                    m.print(end3 + (l4 << 12), prot);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(base: u64, bytes: Vec<u8>) -> impl FnMut(u64, &mut [u8]) -> bool {
        move |addr: u64, buf: &mut [u8]| {
            let Some(off) = addr.checked_sub(base) else {
                return false;
            };
            let off = off as usize;
            if off + buf.len() > bytes.len() {
                return false;
            }
            buf.copy_from_slice(&bytes[off..off + buf.len()]);
            true
        }
    }

    fn pattern() -> impl FnMut(u64, &mut [u8]) -> bool {
        mem(0x300000, (0..4096u32).map(|i| i as u8).collect())
    }

    #[test]
    fn hex_layouts() {
        assert_eq!(
            memory_dump(&mut pattern(), 20, b'x', 1, 0x300000),
            "0000000000300000: 0x00 0x01 0x02 0x03 0x04 0x05 0x06 0x07\n\
             0000000000300008: 0x08 0x09 0x0a 0x0b 0x0c 0x0d 0x0e 0x0f\n\
             0000000000300010: 0x10 0x11 0x12 0x13\n"
        );
        assert_eq!(
            memory_dump(&mut pattern(), 10, b'x', 4, 0x300000),
            "0000000000300000: 0x03020100 0x07060504 0x0b0a0908 0x0f0e0d0c\n\
             0000000000300010: 0x13121110 0x17161514 0x1b1a1918 0x1f1e1d1c\n\
             0000000000300020: 0x23222120 0x27262524\n"
        );
        assert_eq!(
            memory_dump(&mut pattern(), 8, b'x', 2, 0x300000),
            "0000000000300000: 0x0100 0x0302 0x0504 0x0706 0x0908 0x0b0a 0x0d0c 0x0f0e\n"
        );
    }

    #[test]
    fn decimal_octal_and_chars() {
        assert_eq!(
            memory_dump(&mut pattern(), 8, b'd', 1, 0x300080),
            "0000000000300080: 128 129 130 131 132 133 134 135\n"
        );
        assert_eq!(
            memory_dump(&mut pattern(), 8, b'o', 1, 0x300080),
            "0000000000300080: 0200 0201 0202 0203 0204 0205 0206 0207\n"
        );
        assert_eq!(
            memory_dump(&mut pattern(), 4, b'd', 2, 0x300080),
            "0000000000300080: 33152 33666 34180 34694\n"
        );
        assert_eq!(
            memory_dump(&mut pattern(), 4, b'o', 2, 0x300080),
            "0000000000300080: 0100600 0101602 0102604 0103606\n"
        );
        // With a 4-byte sticky size, /8c shows 32 characters, 16 per line.
        let out = memory_dump(&mut pattern(), 8, b'c', 4, 0x300000);
        assert!(out.starts_with(
            "0000000000300000: '\\x00' '\\x01' '\\x02' '\\x03' '\\x04' '\\x05' '\\x06' '\\x07' '\\x08' '\\x09' '\\n'"
        ));
        assert_eq!(out.lines().count(), 2);
        let words = mem(
            0x301000,
            [
                0x0123_4567_89ab_cdefu64,
                0xfedc_ba98_7654_3210,
                0x1122_3344_5566_7788,
                0x8877_6655_4433_2211,
            ]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect(),
        );
        let mut words = words;
        assert_eq!(
            memory_dump(&mut words, 4, b'd', 8, 0x301000),
            "0000000000301000:    81985529216486895   -81985529216486896\n\
             0000000000301010:  1234605616436508552 -8613303245920329199\n"
        );
        assert_eq!(
            memory_dump(&mut words, 4, b'u', 8, 0x301000),
            "0000000000301000:    81985529216486895 18364758544493064720\n\
             0000000000301010:  1234605616436508552  9833440827789222417\n"
        );
        assert_eq!(
            memory_dump(&mut words, 4, b'o', 8, 0x301000),
            "0000000000301000:   04432126361152746757 01773345651416625031020\n\
             0000000000301010: 0104421464212531473610 01041673145250414621021\n"
        );
    }

    #[test]
    fn unreadable_memory() {
        assert_eq!(
            memory_dump(&mut pattern(), 1, b'x', 4, 0xfffffffffff0),
            "0000fffffffffff0: Cannot access memory\n"
        );
        assert_eq!(memory_dump(&mut pattern(), 0, b'x', 4, 0x300000), "");
    }

    #[test]
    fn print_formats() {
        assert_eq!(print_value(b'x', 0x12), "0x12\n");
        assert_eq!(print_value(b'x', 0), "0\n");
        assert_eq!(print_value(b'o', 8), "010\n");
        assert_eq!(print_value(b'o', -1), "01777777777777777777777\n");
        assert_eq!(print_value(b'd', -1), "-1\n");
        assert_eq!(print_value(b'u', -1), "18446744073709551615\n");
        assert_eq!(print_value(b'c', 65), "'A'\n");
        assert_eq!(print_value(b'c', 10), "'\\n'\n");
        assert_eq!(print_value(b'i', 5), "5\n");
    }

    #[test]
    fn hex_digits_as_the_formatter_pads_them() {
        for (v, w) in [
            (0u64, 0usize),
            (0, 16),
            (0xabc, 2),
            (u64::MAX, 16),
            (0x1f, 8),
            (1, 1),
        ] {
            let mut s = String::new();
            push_hex(&mut s, v, w);
            assert_eq!(s, format!("{v:0w$x}"));
        }
    }
}

//! PCI bus 0 through configuration mechanism #1 (ports 0xcf8/0xcfc), as Linux
//! uses it without MMCONFIG: function discovery, the capability list, and
//! memory BARs (sizing, and placing those that firmware left unassigned).
//!
//! Every configuration access is two port exits, so the scan reads one dword per
//! slot and the rest only for the function that is wanted.

use crate::abi::{PCI_HOLE_END, PCI_HOLE_START};
use crate::pages;
use crate::x86::{inb, inl, inw, outb, outl, outw};

const ADDRESS: u16 = 0xcf8;
const DATA: u16 = 0xcfc;

pub const COMMAND: u8 = 0x04;
pub const STATUS: u8 = 0x06;
pub const HEADER_TYPE: u8 = 0x0e;
pub const BAR0: u8 = 0x10;
pub const CAPABILITIES: u8 = 0x34;

pub const COMMAND_IO: u16 = 1 << 0;
pub const COMMAND_MEMORY: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
const STATUS_CAPABILITIES: u16 = 1 << 4;

pub const CAP_VENDOR: u8 = 0x09;
pub const CAP_MSIX: u8 = 0x11;

/// A function on bus 0.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Function {
    pub dev: u8,
    pub func: u8,
}

impl Function {
    fn select(self, reg: u8) {
        outl(
            ADDRESS,
            0x8000_0000
                | (u32::from(self.dev) << 11)
                | (u32::from(self.func) << 8)
                | u32::from(reg & 0xfc),
        );
    }

    pub fn read32(self, reg: u8) -> u32 {
        self.select(reg);
        inl(DATA)
    }

    pub fn read16(self, reg: u8) -> u16 {
        self.select(reg);
        inw(DATA + u16::from(reg & 2))
    }

    pub fn read8(self, reg: u8) -> u8 {
        self.select(reg);
        inb(DATA + u16::from(reg & 3))
    }

    pub fn write32(self, reg: u8, value: u32) {
        self.select(reg);
        outl(DATA, value);
    }

    pub fn write16(self, reg: u8, value: u16) {
        self.select(reg);
        outw(DATA + u16::from(reg & 2), value);
    }

    #[allow(dead_code)]
    pub fn write8(self, reg: u8, value: u8) {
        self.select(reg);
        outb(DATA + u16::from(reg & 3), value);
    }

    /// Offsets of the capabilities with id `id`, in list order. The walk stops
    /// after 48 entries (Linux's TTL: a device may loop the list), at a pointer
    /// into the header, or at id 0xff.
    pub fn capabilities(self, id: u8) -> impl Iterator<Item = u8> {
        let mut pos = if self.read16(STATUS) & STATUS_CAPABILITIES != 0 {
            self.read8(CAPABILITIES)
        } else {
            0
        };
        let mut ttl = 48;
        core::iter::from_fn(move || {
            while ttl > 0 && pos >= 0x40 {
                ttl -= 1;
                let at = pos & !3;
                let entry = self.read16(at);
                pos = (entry >> 8) as u8;
                match entry as u8 {
                    0xff => break,
                    found if found == id => return Some(at),
                    _ => {}
                }
            }
            None
        })
    }

    /// `00:0N.F`
    pub fn name(self) -> [u8; 7] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        [
            b'0',
            b'0',
            b':',
            HEX[usize::from(self.dev >> 4)],
            HEX[usize::from(self.dev & 15)],
            b'.',
            b'0' + self.func,
        ]
    }
}

/// Whether configuration mechanism #1 is there: the address latch reads back
/// what was written (Linux's `pci_check_type1`).
pub fn present() -> bool {
    outl(ADDRESS, 0x8000_0000);
    let back = inl(ADDRESS);
    outl(ADDRESS, 0);
    back == 0x8000_0000
}

/// Calls `f(function, vendor, device)` for every function on bus 0 (functions
/// 1-7 of multi-function devices included) until it returns true.
pub fn find(mut f: impl FnMut(Function, u16, u16) -> bool) -> Option<Function> {
    for dev in 0..32 {
        let zero = Function { dev, func: 0 };
        let id = zero.read32(0);
        if id as u16 == 0xffff || id as u16 == 0 {
            continue;
        }
        if f(zero, id as u16, (id >> 16) as u16) {
            return Some(zero);
        }
        if zero.read8(HEADER_TYPE) & 0x80 == 0 {
            continue;
        }
        for func in 1..8 {
            let function = Function { dev, func };
            let id = function.read32(0);
            if id as u16 != 0xffff && f(function, id as u16, (id >> 16) as u16) {
                return Some(function);
            }
        }
    }
    None
}

/// A memory BAR: where it is and how large.
#[derive(Clone, Copy, Default)]
pub struct Bar {
    pub addr: u64,
    pub size: u64,
    pub is_64: bool,
}

/// Reads BAR `index` of a type-0 header and sizes it (all-ones written with
/// decoding off, then the old value restored, as Linux does). None for I/O BARs,
/// unimplemented ones, the upper half of a 64-bit BAR and bad values.
pub fn read_bar(f: Function, index: u8) -> Option<Bar> {
    if index > 5 {
        return None;
    }
    let reg = BAR0 + 4 * index;
    let low = f.read32(reg);
    if low & 1 != 0 {
        return None; // I/O space
    }
    let is_64 = (low >> 1) & 3 == 2;
    if is_64 && index == 5 {
        return None;
    }
    let command = f.read16(COMMAND);
    if command & (COMMAND_MEMORY | COMMAND_IO) != 0 {
        f.write16(COMMAND, command & !(COMMAND_MEMORY | COMMAND_IO));
    }
    f.write32(reg, !0);
    let size_low = f.read32(reg);
    f.write32(reg, low);
    let (high, size_high) = if is_64 {
        let high = f.read32(reg + 4);
        f.write32(reg + 4, !0);
        let size_high = f.read32(reg + 4);
        f.write32(reg + 4, high);
        (high, size_high)
    } else {
        (0, !0)
    };
    if command & (COMMAND_MEMORY | COMMAND_IO) != 0 {
        f.write16(COMMAND, command);
    }
    let mask = (u64::from(size_high) << 32) | u64::from(size_low & !0xf);
    if size_low == !0 || mask == 0xffff_ffff_0000_0000 || mask & 0xffff_fff0 == 0 {
        return None; // not implemented, or not a sane mask
    }
    let size = (!mask).wrapping_add(1);
    if !size.is_power_of_two() {
        return None;
    }
    Some(Bar {
        addr: (u64::from(high) << 32) | u64::from(low & !0xf),
        size,
        is_64,
    })
}

fn write_bar(f: Function, index: u8, bar: &Bar, addr: u64) {
    let reg = BAR0 + 4 * index;
    let command = f.read16(COMMAND);
    f.write16(COMMAND, command & !COMMAND_MEMORY);
    let low = f.read32(reg) & 0xf;
    f.write32(reg, (addr as u32 & !0xf) | low);
    if bar.is_64 {
        f.write32(reg + 4, (addr >> 32) as u32);
    }
    f.write16(COMMAND, command);
}

/// Zeroes every memory BAR of `f` (decoding off), as if firmware had not
/// assigned them (the `virtio-balloon.clear-bars` test hook).
pub fn clear_bars(f: Function) {
    let command = f.read16(COMMAND);
    f.write16(COMMAND, command & !COMMAND_MEMORY);
    let mut index = 0;
    while index < 6 {
        let reg = BAR0 + 4 * index;
        let low = f.read32(reg);
        if low & 1 == 0 {
            f.write32(reg, 0);
            if (low >> 1) & 3 == 2 && index < 5 {
                f.write32(reg + 4, 0);
                index += 1;
            }
        }
        index += 1;
    }
}

/// Places an unassigned memory BAR (address 0) of `f` in the PCI hole below 4 GiB:
/// the lowest size-aligned address in [PCI_HOLE_START, PCI_HOLE_END) that
/// overlaps no other assigned memory BAR on bus 0 and no e820 entry. Returns
/// the new address.
pub fn assign_bar(f: Function, index: u8, bar: &mut Bar) -> Option<u64> {
    const MAX: usize = 48;
    let mut used = [(0u64, 0u64); MAX];
    let mut n = 0;
    let mut record = |start: u64, size: u64| {
        if n < MAX && size != 0 {
            used[n] = (start, start.saturating_add(size));
            n += 1;
        }
    };
    find(|other, _, _| {
        if other.read8(HEADER_TYPE) & 0x7f == 0 {
            let mut i = 0;
            while i < 6 {
                let this = if other == f && i == index {
                    Some(*bar)
                } else {
                    read_bar(other, i)
                };
                if let Some(b) = this {
                    if b.addr != 0 && !(other == f && i == index) {
                        record(b.addr, b.size);
                    }
                    if b.is_64 {
                        i += 1; // its upper half
                    }
                }
                i += 1;
            }
        }
        false
    });
    for e in pages::memory_map() {
        record(e.addr, e.size);
    }
    let align = |a: u64| a.checked_add(bar.size - 1).map(|a| a & !(bar.size - 1));
    let fits = |a: u64| {
        a.checked_add(bar.size)
            .is_some_and(|end| end <= PCI_HOLE_END)
            && used[..n].iter().all(|&(s, e)| a >= e || a + bar.size <= s)
    };
    let addr = core::iter::once(PCI_HOLE_START)
        .chain(used[..n].iter().map(|&(_, end)| end))
        .filter_map(align)
        .filter(|&a| a >= PCI_HOLE_START && fits(a))
        .min()?;
    write_bar(f, index, bar, addr);
    bar.addr = addr;
    Some(addr)
}

//! A type-0 PCI configuration space: 256 bytes, the standard header, BARs and a capability list.
//!
//! Every byte has a write mask; guest writes change only the masked bits, so read-only fields
//! (IDs, class, type bits of BARs) stay put and the BAR sizing protocol falls out of the masks:
//! writing all-ones to a BAR leaves `!(size - 1)` in its address bits.

use super::bar::{Bar, BarKind, BarMove, BAR_COUNT};

/// Size of conventional configuration space (all that port 0xCF8/0xCFC reaches).
pub const CONFIG_SPACE_SIZE: usize = 256;

pub const VENDOR_ID: usize = 0x00;
pub const DEVICE_ID: usize = 0x02;
pub const COMMAND: usize = 0x04;
pub const STATUS: usize = 0x06;
pub const REVISION_ID: usize = 0x08;
pub const CLASS_PROG: usize = 0x09;
pub const CACHE_LINE_SIZE: usize = 0x0c;
pub const HEADER_TYPE: usize = 0x0e;
pub const BAR0: usize = 0x10;
pub const SUBSYSTEM_VENDOR_ID: usize = 0x2c;
pub const SUBSYSTEM_ID: usize = 0x2e;
pub const CAPABILITY_POINTER: usize = 0x34;
pub const INTERRUPT_LINE: usize = 0x3c;
pub const INTERRUPT_PIN: usize = 0x3d;

pub const COMMAND_IO: u16 = 1 << 0;
pub const COMMAND_MEMORY: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
/// Command bits a guest may change: I/O, memory, bus master, parity, SERR, INTx disable.
const COMMAND_WRITABLE: u16 =
    COMMAND_IO | COMMAND_MEMORY | COMMAND_BUS_MASTER | 1 << 6 | 1 << 8 | 1 << 10;
const STATUS_CAPABILITIES: u16 = 1 << 4;
const HEADER_TYPE_MULTIFUNCTION: u8 = 0x80;

/// Capabilities live after the header, dword aligned.
const FIRST_CAPABILITY: usize = 0x40;

/// The identity fields of a function's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciHeader {
    pub vendor_id: u16,
    pub device_id: u16,
    pub revision: u8,
    /// Base class, subclass and programming interface, as the 24-bit class code register.
    pub class_code: u32,
    pub subsystem_vendor_id: u16,
    pub subsystem_id: u16,
    /// Sets bit 7 of the header type (the slot has more functions).
    pub multifunction: bool,
    /// 0 for none (MSI/MSI-X only), 1..4 for INTA..INTD.
    pub interrupt_pin: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("BAR {0} is already in use or is the upper half of a 64-bit BAR")]
    BarInUse(usize),
    #[error("BAR index {0} out of range")]
    BarIndex(usize),
    #[error("BAR size {0:#x} is not a power of two of at least 16 bytes (4 for I/O)")]
    BarSize(u64),
    #[error("BAR base {base:#x} is not aligned to its size {size:#x} or does not fit its type")]
    BarPlacement { base: u64, size: u64 },
    #[error("no room left in configuration space for a {0}-byte capability")]
    NoCapabilitySpace(usize),
}

/// Configuration space of one function.
#[derive(Clone)]
pub struct PciConfiguration {
    regs: [u8; CONFIG_SPACE_SIZE],
    writable: [u8; CONFIG_SPACE_SIZE],
    bars: [Option<Bar>; BAR_COUNT],
    last_capability: Option<usize>,
    next_capability: usize,
    /// State to return to on a function reset, taken when the device is fully built.
    pristine: Option<Box<PciConfiguration>>,
}

impl PciConfiguration {
    pub fn new(header: &PciHeader) -> Self {
        let mut c = PciConfiguration {
            regs: [0; CONFIG_SPACE_SIZE],
            writable: [0; CONFIG_SPACE_SIZE],
            bars: [None; BAR_COUNT],
            last_capability: None,
            next_capability: FIRST_CAPABILITY,
            pristine: None,
        };
        c.set_u16(VENDOR_ID, header.vendor_id);
        c.set_u16(DEVICE_ID, header.device_id);
        c.regs[REVISION_ID] = header.revision;
        let class = header.class_code.to_le_bytes();
        c.regs[CLASS_PROG..CLASS_PROG + 3].copy_from_slice(&class[..3]);
        c.regs[HEADER_TYPE] = if header.multifunction {
            HEADER_TYPE_MULTIFUNCTION
        } else {
            0
        };
        c.set_u16(SUBSYSTEM_VENDOR_ID, header.subsystem_vendor_id);
        c.set_u16(SUBSYSTEM_ID, header.subsystem_id);
        c.regs[INTERRUPT_PIN] = header.interrupt_pin;
        c.writable[COMMAND..COMMAND + 2].copy_from_slice(&COMMAND_WRITABLE.to_le_bytes());
        c.writable[CACHE_LINE_SIZE] = 0xff;
        c.writable[INTERRUPT_LINE] = 0xff;
        c
    }

    /// Adds a BAR placed at `base` (the VMM assigns addresses as firmware would).
    pub fn add_bar(
        &mut self,
        index: usize,
        kind: BarKind,
        size: u64,
        base: u64,
    ) -> Result<(), ConfigError> {
        let bar = Bar::new(kind, size, base)?;
        let slots = if kind.is_64bit() { 2 } else { 1 };
        if index + slots > BAR_COUNT {
            return Err(ConfigError::BarIndex(index));
        }
        let taken = |i: usize| {
            self.bars[i].is_some() || (i > 0 && self.bars[i - 1].is_some_and(|b| b.kind.is_64bit()))
        };
        if (index..index + slots).any(taken) {
            return Err(ConfigError::BarInUse(index));
        }
        let reg = BAR0 + index * 4;
        let (lo, hi) = bar.register_values();
        let (mask_lo, mask_hi) = bar.address_masks();
        self.set_u32(reg, lo);
        self.writable[reg..reg + 4].copy_from_slice(&mask_lo.to_le_bytes());
        if kind.is_64bit() {
            self.set_u32(reg + 4, hi);
            self.writable[reg + 4..reg + 8].copy_from_slice(&mask_hi.to_le_bytes());
        }
        self.bars[index] = Some(bar);
        Ok(())
    }

    /// Appends a capability: `id`, then `body` (the bytes after the ID and next pointer).
    /// `body_writable` gives the guest-writable bits of `body` (shorter means read-only rest).
    /// Returns the capability's offset.
    pub fn add_capability(
        &mut self,
        id: u8,
        body: &[u8],
        body_writable: &[u8],
    ) -> Result<usize, ConfigError> {
        let len = 2 + body.len();
        let offset = self.next_capability;
        let end = offset + len;
        if end > CONFIG_SPACE_SIZE {
            return Err(ConfigError::NoCapabilitySpace(len));
        }
        self.regs[offset] = id;
        self.regs[offset + 1] = 0;
        self.regs[offset + 2..end].copy_from_slice(body);
        for (i, m) in body_writable.iter().take(body.len()).enumerate() {
            self.writable[offset + 2 + i] = *m;
        }
        match self.last_capability {
            Some(prev) => self.regs[prev + 1] = offset as u8,
            None => {
                self.regs[CAPABILITY_POINTER] = offset as u8;
                let status = self.u16_at(STATUS) | STATUS_CAPABILITIES;
                self.set_u16(STATUS, status);
            }
        }
        self.last_capability = Some(offset);
        self.next_capability = (end + 3) & !3;
        Ok(offset)
    }

    /// Records the current contents as the state a function reset returns to.
    pub fn freeze_reset_state(&mut self) {
        let mut copy = self.clone();
        copy.pristine = None;
        self.pristine = Some(Box::new(copy));
    }

    /// Function reset: back to the frozen state (BARs at their assigned addresses, decoding
    /// off). Returns the BARs that move back.
    pub fn reset(&mut self) -> Vec<BarMove> {
        let Some(pristine) = self.pristine.take() else {
            return Vec::new();
        };
        let old = self.bars;
        *self = (*pristine).clone();
        self.pristine = Some(pristine);
        (0..BAR_COUNT)
            .filter_map(|i| {
                let (o, n) = (old[i]?, self.bars[i]?);
                (o.base != n.base).then_some(BarMove {
                    bar: i,
                    old_base: o.base,
                    new_base: n.base,
                    size: n.size,
                })
            })
            .collect()
    }

    /// Reads bytes at `offset`; bytes beyond the space read as all-ones.
    pub fn read(&self, offset: usize, data: &mut [u8]) {
        for (i, b) in data.iter_mut().enumerate() {
            *b = offset
                .checked_add(i)
                .and_then(|o| self.regs.get(o))
                .copied()
                .unwrap_or(0xff);
        }
    }

    /// Applies a guest write through the write masks. Returns the BAR whose decode address
    /// changed, if the write moved one (sizing probes do not count as moves).
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Option<BarMove> {
        for (i, &v) in data.iter().enumerate() {
            let Some(o) = offset.checked_add(i).filter(|&o| o < CONFIG_SPACE_SIZE) else {
                break;
            };
            let m = self.writable[o];
            self.regs[o] = (self.regs[o] & !m) | (v & m);
        }
        let end = offset.saturating_add(data.len());
        if offset < BAR0 + BAR_COUNT * 4 && end > BAR0 {
            self.update_bars()
        } else {
            None
        }
    }

    /// Re-derives BAR decode addresses from the registers.
    fn update_bars(&mut self) -> Option<BarMove> {
        let mut moved = None;
        for i in 0..BAR_COUNT {
            let Some(bar) = self.bars[i] else { continue };
            let reg = BAR0 + i * 4;
            let lo = self.u32_at(reg);
            let hi = if bar.kind.is_64bit() {
                self.u32_at(reg + 4)
            } else {
                0
            };
            if let Some(new_base) = bar.decode(lo, hi) {
                if new_base != bar.base {
                    moved = Some(BarMove {
                        bar: i,
                        old_base: bar.base,
                        new_base,
                        size: bar.size,
                    });
                    self.bars[i] = Some(Bar {
                        base: new_base,
                        ..bar
                    });
                }
            }
        }
        moved
    }

    pub fn bar(&self, index: usize) -> Option<Bar> {
        self.bars.get(index).copied().flatten()
    }

    pub fn command(&self) -> u16 {
        self.u16_at(COMMAND)
    }

    pub fn memory_enabled(&self) -> bool {
        self.command() & COMMAND_MEMORY != 0
    }

    /// Memory BARs the function decodes now: (index, base, size). Empty while memory
    /// decoding is off in the command register.
    pub fn memory_windows(&self) -> Vec<(usize, u64, u64)> {
        if !self.memory_enabled() {
            return Vec::new();
        }
        self.bars
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.filter(|b| !b.kind.is_io()).map(|b| (i, b.base, b.size)))
            .collect()
    }

    /// Direct register access for the device model (not subject to write masks).
    pub fn u16_at(&self, offset: usize) -> u16 {
        u16::from_le_bytes([self.regs[offset], self.regs[offset + 1]])
    }

    pub fn u32_at(&self, offset: usize) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.regs[offset..offset + 4]);
        u32::from_le_bytes(b)
    }

    pub fn set_u16(&mut self, offset: usize, value: u16) {
        self.regs[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
    }

    pub fn set_u32(&mut self, offset: usize, value: u32) {
        self.regs[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> PciHeader {
        PciHeader {
            vendor_id: 0x1af4,
            device_id: 0x1045,
            revision: 1,
            class_code: 0x00ff00,
            subsystem_vendor_id: 0x1af4,
            subsystem_id: 0x1100,
            multifunction: false,
            interrupt_pin: 0,
        }
    }

    fn read32(c: &PciConfiguration, off: usize) -> u32 {
        let mut b = [0; 4];
        c.read(off, &mut b);
        u32::from_le_bytes(b)
    }

    #[test]
    fn header_fields_and_read_only_bits() {
        let mut c = PciConfiguration::new(&header());
        assert_eq!(read32(&c, 0), 0x1045_1af4);
        assert_eq!(read32(&c, 8), 0x00ff_0001);
        assert_eq!(read32(&c, 0x2c), 0x1100_1af4);
        c.write(0, &[0, 0, 0, 0]);
        c.write(8, &[0xff; 4]);
        assert_eq!(read32(&c, 0), 0x1045_1af4);
        assert_eq!(read32(&c, 8), 0x00ff_0001);
        c.write(COMMAND, &0xffffu16.to_le_bytes());
        assert_eq!(c.command(), COMMAND_WRITABLE);
        c.write(INTERRUPT_LINE, &[0x0b]);
        let mut b = [0; 2];
        c.read(INTERRUPT_LINE, &mut b);
        assert_eq!(b, [0x0b, 0]);
        // Past the end reads all-ones.
        let mut b = [0; 4];
        c.read(254, &mut b);
        assert_eq!(b, [0, 0, 0xff, 0xff]);
    }

    #[test]
    fn bar_sizing_and_relocation() {
        let mut c = PciConfiguration::new(&header());
        c.add_bar(
            0,
            BarKind::Memory32 {
                prefetchable: false,
            },
            0x8000,
            0xc000_0000,
        )
        .unwrap();
        assert_eq!(read32(&c, BAR0), 0xc000_0000);
        // Sizing: all-ones reads back the size mask; no move is reported.
        assert_eq!(c.write(BAR0, &[0xff; 4]), None);
        assert_eq!(read32(&c, BAR0), 0xffff_8000);
        assert_eq!(c.bar(0).unwrap().base, 0xc000_0000);
        assert_eq!(c.write(BAR0, &0xc000_0000u32.to_le_bytes()), None);
        // A real move is reported once.
        let mv = c.write(BAR0, &0xd000_0000u32.to_le_bytes()).unwrap();
        assert_eq!(
            mv,
            BarMove {
                bar: 0,
                old_base: 0xc000_0000,
                new_base: 0xd000_0000,
                size: 0x8000
            }
        );
        // Low address bits are not writable.
        c.write(BAR0, &0xd000_1234u32.to_le_bytes());
        assert_eq!(read32(&c, BAR0), 0xd000_0000);
        // Decoding only with the memory bit.
        assert!(c.memory_windows().is_empty());
        c.write(COMMAND, &COMMAND_MEMORY.to_le_bytes());
        assert_eq!(c.memory_windows(), vec![(0, 0xd000_0000, 0x8000)]);
        // Reset puts it back where the VMM placed it.
        c.freeze_reset_state();
        c.write(BAR0, &0xe000_0000u32.to_le_bytes());
        let moves = c.reset();
        assert_eq!(moves.len(), 1);
        assert_eq!(moves[0].new_base, 0xd000_0000);
        assert_eq!(c.command(), COMMAND_MEMORY);
    }

    #[test]
    fn sixty_four_bit_bar() {
        let mut c = PciConfiguration::new(&header());
        c.add_bar(
            2,
            BarKind::Memory64 { prefetchable: true },
            0x4000,
            0x1_0000_0000,
        )
        .unwrap();
        assert!(c
            .add_bar(
                3,
                BarKind::Memory32 {
                    prefetchable: false
                },
                0x1000,
                0
            )
            .is_err());
        assert_eq!(read32(&c, BAR0 + 8), 0x0000_000c);
        assert_eq!(read32(&c, BAR0 + 12), 1);
        c.write(BAR0 + 8, &[0xff; 4]);
        c.write(BAR0 + 12, &[0xff; 4]);
        assert_eq!(read32(&c, BAR0 + 8), 0xffff_c00c);
        assert_eq!(read32(&c, BAR0 + 12), 0xffff_ffff);
        assert_eq!(c.bar(2).unwrap().base, 0x1_0000_0000);
    }

    #[test]
    fn capabilities_chain() {
        let mut c = PciConfiguration::new(&header());
        let a = c
            .add_capability(0x09, &[14, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[])
            .unwrap();
        let b = c
            .add_capability(0x11, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0, 0xc0])
            .unwrap();
        assert_eq!((a, b), (0x40, 0x50));
        assert_eq!(c.u16_at(STATUS) & STATUS_CAPABILITIES, STATUS_CAPABILITIES);
        let mut p = [0u8];
        c.read(CAPABILITY_POINTER, &mut p);
        assert_eq!(p[0], 0x40);
        c.read(0x41, &mut p);
        assert_eq!(p[0], 0x50);
        c.read(0x51, &mut p);
        assert_eq!(p[0], 0);
        c.write(0x52, &[0xff, 0xff]);
        assert_eq!(c.u16_at(0x52), 0xc000);
    }
}

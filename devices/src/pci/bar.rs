//! Base address registers: their encoding, sizing masks and decode addresses.

use super::configuration::ConfigError;

/// BARs in a type-0 header.
pub const BAR_COUNT: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    Io,
    Memory32 { prefetchable: bool },
    Memory64 { prefetchable: bool },
}

impl BarKind {
    pub fn is_64bit(self) -> bool {
        matches!(self, BarKind::Memory64 { .. })
    }

    pub fn is_io(self) -> bool {
        matches!(self, BarKind::Io)
    }

    /// The read-only low bits of the BAR register.
    fn type_bits(self) -> u32 {
        match self {
            BarKind::Io => 0x1,
            BarKind::Memory32 { prefetchable } => u32::from(prefetchable) << 3,
            BarKind::Memory64 { prefetchable } => 0x4 | u32::from(prefetchable) << 3,
        }
    }

    fn flag_mask(self) -> u64 {
        if self.is_io() {
            0x3
        } else {
            0xf
        }
    }
}

/// One BAR: its kind, size and the address it decodes at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub kind: BarKind,
    pub size: u64,
    pub base: u64,
}

/// A BAR whose decode address changed (guest relocation or reset). The VMM moves whatever it
/// attached to the old range (ioeventfds) to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarMove {
    pub bar: usize,
    pub old_base: u64,
    pub new_base: u64,
    pub size: u64,
}

impl Bar {
    pub(super) fn new(kind: BarKind, size: u64, base: u64) -> Result<Self, ConfigError> {
        let min = if kind.is_io() { 4 } else { 16 };
        if !size.is_power_of_two() || size < min {
            return Err(ConfigError::BarSize(size));
        }
        let limit: u64 = match kind {
            BarKind::Io => 1 << 16,
            BarKind::Memory32 { .. } => 1 << 32,
            BarKind::Memory64 { .. } => u64::MAX,
        };
        let fits = base.checked_add(size).is_some_and(|end| end <= limit);
        if base & (size - 1) != 0 || !fits {
            return Err(ConfigError::BarPlacement { base, size });
        }
        Ok(Bar { kind, size, base })
    }

    /// Register values (low dword, high dword) for the current base.
    pub(super) fn register_values(&self) -> (u32, u32) {
        (
            (self.base as u32) | self.kind.type_bits(),
            (self.base >> 32) as u32,
        )
    }

    /// Guest-writable bits of the low and high dwords: the address bits above the size.
    pub(super) fn address_masks(&self) -> (u32, u32) {
        let mask = !(self.size - 1) & !self.kind.flag_mask();
        let hi = if self.kind.is_64bit() {
            (mask >> 32) as u32
        } else {
            0
        };
        (mask as u32, hi)
    }

    /// The base the registers describe, or None while they hold a sizing probe (all address
    /// bits set in either half), which is not a placement.
    pub(super) fn decode(&self, lo: u32, hi: u32) -> Option<u64> {
        let (mask_lo, mask_hi) = self.address_masks();
        let probing_lo = lo & mask_lo == mask_lo;
        let probing_hi = self.kind.is_64bit() && hi == u32::MAX;
        if probing_lo || probing_hi {
            return None;
        }
        let base = u64::from(lo & mask_lo) | u64::from(hi & mask_hi) << 32;
        Some(base)
    }
}

//! Address-decoding buses for port I/O and MMIO.
//!
//! Reads of addresses no device claims return all-ones and writes are dropped, as on a PC
//! (probes such as 8250 detection and PCI vendor-ID scans rely on it).

use std::sync::{Arc, Mutex};

use thiserror::Error;

/// A device on a bus. Offsets are relative to the start of the device's range.
pub trait BusDevice: Send {
    fn read(&mut self, offset: u64, data: &mut [u8]);
    fn write(&mut self, offset: u64, data: &[u8]);
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BusError {
    #[error("bus range {base:#x}+{len:#x} overlaps an existing device")]
    Overlap { base: u64, len: u64 },
    #[error("bus range {base:#x}+{len:#x} is empty or wraps around")]
    InvalidRange { base: u64, len: u64 },
}

struct BusRange {
    base: u64,
    len: u64,
    device: Arc<Mutex<dyn BusDevice>>,
}

/// A sorted set of non-overlapping device ranges.
#[derive(Default)]
pub struct Bus {
    ranges: Vec<BusRange>,
}

impl Bus {
    pub fn new() -> Self {
        Bus::default()
    }

    pub fn insert(
        &mut self,
        device: Arc<Mutex<dyn BusDevice>>,
        base: u64,
        len: u64,
    ) -> Result<(), BusError> {
        let end = base
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(BusError::InvalidRange { base, len })?;
        if self
            .ranges
            .iter()
            .any(|r| base < r.base + r.len && r.base < end)
        {
            return Err(BusError::Overlap { base, len });
        }
        let at = self.ranges.partition_point(|r| r.base < base);
        self.ranges.insert(at, BusRange { base, len, device });
        Ok(())
    }

    fn find(&self, addr: u64) -> Option<(&BusRange, u64)> {
        let idx = self.ranges.partition_point(|r| r.base <= addr);
        let range = self.ranges.get(idx.checked_sub(1)?)?;
        let offset = addr - range.base;
        (offset < range.len).then_some((range, offset))
    }

    /// Reads into `data`; returns false (and fills all-ones) if no device claims `addr`.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> bool {
        match self.find(addr) {
            Some((range, offset)) => {
                lock(&range.device).read(offset, data);
                true
            }
            None => {
                data.fill(0xff);
                false
            }
        }
    }

    /// Writes `data`; returns false if no device claims `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) -> bool {
        match self.find(addr) {
            Some((range, offset)) => {
                lock(&range.device).write(offset, data);
                true
            }
            None => false,
        }
    }
}

/// Locks a device, recovering it if a previous holder panicked: device state stays usable and
/// a later access must not bring the whole VMM down.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Reg(u8);
    impl BusDevice for Reg {
        fn read(&mut self, offset: u64, data: &mut [u8]) {
            data.fill(self.0 + offset as u8);
        }
        fn write(&mut self, _offset: u64, data: &[u8]) {
            self.0 = data[0];
        }
    }

    #[test]
    fn unclaimed_reads_are_all_ones() {
        let mut bus = Bus::new();
        bus.insert(Arc::new(Mutex::new(Reg(0x10))), 0x3f8, 8)
            .unwrap();
        let mut d = [0u8; 4];
        assert!(!bus.read(0x3f7, &mut d));
        assert_eq!(d, [0xff; 4]);
        assert!(!bus.read(0x400, &mut d));
        assert!(bus.read(0x3f9, &mut d[..1]));
        assert_eq!(d[0], 0x11);
        assert!(bus.write(0x3f8, &[0x20]));
        assert!(bus.read(0x3f8, &mut d[..1]));
        assert_eq!(d[0], 0x20);
    }

    #[test]
    fn overlaps_are_refused() {
        let mut bus = Bus::new();
        bus.insert(Arc::new(Mutex::new(Reg(0))), 0x60, 1).unwrap();
        bus.insert(Arc::new(Mutex::new(Reg(0))), 0x64, 1).unwrap();
        assert!(bus.insert(Arc::new(Mutex::new(Reg(0))), 0x5f, 2).is_err());
        assert!(bus.insert(Arc::new(Mutex::new(Reg(0))), 0, 0).is_err());
        assert!(bus
            .insert(Arc::new(Mutex::new(Reg(0))), u64::MAX, 2)
            .is_err());
    }
}

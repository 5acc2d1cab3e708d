//! PCI device/function numbers on bus 0, and QEMU's `addr=` property syntax for them.

use std::fmt;

use thiserror::Error;

/// Slots on a conventional PCI bus.
pub const SLOTS: u8 = 32;
/// Functions per slot.
pub const FUNCTIONS: u8 = 8;

/// A device/function number (`devfn`: slot in bits 7:3, function in bits 2:0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciDevfn(u8);

impl PciDevfn {
    /// `slot` must be below 32 and `function` below 8.
    pub fn new(slot: u8, function: u8) -> Option<Self> {
        (slot < SLOTS && function < FUNCTIONS).then_some(PciDevfn(slot << 3 | function))
    }

    pub fn from_raw(devfn: u8) -> Self {
        PciDevfn(devfn)
    }

    pub fn raw(self) -> u8 {
        self.0
    }

    pub fn slot(self) -> u8 {
        self.0 >> 3
    }

    pub fn function(self) -> u8 {
        self.0 & 7
    }

    /// Parses QEMU's `addr` property string: `SLOT` or `SLOT.FN`, both hexadecimal as C's
    /// `sscanf("%x.%x")` reads them (optional `0x`, leading blanks and sign; no trailing text),
    /// slot ≤ 0x1f and function ≤ 7. `driver` names the device type for QEMU's error text.
    pub fn parse_qemu(driver: &str, value: &str) -> Result<Self, InvalidPciAddr> {
        let invalid = || InvalidPciAddr {
            driver: driver.to_string(),
            value: value.to_string(),
        };
        let s = value.as_bytes();
        let (slot, after_slot) = scan_hex(s, 0).ok_or_else(invalid)?;
        // "%x.%x" needs both numbers; otherwise QEMU retries with "%x" alone.
        let (function, end) = match s.get(after_slot) {
            Some(b'.') => match scan_hex(s, after_slot + 1) {
                Some((f, end)) => (f, end),
                None => (0, after_slot),
            },
            _ => (0, after_slot),
        };
        if end != s.len() || slot >= u64::from(SLOTS) || function >= u64::from(FUNCTIONS) {
            return Err(invalid());
        }
        // Both bounds checked above.
        Ok(PciDevfn((slot as u8) << 3 | function as u8))
    }

    /// QEMU's integer form of `addr` (QMP `device_add` may pass a number): the raw devfn,
    /// or -1 for "pick one". Returns `Ok(None)` for -1.
    pub fn from_qemu_int(value: i64) -> Result<Option<Self>, InvalidPciDevfnInt> {
        match value {
            -1 => Ok(None),
            0..=255 => Ok(Some(PciDevfn(value as u8))),
            _ => Err(InvalidPciDevfnInt),
        }
    }
}

impl fmt::Display for PciDevfn {
    /// QEMU's `addr` property print form, e.g. `02.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}.{:x}", self.slot(), self.function())
    }
}

/// QEMU 10's error for a malformed `addr` string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Property '{driver}.addr' doesn't take value '{value}'")]
pub struct InvalidPciAddr {
    pub driver: String,
    pub value: String,
}

/// QEMU's error for an integer `addr` outside -1..=255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("Parameter 'addr' expects pci_devfn")]
pub struct InvalidPciDevfnInt;

/// One `%x` conversion as glibc's `sscanf` does it, starting at `i`: returns the value and
/// where it stopped, or None if nothing matched. Values beyond u32 are reported as too big
/// (u64::MAX) rather than truncated, so they fail the range check.
fn scan_hex(s: &[u8], mut i: usize) -> Option<(u64, usize)> {
    while s.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    // glibc takes "0x" with no digits after it as a complete zero.
    if s.get(i) == Some(&b'0') && matches!(s.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        if !s.get(i).is_some_and(u8::is_ascii_hexdigit) {
            return Some((0, i));
        }
    }
    let start = i;
    let mut value: u64 = 0;
    while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(16)) {
        value = value.saturating_mul(16).saturating_add(u64::from(d));
        i += 1;
    }
    if i == start {
        return None;
    }
    if value > u64::from(u32::MAX) {
        value = u64::MAX;
    }
    // A negative number converts to a huge unsigned one, except -0.
    if negative && value != 0 {
        value = u64::MAX;
    }
    Some((value, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<(u8, u8)> {
        PciDevfn::parse_qemu("virtio-balloon-pci", s)
            .ok()
            .map(|d| (d.slot(), d.function()))
    }

    #[test]
    fn accepts_what_qemu_accepts() {
        // Each of these was checked against qemu-system-x86_64 10.0.2 (`info pci`).
        assert_eq!(parse("3"), Some((3, 0)));
        assert_eq!(parse("0x3"), Some((3, 0)));
        assert_eq!(parse("00003"), Some((3, 0)));
        assert_eq!(parse("+3"), Some((3, 0)));
        assert_eq!(parse("1f"), Some((31, 0)));
        assert_eq!(parse("0x1f.7"), Some((31, 7)));
        assert_eq!(parse("3.1"), Some((3, 1)));
        assert_eq!(parse("3.0x1"), Some((3, 1)));
        assert_eq!(parse("02.0"), Some((2, 0)));
        assert_eq!(parse("0x"), Some((0, 0)));
    }

    #[test]
    fn refuses_what_qemu_refuses() {
        for s in [
            "", "0x20", "32", "2.8", "foo", "-1", "1f.08", "3.", "3x", "3.1.1",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
        let err = PciDevfn::parse_qemu("virtio-balloon-pci", "0x20").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Property 'virtio-balloon-pci.addr' doesn't take value '0x20'"
        );
    }

    #[test]
    fn integer_form_and_display() {
        assert_eq!(PciDevfn::from_qemu_int(-1), Ok(None));
        assert_eq!(
            PciDevfn::from_qemu_int(0x11).unwrap().unwrap(),
            PciDevfn::new(2, 1).unwrap()
        );
        assert!(PciDevfn::from_qemu_int(256).is_err());
        assert_eq!(PciDevfn::new(2, 0).unwrap().to_string(), "02.0");
        assert!(PciDevfn::new(32, 0).is_none());
        assert!(PciDevfn::new(0, 8).is_none());
    }
}

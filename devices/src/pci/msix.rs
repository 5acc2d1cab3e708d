//! MSI-X: the vector table and pending-bit array a function exposes in a BAR, and the
//! Message Control enable and function-mask bits in its capability.
//!
//! A vector that fires while masked (entry mask, function mask) sets its pending bit; the
//! message goes out when the vector is unmasked, as the PCI spec requires. With MSI-X
//! disabled nothing is delivered (this VMM's functions have no INTx to fall back to) and the
//! pending bit is set the same way.

use super::msi::MsiInterrupt;

/// Capability ID of MSI-X.
pub const MSIX_CAPABILITY_ID: u8 = 0x11;
/// Bytes per table entry: address low, address high, data, vector control.
pub const MSIX_ENTRY_SIZE: u64 = 16;
/// The largest table the capability can describe.
pub const MSIX_MAX_VECTORS: u16 = 2048;

const CONTROL_ENABLE: u16 = 1 << 15;
const CONTROL_FUNCTION_MASK: u16 = 1 << 14;
const ENTRY_MASKED: u32 = 1;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct MsixEntry {
    address_lo: u32,
    address_hi: u32,
    data: u32,
    control: u32,
}

impl MsixEntry {
    fn reset() -> Self {
        MsixEntry {
            control: ENTRY_MASKED,
            ..Default::default()
        }
    }

    fn masked(&self) -> bool {
        self.control & ENTRY_MASKED != 0
    }
}

#[derive(Debug, Clone)]
pub struct MsixState {
    entries: Vec<MsixEntry>,
    pending: Vec<u64>,
    enabled: bool,
    function_masked: bool,
}

impl MsixState {
    /// `vectors` is clamped to 1..=2048.
    pub fn new(vectors: u16) -> Self {
        let n = vectors.clamp(1, MSIX_MAX_VECTORS);
        MsixState {
            entries: vec![MsixEntry::reset(); usize::from(n)],
            pending: vec![0; usize::from(n).div_ceil(64)],
            enabled: false,
            function_masked: false,
        }
    }

    pub fn vectors(&self) -> u16 {
        self.entries.len() as u16
    }

    /// Bytes of the table in its BAR.
    pub fn table_size(&self) -> u64 {
        self.entries.len() as u64 * MSIX_ENTRY_SIZE
    }

    /// Bytes of the PBA in its BAR (whole qwords).
    pub fn pba_size(&self) -> u64 {
        self.pending.len() as u64 * 8
    }

    /// The capability body after ID/next: Message Control, table offset/BIR, PBA offset/BIR.
    /// Offsets must be 8-byte aligned. The second value is the body's writable mask (only
    /// the enable and function-mask bits).
    pub fn capability_body(
        &self,
        table_bar: u8,
        table_offset: u32,
        pba_bar: u8,
        pba_offset: u32,
    ) -> ([u8; 10], [u8; 2]) {
        let mut body = [0u8; 10];
        body[0..2].copy_from_slice(&(self.vectors() - 1).to_le_bytes());
        body[2..6].copy_from_slice(&(table_offset | u32::from(table_bar & 7)).to_le_bytes());
        body[6..10].copy_from_slice(&(pba_offset | u32::from(pba_bar & 7)).to_le_bytes());
        let writable = (CONTROL_ENABLE | CONTROL_FUNCTION_MASK).to_le_bytes();
        (body, writable)
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn function_masked(&self) -> bool {
        self.function_masked
    }

    /// Applies a Message Control value the guest wrote; delivers what became unmasked.
    pub fn set_control(&mut self, control: u16, sink: &dyn MsiInterrupt) {
        self.enabled = control & CONTROL_ENABLE != 0;
        self.function_masked = control & CONTROL_FUNCTION_MASK != 0;
        for v in 0..self.entries.len() {
            self.deliver_if_pending(v, sink);
        }
    }

    /// Reads the table; `offset` is relative to the table start. Accesses must be dword or
    /// qword sized and aligned; others read all-ones.
    pub fn table_read(&self, offset: u64, data: &mut [u8]) {
        data.fill(0xff);
        if !aligned_dword_or_qword(offset, data.len()) {
            return;
        }
        for (i, chunk) in data.chunks_exact_mut(4).enumerate() {
            if let Some(v) = self.table_dword(offset + 4 * i as u64) {
                chunk.copy_from_slice(&v.to_le_bytes());
            }
        }
    }

    pub fn table_write(&mut self, offset: u64, data: &[u8], sink: &dyn MsiInterrupt) {
        if !aligned_dword_or_qword(offset, data.len()) {
            return;
        }
        for (i, chunk) in data.chunks_exact(4).enumerate() {
            let value = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let at = offset + 4 * i as u64;
            let index = (at / MSIX_ENTRY_SIZE) as usize;
            let Some(entry) = self.entries.get_mut(index) else {
                continue;
            };
            match at % MSIX_ENTRY_SIZE {
                0 => entry.address_lo = value,
                4 => entry.address_hi = value,
                8 => entry.data = value,
                // Only the mask bit is defined; the rest is reserved (reads 0).
                _ => entry.control = value & ENTRY_MASKED,
            }
            self.deliver_if_pending(index, sink);
        }
    }

    /// Reads the pending-bit array; `offset` is relative to the PBA start.
    pub fn pba_read(&self, offset: u64, data: &mut [u8]) {
        data.fill(0xff);
        if !aligned_dword_or_qword(offset, data.len()) {
            return;
        }
        for (i, chunk) in data.chunks_exact_mut(4).enumerate() {
            let at = offset + 4 * i as u64;
            if let Some(q) = self.pending.get((at / 8) as usize) {
                let dword = (q >> ((at % 8) * 8)) as u32;
                chunk.copy_from_slice(&dword.to_le_bytes());
            }
        }
    }

    /// Fires `vector`: sends its message now, or marks it pending while it is masked or
    /// MSI-X is off. Vectors beyond the table are dropped.
    pub fn trigger(&mut self, vector: u16, sink: &dyn MsiInterrupt) {
        let v = usize::from(vector);
        let Some(entry) = self.entries.get(v) else {
            return;
        };
        if self.enabled && !self.function_masked && !entry.masked() {
            sink.signal(message_address(entry), entry.data);
        } else {
            self.pending[v / 64] |= 1 << (v % 64);
        }
    }

    pub fn is_pending(&self, vector: u16) -> bool {
        let v = usize::from(vector);
        self.pending
            .get(v / 64)
            .is_some_and(|q| q & (1 << (v % 64)) != 0)
    }

    /// Function reset: every entry masked and cleared, nothing pending, MSI-X off.
    pub fn reset(&mut self) {
        self.entries.fill(MsixEntry::reset());
        self.pending.fill(0);
        self.enabled = false;
        self.function_masked = false;
    }

    fn table_dword(&self, at: u64) -> Option<u32> {
        let entry = self.entries.get((at / MSIX_ENTRY_SIZE) as usize)?;
        Some(match at % MSIX_ENTRY_SIZE {
            0 => entry.address_lo,
            4 => entry.address_hi,
            8 => entry.data,
            _ => entry.control,
        })
    }

    fn deliver_if_pending(&mut self, v: usize, sink: &dyn MsiInterrupt) {
        let bit = 1u64 << (v % 64);
        let Some(entry) = self.entries.get(v) else {
            return;
        };
        if self.pending[v / 64] & bit != 0
            && self.enabled
            && !self.function_masked
            && !entry.masked()
        {
            self.pending[v / 64] &= !bit;
            sink.signal(message_address(entry), entry.data);
        }
    }
}

fn message_address(entry: &MsixEntry) -> u64 {
    u64::from(entry.address_hi) << 32 | u64::from(entry.address_lo)
}

fn aligned_dword_or_qword(offset: u64, len: usize) -> bool {
    matches!(len, 4 | 8) && offset % len as u64 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Sink(Mutex<Vec<(u64, u32)>>);
    impl MsiInterrupt for Sink {
        fn signal(&self, address: u64, data: u32) {
            self.0.lock().unwrap().push((address, data));
        }
    }

    fn program(m: &mut MsixState, v: u64, sink: &Sink) {
        let base = v * MSIX_ENTRY_SIZE;
        m.table_write(base, &0xfee0_0000u32.to_le_bytes(), sink);
        m.table_write(base + 4, &0u32.to_le_bytes(), sink);
        m.table_write(base + 8, &(0x40 + v as u32).to_le_bytes(), sink);
    }

    #[test]
    fn masking_pending_and_delivery_on_unmask() {
        let sink = Sink::default();
        let mut m = MsixState::new(3);
        let (body, _) = m.capability_body(0, 0x4000, 0, 0x5000);
        assert_eq!(u16::from_le_bytes([body[0], body[1]]), 2);
        program(&mut m, 1, &sink);
        // Disabled: pending, nothing sent.
        m.trigger(1, &sink);
        assert!(m.is_pending(1));
        let mut pba = [0u8; 8];
        m.pba_read(0, &mut pba);
        assert_eq!(u64::from_le_bytes(pba), 0b10);
        // Enable with the entry still masked: still pending.
        m.set_control(CONTROL_ENABLE, &sink);
        assert!(sink.0.lock().unwrap().is_empty());
        // Unmask the entry: delivered once, pending cleared.
        m.table_write(16 + 12, &0u32.to_le_bytes(), &sink);
        assert_eq!(*sink.0.lock().unwrap(), vec![(0xfee0_0000, 0x41)]);
        assert!(!m.is_pending(1));
        // Function mask holds it back, clearing it releases it.
        m.set_control(CONTROL_ENABLE | CONTROL_FUNCTION_MASK, &sink);
        m.trigger(1, &sink);
        assert_eq!(sink.0.lock().unwrap().len(), 1);
        m.set_control(CONTROL_ENABLE, &sink);
        assert_eq!(sink.0.lock().unwrap().len(), 2);
        m.trigger(1, &sink);
        assert_eq!(sink.0.lock().unwrap().len(), 3);
    }

    #[test]
    fn table_access_rules() {
        let sink = Sink::default();
        let mut m = MsixState::new(2);
        let mut d = [0u8; 4];
        m.table_read(12, &mut d);
        assert_eq!(u32::from_le_bytes(d), 1, "entries start masked");
        program(&mut m, 0, &sink);
        let mut q = [0u8; 8];
        m.table_read(0, &mut q);
        assert_eq!(u64::from_le_bytes(q), 0xfee0_0000);
        // Unaligned and byte accesses are ignored; out-of-table reads are all-ones.
        m.table_write(1, &[0; 4], &sink);
        m.table_write(0, &[0; 1], &sink);
        m.table_read(0, &mut d);
        assert_eq!(u32::from_le_bytes(d), 0xfee0_0000);
        m.table_read(32, &mut d);
        assert_eq!(d, [0xff; 4]);
        m.table_write(32, &[0; 4], &sink);
        // Triggering a vector beyond the table does nothing.
        m.trigger(7, &sink);
        assert!(!m.is_pending(7));
        m.reset();
        m.table_read(0, &mut d);
        assert_eq!(u32::from_le_bytes(d), 0);
    }
}

//! Reading a vCPU's CPUID table the way QEMU's x86 CPU properties present it.

use super::context::CpuidEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reg {
    Eax,
    Ebx,
    Ecx,
    Edx,
}

impl Reg {
    pub fn name(self) -> &'static str {
        match self {
            Reg::Eax => "EAX",
            Reg::Ebx => "EBX",
            Reg::Ecx => "ECX",
            Reg::Edx => "EDX",
        }
    }
}

/// One register of one CPUID leaf: QEMU's "feature word".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CpuidWord {
    pub leaf: u32,
    /// `None` for leaves that ignore ECX.
    pub subleaf: Option<u32>,
    pub reg: Reg,
}

impl CpuidWord {
    pub const fn new(leaf: u32, subleaf: Option<u32>, reg: Reg) -> Self {
        CpuidWord { leaf, subleaf, reg }
    }
}

/// A vCPU's CPUID table.
#[derive(Debug, Clone, Default)]
pub struct Cpuid(pub Vec<CpuidEntry>);

impl Cpuid {
    fn entry(&self, leaf: u32, subleaf: u32) -> Option<&CpuidEntry> {
        // KVM stores leaves without sub-leaves with index 0.
        self.0
            .iter()
            .find(|e| e.function == leaf && e.index == subleaf)
    }

    /// A register, or 0 for a leaf the table lacks (which the guest reads as zeroes too).
    pub fn reg(&self, leaf: u32, subleaf: u32, reg: Reg) -> u32 {
        self.entry(leaf, subleaf).map_or(0, |e| match reg {
            Reg::Eax => e.eax,
            Reg::Ebx => e.ebx,
            Reg::Ecx => e.ecx,
            Reg::Edx => e.edx,
        })
    }

    pub fn word(&self, w: CpuidWord) -> u32 {
        self.reg(w.leaf, w.subleaf.unwrap_or(0), w.reg)
    }

    /// The vendor string of leaf 0 (EBX, EDX, ECX).
    pub fn vendor(&self) -> String {
        let mut bytes = Vec::with_capacity(12);
        for r in [Reg::Ebx, Reg::Edx, Reg::Ecx] {
            bytes.extend_from_slice(&self.reg(0, 0, r).to_le_bytes());
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Leaf 1 EAX as QEMU's `family`, `model` and `stepping` read it.
    pub fn signature(&self) -> (u32, u32, u32) {
        let eax = self.reg(1, 0, Reg::Eax);
        let mut family = (eax >> 8) & 0xf;
        if family == 0xf {
            family += (eax >> 20) & 0xff;
        }
        let model = ((eax >> 4) & 0xf) | ((eax >> 12) & 0xf0);
        (family, model, eax & 0xf)
    }

    /// The brand string of leaves 0x80000002..4 (`model-id`), without its NUL padding.
    pub fn brand(&self) -> String {
        let mut bytes = Vec::with_capacity(48);
        for leaf in 0x8000_0002..=0x8000_0004u32 {
            for r in [Reg::Eax, Reg::Ebx, Reg::Ecx, Reg::Edx] {
                bytes.extend_from_slice(&self.reg(leaf, 0, r).to_le_bytes());
            }
        }
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_fields() {
        let le = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let mut entries = vec![
            CpuidEntry {
                function: 0,
                ebx: le(b"Auth"),
                edx: le(b"enti"),
                ecx: le(b"cAMD"),
                ..Default::default()
            },
            // qemu64: family 15, model 107, stepping 1.
            CpuidEntry {
                function: 1,
                eax: 0x0006_0fb1,
                ..Default::default()
            },
        ];
        let brand = b"QEMU Virtual CPU version 2.5+\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        for (i, chunk) in brand.chunks(16).enumerate() {
            entries.push(CpuidEntry {
                function: 0x8000_0002 + i as u32,
                eax: le(&chunk[0..]),
                ebx: le(&chunk[4..]),
                ecx: le(&chunk[8..]),
                edx: le(&chunk[12..]),
                ..Default::default()
            });
        }
        let c = Cpuid(entries);
        assert_eq!(c.vendor(), "AuthenticAMD");
        assert_eq!(c.signature(), (15, 107, 1));
        assert_eq!(c.brand(), "QEMU Virtual CPU version 2.5+");
        assert_eq!(c.reg(7, 0, Reg::Ebx), 0);
    }
}

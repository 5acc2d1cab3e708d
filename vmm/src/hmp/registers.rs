//! The FPU and SSE part of QEMU's register dump (`cpu_dump_state` with `CPU_DUMP_FPU`),
//! from KVM_GET_FPU.

use std::fmt::Write;

use kvm_bindings::{kvm_fpu, kvm_xsave};

/// The x87/SSE state in an XSAVE area's legacy region, as a `kvm_fpu`.
pub fn fpu_from_xsave(x: &kvm_xsave) -> kvm_fpu {
    let mut bytes = [0u8; 512];
    for (i, w) in x.region.iter().take(128).enumerate() {
        bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let mut fpu = kvm_fpu {
        fcw: u16_at(0),
        fsw: u16_at(2),
        ftwx: bytes[4],
        last_opcode: u16_at(6),
        mxcsr: u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]),
        ..Default::default()
    };
    for i in 0..8 {
        fpu.fpr[i].copy_from_slice(&bytes[32 + i * 16..48 + i * 16]);
    }
    for i in 0..16 {
        fpu.xmm[i].copy_from_slice(&bytes[160 + i * 16..176 + i * 16]);
    }
    fpu
}

/// `FCW=… FSW=… [ST=n] FTW=… MXCSR=…`, the eight FPRs and the XMM registers (16 when
/// executing 64-bit code, else 8).
pub fn fpu_dump(fpu: &kvm_fpu, code64: bool) -> String {
    let mut out = String::new();
    let top = (fpu.fsw >> 11) & 7;
    let _ = writeln!(
        out,
        "FCW={:04x} FSW={:04x} [ST={}] FTW={:02x} MXCSR={:08x}",
        fpu.fcw, fpu.fsw, top, fpu.ftwx, fpu.mxcsr
    );
    for (i, r) in fpu.fpr.iter().enumerate() {
        let mut low = [0u8; 8];
        low.copy_from_slice(&r[..8]);
        let high = u16::from_le_bytes([r[8], r[9]]);
        let _ = write!(out, "FPR{i}={:016x} {high:04x}", u64::from_le_bytes(low));
        out.push(if i & 1 == 1 { '\n' } else { ' ' });
    }
    let count = if code64 { 16 } else { 8 };
    for (i, x) in fpu.xmm.iter().take(count).enumerate() {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&x[..8]);
        hi.copy_from_slice(&x[8..]);
        let _ = write!(
            out,
            "XMM{i:02}={:016x} {:016x}",
            u64::from_le_bytes(hi),
            u64::from_le_bytes(lo)
        );
        out.push(if i & 1 == 1 { '\n' } else { ' ' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_state_as_qemu_prints_it() {
        let fpu = kvm_fpu {
            fcw: 0x37f,
            mxcsr: 0x1f80,
            ..Default::default()
        };
        let d = fpu_dump(&fpu, true);
        assert!(d.starts_with(
            "FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80\n\
             FPR0=0000000000000000 0000 FPR1=0000000000000000 0000\n"
        ));
        assert!(d.ends_with(
            "XMM14=0000000000000000 0000000000000000 XMM15=0000000000000000 0000000000000000\n"
        ));
        assert_eq!(fpu_dump(&fpu, false).lines().count(), 1 + 4 + 4);
    }
}

//! `x /i` and `xp /i`: x86 disassembly laid out as QEMU's monitor prints it (its Capstone
//! back end in AT&T syntax): address, up to 8 code bytes, mnemonic padded to 8 columns,
//! operands; longer instructions continue their bytes on the next line.

use std::fmt::Write;

use iced_x86::{
    Decoder, DecoderOptions, Formatter, FormatterOutput, FormatterTextKind, GasFormatter,
    Instruction, Mnemonic, OpKind, Register,
};

/// How many code bytes one line shows.
const SPLIT: usize = 8;
/// Bytes QEMU reads ahead per step; an x86 instruction is at most 15 bytes.
const MAX_INSN: usize = 15;

/// The code size the CPU runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSize {
    Bits16,
    Bits32,
    Bits64,
}

impl CodeSize {
    fn bitness(self) -> u32 {
        match self {
            CodeSize::Bits16 => 16,
            CodeSize::Bits32 => 32,
            CodeSize::Bits64 => 64,
        }
    }
}

/// Collects the formatter's output as plain text, noting where the mnemonic ends.
#[derive(Default)]
struct Out {
    text: String,
    mnemonic_end: Option<usize>,
}

impl FormatterOutput for Out {
    fn write(&mut self, text: &str, kind: FormatterTextKind) {
        self.text.push_str(text);
        if kind == FormatterTextKind::Mnemonic {
            self.mnemonic_end = Some(self.text.len());
        }
    }
}

fn formatter() -> GasFormatter {
    let mut f = GasFormatter::new();
    let o = f.options_mut();
    o.set_space_after_operand_separator(true);
    o.set_gas_space_after_memory_operand_comma(true);
    o.set_gas_show_mnemonic_size_suffix(true);
    o.set_always_show_scale(false);
    o.set_show_zero_displacements(false);
    o.set_small_hex_numbers_in_decimal(true);
    o.set_hex_prefix("0x");
    o.set_uppercase_hex(false);
    o.set_branch_leading_zeros(false);
    o.set_displacement_leading_zeros(false);
    o.set_leading_zeros(false);
    o.set_rip_relative_addresses(true);
    o.set_show_branch_size(false);
    o.set_signed_immediate_operands(false);
    o.set_signed_memory_displacements(true);
    f
}

/// Splits the formatter's text into Capstone's mnemonic (prefixes included) and operands.
fn split_insn(out: &Out) -> (String, String) {
    let end = out.mnemonic_end.unwrap_or(out.text.len());
    let mnemonic = out.text[..end].trim().to_string();
    let ops = out.text[end..].trim().to_string();
    (mnemonic, ops)
}

/// Capstone prints an immediate in hex from 10 up (`$0xd`), decimal below, and negative
/// values of arithmetic instructions as `-0x..`; logical ones show the operand-size bits.
fn fmt_imm(v: i64) -> String {
    if v < 0 {
        let m = v.unsigned_abs();
        if m > 9 {
            format!("-{m:#x}")
        } else {
            format!("-{m}")
        }
    } else if v > 9 {
        format!("{v:#x}")
    } else {
        format!("{v}")
    }
}

fn fmt_uimm(v: u64) -> String {
    if v > 9 {
        format!("{v:#x}")
    } else {
        format!("{v}")
    }
}

/// Whether Capstone prints this instruction's immediate as a signed number.
fn signed_imm(ins: &Instruction) -> bool {
    !matches!(
        ins.mnemonic(),
        Mnemonic::And
            | Mnemonic::Or
            | Mnemonic::Xor
            | Mnemonic::Test
            | Mnemonic::Enter
            | Mnemonic::Ret
            | Mnemonic::Retf
            | Mnemonic::Int
            | Mnemonic::In
            | Mnemonic::Out
            | Mnemonic::Bt
            | Mnemonic::Bts
            | Mnemonic::Btr
            | Mnemonic::Btc
            | Mnemonic::Rol
            | Mnemonic::Ror
            | Mnemonic::Rcl
            | Mnemonic::Rcr
            | Mnemonic::Shl
            | Mnemonic::Sal
            | Mnemonic::Shr
            | Mnemonic::Sar
            | Mnemonic::Shld
            | Mnemonic::Shrd
    )
}

/// The immediate operand text as Capstone prints it, for the operand at `index`.
fn imm_text(ins: &Instruction, index: u32) -> Option<String> {
    let kind = ins.op_kind(index);
    let (value, bits): (u64, u32) = match kind {
        OpKind::Immediate8 => (u64::from(ins.immediate8()), 8),
        OpKind::Immediate8_2nd => (u64::from(ins.immediate8_2nd()), 8),
        OpKind::Immediate16 => (u64::from(ins.immediate16()), 16),
        OpKind::Immediate32 => (u64::from(ins.immediate32()), 32),
        OpKind::Immediate64 => (ins.immediate64(), 64),
        OpKind::Immediate8to16 => (ins.immediate8to16() as u16 as u64, 16),
        OpKind::Immediate8to32 => (ins.immediate8to32() as u32 as u64, 32),
        OpKind::Immediate8to64 => (ins.immediate8to64() as u64, 64),
        OpKind::Immediate32to64 => (ins.immediate32to64() as u64, 64),
        _ => return None,
    };
    let signed = match bits {
        8 => value as u8 as i8 as i64,
        16 => value as u16 as i16 as i64,
        32 => value as u32 as i32 as i64,
        _ => value as i64,
    };
    let sign_extended = matches!(
        kind,
        OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
    );
    if sign_extended && signed_imm(ins) {
        Some(format!("${}", fmt_imm(signed)))
    } else {
        Some(format!("${}", fmt_uimm(value)))
    }
}

/// Formats one decoded instruction as Capstone's (mnemonic, operands).
fn capstone_text(ins: &Instruction, f: &mut GasFormatter) -> (String, String) {
    let mut out = Out::default();
    f.format(ins, &mut out);
    let (mut mnemonic, ops) = split_insn(&out);
    // Rebuild operands one by one where Capstone differs from GNU as.
    let mut parts = Vec::new();
    let count = f.operand_count(ins);
    for i in 0..count {
        let imm = f
            .get_instruction_operand(ins, i)
            .ok()
            .flatten()
            .and_then(|op| imm_text(ins, op));
        let text = match imm {
            Some(t) => t,
            None => {
                let mut s = String::new();
                match f.format_operand(ins, &mut OutStr(&mut s), i) {
                    Ok(()) => s,
                    Err(_) => return (mnemonic, ops),
                }
            }
        };
        if !text.is_empty() {
            parts.push(text);
        }
    }
    let mut ops = if parts.is_empty() {
        ops
    } else {
        parts.join(", ")
    };
    // A segment override that 64-bit mode ignores is still shown.
    if ins.segment_prefix() != Register::None && !ops.contains(':') {
        let seg = format!("%{:?}:", ins.segment_prefix()).to_lowercase();
        if let Some(pos) = ops.find('(') {
            let start = ops[..pos].rfind(' ').map_or(0, |p| p + 1);
            ops.insert_str(start, &seg);
        }
    }
    if matches!(
        ins.code(),
        iced_x86::Code::Nopw | iced_x86::Code::Nopd | iced_x86::Code::Nopq
    ) {
        return ("nop".into(), String::new());
    }
    // GNU as shortens `imul $i, %r, %r` to two operands; Capstone keeps three.
    if ins.mnemonic() == Mnemonic::Imul && ins.op_count() == 3 && parts.len() == 2 {
        ops = format!("{}, {}", ops, parts[1]);
    }
    match ins.mnemonic() {
        Mnemonic::Wait => return ("wait".into(), String::new()),
        Mnemonic::Leave => mnemonic = "leave".into(),
        Mnemonic::Xlatb => return ("xlatb".into(), String::new()),
        Mnemonic::Loope | Mnemonic::Loopne | Mnemonic::Loop | Mnemonic::Jrcxz | Mnemonic::Jecxz => {
            mnemonic = mnemonic.trim_end_matches(['q', 'l', 'w']).to_string();
            if mnemonic == "loopn" {
                mnemonic = "loopne".into();
            }
        }
        Mnemonic::Xchg
            if ins.op_count() == 2
                && ins.op_kind(0) == OpKind::Register
                && ins.op_kind(1) == OpKind::Register
                && parts.len() == 2 =>
        {
            ops = format!("{}, {}", parts[1], parts[0]);
        }
        _ => {}
    }
    ops = ops.replace("%st,", "%st(0),");
    if ops.ends_with("%st") {
        ops.push_str("(0)");
    }
    if is_setcc(ins.mnemonic()) {
        mnemonic = mnemonic.trim_end_matches('b').to_string();
        if mnemonic.ends_with("set") || mnemonic == "se" {
            mnemonic.push('b');
        }
    }
    if ins.mnemonic() == Mnemonic::Call && ins.op_kind(0) != OpKind::Register {
        // Capstone keeps the q suffix on 64-bit calls, direct ones included.
        if mnemonic == "call" && ins.code_size() == iced_x86::CodeSize::Code64 {
            mnemonic = "callq".into();
        }
    }
    (mnemonic, ops)
}

fn is_setcc(m: Mnemonic) -> bool {
    matches!(
        m,
        Mnemonic::Seta
            | Mnemonic::Setae
            | Mnemonic::Setb
            | Mnemonic::Setbe
            | Mnemonic::Sete
            | Mnemonic::Setg
            | Mnemonic::Setge
            | Mnemonic::Setl
            | Mnemonic::Setle
            | Mnemonic::Setne
            | Mnemonic::Setno
            | Mnemonic::Setnp
            | Mnemonic::Setns
            | Mnemonic::Seto
            | Mnemonic::Setp
            | Mnemonic::Sets
    )
}

struct OutStr<'a>(&'a mut String);

impl FormatterOutput for OutStr<'_> {
    fn write(&mut self, text: &str, _kind: FormatterTextKind) {
        self.0.push_str(text);
    }
}

/// Disassembles `count` instructions from `pc`, reading code bytes with `read` (which
/// fills the buffer and returns false for unreadable memory, whose bytes then read as 0).
pub fn disassemble(
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
    mut pc: u64,
    count: usize,
    size: CodeSize,
) -> String {
    let mut out = String::new();
    let mut f = formatter();
    let mut buf = [0u8; MAX_INSN];
    for _ in 0..count {
        if !read(pc, &mut buf) {
            // Read what can be read byte by byte; the rest stays zero.
            buf = [0u8; MAX_INSN];
            for (i, b) in buf.iter_mut().enumerate() {
                let mut one = [0u8];
                if read(pc.wrapping_add(i as u64), &mut one) {
                    *b = one[0];
                }
            }
        }
        let mut decoder = Decoder::with_ip(size.bitness(), &buf, pc, DecoderOptions::NONE);
        let ins = decoder.decode();
        let (len, mnemonic, ops) = if ins.is_invalid() {
            (1, ".byte".to_string(), format!("0x{:02x}", buf[0]))
        } else {
            let (m, o) = capstone_text(&ins, &mut f);
            (ins.len(), m, o)
        };
        dump_insn(&mut out, pc, &buf[..len], &mnemonic, &ops);
        pc = pc.wrapping_add(len as u64);
    }
    out
}

/// One instruction in QEMU's `cap_dump_insn` layout.
fn dump_insn(out: &mut String, addr: u64, bytes: &[u8], mnemonic: &str, ops: &str) {
    let _ = write!(out, "0x{addr:08x}: ");
    for b in bytes.iter().take(SPLIT) {
        let _ = write!(out, " {b:02x}");
    }
    if bytes.len() < SPLIT {
        out.push_str(&" ".repeat((SPLIT - bytes.len()) * 3));
    }
    let _ = writeln!(out, "  {mnemonic:<8} {ops}");
    let mut i = SPLIT;
    while i < bytes.len() {
        let _ = write!(out, "0x{:08x}: ", addr.wrapping_add(i as u64));
        for b in bytes.iter().skip(i).take(SPLIT) {
            let _ = write!(out, " {b:02x}");
        }
        out.push('\n');
        i += SPLIT;
    }
}

//! The monitor's integer expressions (`x /4x $rsp+8`, `p (1+2)*3`), evaluated as QEMU's
//! `get_expr` does: 64-bit wrapping arithmetic, `+ -` binding loosest, then `& | ^`, then
//! `* / %`, then unary `+ - ~`, parentheses, character constants, `$register` and numbers
//! in C notation (`0x1f`, `017`, `42`).

use crate::args::{is_space, skip_spaces};
use crate::target::{CpuRegs, R_CS, R_DS, R_ES, R_FS, R_GS, R_SS};

/// An expression error, with QEMU's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError(pub String);

/// Looks up `$name`; None for an unknown register.
pub type RegisterLookup<'a> = dyn FnMut(&str) -> Option<i64> + 'a;

struct Parser<'s, 'r, 'l> {
    s: &'s [u8],
    pos: usize,
    regs: &'r mut RegisterLookup<'l>,
}

impl Parser<'_, '_, '_> {
    fn peek(&self) -> u8 {
        self.s.get(self.pos).copied().unwrap_or(0)
    }

    fn skip_spaces(&mut self) {
        while is_space(self.peek()) {
            self.pos += 1;
        }
    }

    /// QEMU's `next()`: one character, then any spaces.
    fn next(&mut self) {
        if self.peek() != 0 {
            self.pos += 1;
            self.skip_spaces();
        }
    }

    fn unary(&mut self) -> Result<i64, ExprError> {
        match self.peek() {
            b'+' => {
                self.next();
                self.unary()
            }
            b'-' => {
                self.next();
                Ok(self.unary()?.wrapping_neg())
            }
            b'~' => {
                self.next();
                Ok(!self.unary()?)
            }
            b'(' => {
                self.next();
                let n = self.sum()?;
                if self.peek() != b')' {
                    return Err(ExprError("')' expected".into()));
                }
                self.next();
                Ok(n)
            }
            b'\'' => {
                self.pos += 1;
                if self.peek() == 0 {
                    return Err(ExprError("character constant expected".into()));
                }
                let n = i64::from(self.peek());
                self.pos += 1;
                if self.peek() != b'\'' {
                    return Err(ExprError("missing terminating ' character".into()));
                }
                self.next();
                Ok(n)
            }
            b'$' => {
                self.pos += 1;
                let start = self.pos;
                while matches!(self.peek(), b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.') {
                    self.pos += 1;
                }
                // QEMU keeps at most 127 characters of the name.
                let end = self.pos.min(start + 127);
                let name = String::from_utf8_lossy(&self.s[start..end]).into_owned();
                self.skip_spaces();
                (self.regs)(&name).ok_or_else(|| ExprError("unknown register".into()))
            }
            0 => Err(ExprError("unexpected end of expression".into())),
            c => {
                let (value, len) = strtoull(&self.s[self.pos..])?;
                if len == 0 {
                    return Err(ExprError(format!(
                        "invalid char '{}' in expression",
                        char::from(c)
                    )));
                }
                self.pos += len;
                self.skip_spaces();
                Ok(value as i64)
            }
        }
    }

    fn prod(&mut self) -> Result<i64, ExprError> {
        let mut val = self.unary()?;
        loop {
            let op = self.peek();
            if !matches!(op, b'*' | b'/' | b'%') {
                return Ok(val);
            }
            self.next();
            let val2 = self.unary()?;
            match op {
                b'*' => val = val.wrapping_mul(val2),
                _ if val2 == 0 => return Err(ExprError("division by zero".into())),
                b'/' => val = val.wrapping_div(val2),
                _ => val = val.wrapping_rem(val2),
            }
        }
    }

    fn logic(&mut self) -> Result<i64, ExprError> {
        let mut val = self.prod()?;
        loop {
            let op = self.peek();
            if !matches!(op, b'&' | b'|' | b'^') {
                return Ok(val);
            }
            self.next();
            let val2 = self.prod()?;
            match op {
                b'&' => val &= val2,
                b'|' => val |= val2,
                _ => val ^= val2,
            }
        }
    }

    fn sum(&mut self) -> Result<i64, ExprError> {
        let mut val = self.logic()?;
        loop {
            let op = self.peek();
            if !matches!(op, b'+' | b'-') {
                return Ok(val);
            }
            self.next();
            let val2 = self.logic()?;
            val = if op == b'+' {
                val.wrapping_add(val2)
            } else {
                val.wrapping_sub(val2)
            };
        }
    }
}

/// C's `strtoull(s, &end, 0)` on the start of `s` (leading spaces and a sign allowed):
/// the value and how many bytes it used (0: no number).
fn strtoull(s: &[u8]) -> Result<(u64, usize), ExprError> {
    let mut i = skip_spaces(s, 0);
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let (radix, digits_start) = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        (16, i + 2)
    } else if s.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = digits_start;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(j).and_then(|&c| char::from(c).to_digit(radix)) {
        match value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        j += 1;
    }
    if j == digits_start {
        return Ok((0, 0));
    }
    if overflow {
        return Err(ExprError("number too large".into()));
    }
    Ok((
        if negative {
            value.wrapping_neg()
        } else {
            value
        },
        j,
    ))
}

/// Evaluates the expression at the start of `s`; returns its value and the bytes consumed
/// (trailing spaces included), or QEMU's error text.
pub fn eval(s: &str, regs: &mut RegisterLookup<'_>) -> Result<(i64, usize), ExprError> {
    let mut p = Parser {
        s: s.as_bytes(),
        pos: 0,
        regs,
    };
    p.skip_spaces();
    let v = p.sum()?;
    Ok((v, p.pos))
}

/// QEMU's i386 monitor register names (`target_monitor_defs`), read from `r`.
pub fn x86_register(r: &CpuRegs, name: &str) -> Option<i64> {
    let gpr = |i: usize| Some(r.gpr[i] as i64);
    let seg = |i: usize, field: &str| {
        let s = &r.segs[i];
        match field {
            "" => Some(i64::from(s.selector)),
            // The limit is read as a signed 32-bit value.
            ".limit" => Some(i64::from(s.limit as i32)),
            ".base" => Some(s.base as i64),
            _ => None,
        }
    };
    match name {
        "eax" => gpr(0),
        "ecx" => gpr(1),
        "edx" => gpr(2),
        "ebx" => gpr(3),
        "esp" | "sp" => gpr(4),
        "ebp" | "fp" => gpr(5),
        "esi" => gpr(6),
        "edi" => gpr(7),
        "r8" => gpr(8),
        "r9" => gpr(9),
        "r10" => gpr(10),
        "r11" => gpr(11),
        "r12" => gpr(12),
        "r13" => gpr(13),
        "r14" => gpr(14),
        "r15" => gpr(15),
        "eflags" => Some(r.rflags as i64),
        "eip" => Some(r.rip as i64),
        "pc" => Some(r.rip.wrapping_add(r.segs[R_CS].base) as i64),
        _ => {
            let (base, field) = match name.find('.') {
                Some(i) => (&name[..i], &name[i..]),
                None => (name, ""),
            };
            let index = match base {
                "cs" => R_CS,
                "ds" => R_DS,
                "es" => R_ES,
                "ss" => R_SS,
                "fs" => R_FS,
                "gs" => R_GS,
                _ => return None,
            };
            seg(index, field)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Result<i64, String> {
        let regs = CpuRegs {
            gpr: [
                0x11ea60, 0, 0, 0, 0x122e20, 0xb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8,
            ],
            rip: 0x10a352,
            ..Default::default()
        };
        let mut lookup = |n: &str| x86_register(&regs, n);
        eval(s, &mut lookup).map(|(v, _)| v).map_err(|e| e.0)
    }

    #[test]
    fn precedence_and_operators() {
        assert_eq!(ev("0x10+2"), Ok(0x12));
        assert_eq!(ev("2+3*4"), Ok(14));
        assert_eq!(ev("(2+3)*4"), Ok(20));
        // & | ^ bind tighter than + and -.
        assert_eq!(ev("1+2&3"), Ok(3));
        assert_eq!(ev("1|2+4"), Ok(7));
        assert_eq!(ev("7/2"), Ok(3));
        assert_eq!(ev("-7/2"), Ok(-3));
        assert_eq!(ev("-7%3"), Ok(-1));
        assert_eq!(ev("~0"), Ok(-1));
        assert_eq!(ev("--5"), Ok(5));
        assert_eq!(ev("'a'"), Ok(97));
        assert_eq!(ev("0777"), Ok(0o777));
        assert_eq!(ev("0xffffffffffffffff"), Ok(-1));
        assert_eq!(ev("0x8000000000000000/-1"), Ok(i64::MIN));
    }

    #[test]
    fn registers() {
        assert_eq!(ev("$eax"), Ok(0x11ea60));
        assert_eq!(ev("$pc"), Ok(0x10a352));
        assert_eq!(ev("$sp + 8"), Ok(0x122e28));
        assert_eq!(ev("$fp"), Ok(0xb));
        assert_eq!(ev("$r15"), Ok(8));
        assert_eq!(ev("$rax"), Err("unknown register".into()));
        assert_eq!(ev("$"), Err("unknown register".into()));
    }

    #[test]
    fn errors_as_qemu() {
        assert_eq!(ev("1/0"), Err("division by zero".into()));
        assert_eq!(ev("1%0"), Err("division by zero".into()));
        assert_eq!(ev("1 +"), Err("unexpected end of expression".into()));
        assert_eq!(ev(""), Err("unexpected end of expression".into()));
        assert_eq!(ev("(1"), Err("')' expected".into()));
        assert_eq!(ev("'ab'"), Err("missing terminating ' character".into()));
        assert_eq!(ev("'"), Err("character constant expected".into()));
        assert_eq!(ev("tmp"), Err("invalid char 't' in expression".into()));
        assert_eq!(ev("99999999999999999999"), Err("number too large".into()));
    }

    #[test]
    fn stops_where_the_number_ends() {
        let mut none = |_: &str| None;
        assert_eq!(eval("0x", &mut none), Ok((0, 1)));
        assert_eq!(eval("08", &mut none), Ok((0, 1)));
        assert_eq!(eval("4xb", &mut none), Ok((4, 1)));
        assert_eq!(eval(" 12  34", &mut none), Ok((12, 5)));
    }
}

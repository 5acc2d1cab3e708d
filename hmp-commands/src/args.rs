//! Argument parsing as QEMU's `monitor_parse_arguments`, driven by a command's `args_type`
//! (`name:type` items): `s`/`F`/`B` words or quoted strings, `S` the rest of the line, `O`
//! option lists, `i`/`l`/`M` expressions (`i` is 32-bit, `M` is MiB), `o` sizes with
//! suffixes, `b` on/off, `-x` flags (`-xs` with a value), `/` formats, `?` optional and `.`
//! dot-introduced arguments.

use std::collections::BTreeMap;

use crate::expr::{self, RegisterLookup};

/// One parsed argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Str(String),
    Int(i64),
    Bool(bool),
    /// `/fmt`: count, format letter, size in bytes (-1: none, for `i`).
    Fmt {
        count: i64,
        format: u8,
        size: i64,
    },
}

/// Parsed arguments by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args(pub BTreeMap<String, Arg>);

impl Args {
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.0.get(key) {
            Some(Arg::Str(s)) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.0.get(key) {
            Some(Arg::Int(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.0.get(key), Some(Arg::Bool(true)))
    }
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.0.get(key) {
            Some(Arg::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    pub fn fmt(&self) -> (i64, u8, i64) {
        match self.0.get("fmt") {
            Some(Arg::Fmt {
                count,
                format,
                size,
            }) => (*count, *format, *size),
            _ => (1, b'x', 4),
        }
    }
}

/// The sticky `/fmt` defaults (QEMU's `default_fmt_format` and `default_fmt_size`), shared
/// by every monitor of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FmtDefaults {
    pub format: u8,
    pub size: i64,
}

impl Default for FmtDefaults {
    fn default() -> Self {
        FmtDefaults {
            format: b'x',
            size: 4,
        }
    }
}

pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The index of the first non-space byte of `s` at or after `p`.
pub(crate) fn skip_spaces(s: &[u8], mut p: usize) -> usize {
    while p < s.len() && is_space(s[p]) {
        p += 1;
    }
    p
}

/// QEMU's `get_str`: a word, or a double-quoted string with `\n \r \\ \' \"` escapes (at
/// most 1023 bytes kept). Returns None where QEMU fails.
pub(crate) fn get_str(s: &[u8], pos: &mut usize) -> Option<String> {
    const MAX: usize = 1023;
    let mut p = *pos;
    while p < s.len() && is_space(s[p]) {
        p += 1;
    }
    let mut out: Vec<u8> = Vec::new();
    if p >= s.len() {
        *pos = p;
        return None;
    }
    if s[p] == b'"' {
        p += 1;
        while p < s.len() && s[p] != b'"' {
            if s[p] == b'\\' {
                p += 1;
                let c = s.get(p).copied().unwrap_or(0);
                p += 1;
                let c = match c {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b'\\' | b'\'' | b'"' => c,
                    _ => {
                        *pos = p;
                        return None;
                    }
                };
                if out.len() < MAX {
                    out.push(c);
                }
            } else {
                if out.len() < MAX {
                    out.push(s[p]);
                }
                p += 1;
            }
        }
        if p >= s.len() {
            *pos = p;
            return None;
        }
        p += 1;
    } else {
        while p < s.len() && !is_space(s[p]) {
            if out.len() < MAX {
                out.push(s[p]);
            }
            p += 1;
        }
    }
    *pos = p;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `qemu_strtosz_MiB`: a size with an optional fraction and suffix (B, K, M, G, T, P, E;
/// none means MiB). Returns the value and the bytes used.
fn strtosz_mib(s: &[u8]) -> Option<(u64, usize)> {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let start = i;
    let hex = s.get(i) == Some(&b'0') && matches!(s.get(i + 1), Some(b'x' | b'X'));
    let (mantissa, mut j, fraction): (u64, usize, f64) = if hex {
        let mut j = i + 2;
        let mut v: u64 = 0;
        while let Some(d) = s.get(j).and_then(|&c| char::from(c).to_digit(16)) {
            v = v.checked_mul(16)?.checked_add(u64::from(d))?;
            j += 1;
        }
        if j == i + 2 {
            return None;
        }
        (v, j, 0.0)
    } else {
        let mut j = i;
        let mut v: u64 = 0;
        while let Some(d) = s.get(j).and_then(|&c| char::from(c).to_digit(10)) {
            v = v.checked_mul(10)?.checked_add(u64::from(d))?;
            j += 1;
        }
        let mut frac = 0.0;
        if s.get(j) == Some(&b'.') {
            let fs = j + 1;
            let mut k = fs;
            while s.get(k).is_some_and(u8::is_ascii_digit) {
                k += 1;
            }
            if k > fs {
                let text = std::str::from_utf8(&s[j..k]).ok()?;
                frac = format!("0{text}").parse::<f64>().ok()?;
                j = k;
            } else if j == start {
                return None;
            }
        }
        if j == start {
            return None;
        }
        (v, j, frac)
    };
    let unit: u64 = match s.get(j).map(u8::to_ascii_uppercase) {
        Some(b'B') => 1,
        Some(b'K') => 1 << 10,
        Some(b'M') => 1 << 20,
        Some(b'G') => 1 << 30,
        Some(b'T') => 1 << 40,
        Some(b'P') => 1 << 50,
        Some(b'E') => 1 << 60,
        _ => 0,
    };
    let unit = if unit == 0 {
        1 << 20
    } else {
        j += 1;
        unit
    };
    if fraction != 0.0 && unit == 1 {
        return None;
    }
    let whole = mantissa.checked_mul(unit)?;
    let extra = (fraction * unit as f64) as u64;
    Some((whole.checked_add(extra)?, j))
}

/// Splits `args_type` into (key, type spec) items.
pub fn arg_specs(args_type: &str) -> Vec<(&str, &str)> {
    args_type
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|item| item.split_once(':'))
        .collect()
}

/// Parses `line` (the text after the command name) against `args_type`. `name` is the
/// command's table name (aliases included), used in some messages. On failure, returns
/// the message lines QEMU prints (without the `Try "help …"` line).
pub fn parse(
    name: &str,
    args_type: &str,
    line: &str,
    defaults: &mut FmtDefaults,
    regs: &mut RegisterLookup<'_>,
) -> Result<Args, String> {
    let s = line.as_bytes();
    let mut p = 0usize;
    let mut args = Args::default();
    let specs = arg_specs(args_type);
    let mut idx = 0;
    while idx < specs.len() {
        let (key, spec) = specs[idx];
        idx += 1;
        let sb = spec.as_bytes();
        let c = sb.first().copied().unwrap_or(0);
        let modifier = sb.get(1).copied().unwrap_or(0);
        match c {
            b'F' | b'B' | b's' => {
                p = skip_spaces(s, p);
                if modifier == b'?' && p >= s.len() {
                    continue;
                }
                match get_str(s, &mut p) {
                    Some(v) => {
                        args.0.insert(key.into(), Arg::Str(v));
                    }
                    None => {
                        return Err(match c {
                            b'F' => format!("{name}: filename expected\n"),
                            b'B' => format!("{name}: block device name expected\n"),
                            _ => format!("{name}: string expected\n"),
                        })
                    }
                }
            }
            b'O' => {
                p = skip_spaces(s, p);
                if p >= s.len() {
                    continue;
                }
                match get_str(s, &mut p) {
                    Some(v) => {
                        args.0.insert(key.into(), Arg::Str(v));
                    }
                    None => return Err(String::new()),
                }
            }
            b'/' => {
                p = skip_spaces(s, p);
                let (count, format, size);
                if s.get(p) == Some(&b'/') {
                    p += 1;
                    let mut n: i64 = 1;
                    if s.get(p).is_some_and(u8::is_ascii_digit) {
                        n = 0;
                        while let Some(&d) = s.get(p).filter(|c| c.is_ascii_digit()) {
                            // QEMU's int arithmetic wraps.
                            n = (n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'))) as i32
                                as i64;
                            p += 1;
                        }
                    }
                    let mut sz: i64 = -1;
                    let mut fm: i32 = -1;
                    loop {
                        match s.get(p) {
                            Some(&f @ (b'o' | b'd' | b'u' | b'x' | b'i' | b'c')) => {
                                fm = i32::from(f);
                                p += 1;
                            }
                            Some(b'b') => {
                                sz = 1;
                                p += 1;
                            }
                            Some(b'h') => {
                                sz = 2;
                                p += 1;
                            }
                            Some(b'w') => {
                                sz = 4;
                                p += 1;
                            }
                            Some(b'g' | b'L') => {
                                sz = 8;
                                p += 1;
                            }
                            _ => break,
                        }
                    }
                    if let Some(&ch) = s.get(p) {
                        if !is_space(ch) {
                            return Err(format!("invalid char in format: '{}'\n", char::from(ch)));
                        }
                    }
                    let f = if fm < 0 { defaults.format } else { fm as u8 };
                    if f != b'i' {
                        if sz < 0 {
                            sz = defaults.size;
                        }
                        defaults.size = sz;
                    }
                    defaults.format = f;
                    count = n;
                    format = f;
                    size = sz;
                } else {
                    count = 1;
                    format = defaults.format;
                    size = if format != b'i' { defaults.size } else { -1 };
                }
                args.0.insert(
                    key.into(),
                    Arg::Fmt {
                        count,
                        format,
                        size,
                    },
                );
            }
            b'i' | b'l' | b'M' => {
                p = skip_spaces(s, p);
                if modifier == b'?' && p >= s.len() {
                    continue;
                }
                if modifier == b'.' {
                    if s.get(p) == Some(&b'.') {
                        p += 1;
                        p = skip_spaces(s, p);
                    } else {
                        continue;
                    }
                }
                let (val, used) = match expr::eval(&line[p..], regs) {
                    Ok(v) => v,
                    Err(e) => return Err(format!("{}\n", e.0)),
                };
                p += used;
                let mut val = val;
                if c == b'i' && (val >> 32) & 0xffff_ffff != 0 {
                    return Err(format!(
                        "'{name}' has failed: integer is for 32-bit values\n"
                    ));
                } else if c == b'M' {
                    if val < 0 {
                        return Err("enter a positive value\n".into());
                    }
                    val = val.wrapping_mul(1 << 20);
                }
                args.0.insert(key.into(), Arg::Int(val));
            }
            b'o' => {
                p = skip_spaces(s, p);
                if modifier == b'?' && p >= s.len() {
                    continue;
                }
                match strtosz_mib(&s[p..]) {
                    Some((v, used)) if v <= i64::MAX as u64 => {
                        p += used;
                        args.0.insert(key.into(), Arg::Int(v as i64));
                    }
                    _ => return Err("invalid size\n".into()),
                }
            }
            b'b' => {
                p = skip_spaces(s, p);
                let beg = p;
                while p < s.len() && s[p].is_ascii_graphic() {
                    p += 1;
                }
                let v = match &s[beg..p] {
                    b"on" => true,
                    b"off" => false,
                    _ => return Err("Expected 'on' or 'off'\n".into()),
                };
                args.0.insert(key.into(), Arg::Bool(v));
            }
            b'-' => {
                let letter = modifier;
                let with_value = sb.get(2) == Some(&b's');
                let tmp = p;
                p = skip_spaces(s, p);
                if s.get(p) == Some(&b'-') {
                    p += 1;
                    let given = s.get(p).copied().unwrap_or(0);
                    if given != letter {
                        // Another option later in the list? Then this one is absent.
                        let rest: String = specs[idx..]
                            .iter()
                            .map(|(k, t)| format!("{k}:{t},"))
                            .collect();
                        let rest = format!("{}{rest}", &spec[2.min(spec.len())..]);
                        let opt = format!("-{}", char::from(given));
                        if given == 0 || !rest.contains(&opt) {
                            return Err(format!(
                                "{name}: unsupported option -{}\n",
                                if given == 0 {
                                    String::new()
                                } else {
                                    char::from(given).to_string()
                                }
                            ));
                        }
                        p = tmp;
                    } else if with_value {
                        p += 1;
                        p = skip_spaces(s, p);
                        match get_str(s, &mut p) {
                            Some(v) => {
                                args.0.insert(key.into(), Arg::Str(v));
                            }
                            None => {
                                return Err(format!(
                                    "{name}: value expected for -{}\n",
                                    char::from(letter)
                                ))
                            }
                        }
                    } else {
                        p += 1;
                        args.0.insert(key.into(), Arg::Bool(true));
                    }
                }
            }
            b'S' => {
                p = skip_spaces(s, p);
                if modifier == b'?' && p >= s.len() {
                    continue;
                }
                if p >= s.len() {
                    return Err(format!("{name}: string expected\n"));
                }
                args.0.insert(key.into(), Arg::Str(line[p..].to_string()));
                p = s.len();
            }
            other => {
                return Err(format!("{name}: unknown type '{}'\n", char::from(other)));
            }
        }
    }
    p = skip_spaces(s, p);
    if p < s.len() {
        return Err(format!(
            "{name}: extraneous characters at the end of line\n"
        ));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(name: &str, at: &str, line: &str, d: &mut FmtDefaults) -> Result<Args, String> {
        let mut none = |_: &str| None;
        parse(name, at, line, d, &mut none)
    }

    #[test]
    fn formats_are_sticky() {
        let mut d = FmtDefaults::default();
        let a = parse_with("xp", "fmt:/,addr:l", "/4xb 0x10", &mut d).unwrap();
        assert_eq!(a.fmt(), (4, b'x', 1));
        assert_eq!(a.int("addr"), Some(0x10));
        let a = parse_with("xp", "fmt:/,addr:l", "/2 0", &mut d).unwrap();
        assert_eq!(a.fmt(), (2, b'x', 1));
        let a = parse_with("xp", "fmt:/,addr:l", "/3i 0", &mut d).unwrap();
        assert_eq!(a.fmt(), (3, b'i', -1));
        let a = parse_with("xp", "fmt:/,addr:l", "0", &mut d).unwrap();
        assert_eq!(a.fmt(), (1, b'i', -1));
        let a = parse_with("xp", "fmt:/,addr:l", "/x 0", &mut d).unwrap();
        assert_eq!(a.fmt(), (1, b'x', 1));
        let a = parse_with("xp", "fmt:/,addr:l", "/g 0", &mut d).unwrap();
        assert_eq!(a.fmt(), (1, b'x', 8));
    }

    #[test]
    fn format_errors() {
        let mut d = FmtDefaults::default();
        assert_eq!(
            parse_with("xp", "fmt:/,addr:l", "/4q 0", &mut d),
            Err("invalid char in format: 'q'\n".into())
        );
        assert_eq!(
            parse_with("xp", "fmt:/,addr:l", "/4xb", &mut d),
            Err("unexpected end of expression\n".into())
        );
        assert_eq!(
            parse_with("x", "fmt:/,addr:l", "0x10 0x20", &mut d),
            Err("x: extraneous characters at the end of line\n".into())
        );
        assert_eq!(
            parse_with("x", "fmt:/,addr:l", "/4 xb 0", &mut d),
            Err("invalid char 'x' in expression\n".into())
        );
    }

    #[test]
    fn strings_flags_and_sizes() {
        let mut d = FmtDefaults::default();
        let a = parse_with(
            "qom-set",
            "json:-j,path:s,property:s,value:S",
            "-j /machine usb  true  x",
            &mut d,
        )
        .unwrap();
        assert!(a.flag("json"));
        assert_eq!(a.str("value"), Some("true  x"));
        let a = parse_with(
            "memsave",
            "val:l,size:i,filename:s",
            "0 16 \"/tmp/f\"",
            &mut d,
        )
        .unwrap();
        assert_eq!(a.str("filename"), Some("/tmp/f"));
        assert_eq!(
            parse_with(
                "memsave",
                "val:l,size:i,filename:s",
                "0 4096 /tmp/f",
                &mut d
            ),
            Err("invalid char 't' in expression\n".into())
        );
        assert_eq!(
            parse_with("cpu", "index:i", "-1", &mut d),
            Err("'cpu' has failed: integer is for 32-bit values\n".into())
        );
        let a = parse_with("balloon", "value:M", "512", &mut d).unwrap();
        assert_eq!(a.int("value"), Some(512 << 20));
        assert_eq!(
            parse_with("balloon", "value:M", "-1", &mut d),
            Err("enter a positive value\n".into())
        );
        let a = parse_with("block_resize", "device:B,size:o", "d 1G", &mut d).unwrap();
        assert_eq!(a.int("size"), Some(1 << 30));
        let a = parse_with("block_resize", "device:B,size:o", "d 2", &mut d).unwrap();
        assert_eq!(a.int("size"), Some(2 << 20));
        assert_eq!(
            parse_with("block_resize", "device:B,size:o", "d", &mut d),
            Err("invalid size\n".into())
        );
        assert_eq!(
            parse_with("registers", "cpustate_all:-a,vcpu:i?", "-b", &mut d),
            Err("registers: unsupported option -b\n".into())
        );
        let a = parse_with("info registers", "cpustate_all:-a,vcpu:i?", "1", &mut d).unwrap();
        assert_eq!(a.int("vcpu"), Some(1));
        assert!(!a.flag("cpustate_all"));
        assert_eq!(
            parse_with("set_link", "name:s,up:b", "n maybe", &mut d),
            Err("Expected 'on' or 'off'\n".into())
        );
        assert_eq!(
            parse_with("qom-get", "path:s,property:s", "", &mut d),
            Err("qom-get: string expected\n".into())
        );
    }
}

//! Number parsing exactly as QEMU's `util/cutils.c` does it: `qemu_strtosz` (sizes with k/M/G/T/P/E
//! suffixes and fractions), `qemu_strtou64`/`qemu_strtoi64` (C `strtoull`/`strtoll` semantics) and
//! `qemu_strtoi`.
//!
//! Every function takes the whole string and fails unless it is consumed completely, like the
//! QEMU callers that pass `endptr == NULL`.

/// Why a conversion failed: QEMU's `-EINVAL` and `-ERANGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    Invalid,
    Range,
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The result of C's `strtoull`: the value (wrapped/saturated as C does), how many bytes were
/// consumed (0 = no conversion), and whether it overflowed (`errno == ERANGE`).
struct StrtoullResult {
    value: u64,
    end: usize,
    overflow: bool,
    negative: bool,
}

fn digit_value(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u32),
        b'a'..=b'z' => Some((b - b'a') as u32 + 10),
        b'A'..=b'Z' => Some((b - b'A') as u32 + 10),
        _ => None,
    }
}

/// C `strtoull(s, &end, base)` for base 0, 10 or 16.
fn c_strtoull(s: &[u8], base: u32) -> StrtoullResult {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut base = base;
    let hex_prefix = i + 1 < s.len()
        && s[i] == b'0'
        && (s[i + 1] == b'x' || s[i + 1] == b'X')
        && s.get(i + 2)
            .and_then(|&b| digit_value(b))
            .is_some_and(|d| d < 16);
    if (base == 0 || base == 16) && hex_prefix {
        base = 16;
        i += 2;
    } else if base == 0 {
        base = if i < s.len() && s[i] == b'0' { 8 } else { 10 };
    }
    let start = i;
    let mut value: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let Some(d) = digit_value(s[i]) else { break };
        if d >= base {
            break;
        }
        match value
            .checked_mul(base as u64)
            .and_then(|v| v.checked_add(d as u64))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return StrtoullResult {
            value: 0,
            end: 0,
            overflow: false,
            negative,
        };
    }
    if overflow {
        value = u64::MAX;
    } else if negative {
        value = value.wrapping_neg();
    }
    StrtoullResult {
        value,
        end: i,
        overflow,
        negative,
    }
}

/// `qemu_strtou64(s, NULL, base, &v)`: like `strtoull`, so "-1" is accepted and wraps.
pub fn strtou64(s: &str, base: u32) -> Result<u64, NumError> {
    let r = c_strtoull(s.as_bytes(), base);
    if r.end == 0 {
        return Err(NumError::Invalid);
    }
    if r.end != s.len() {
        return Err(NumError::Invalid);
    }
    if r.overflow {
        return Err(NumError::Range);
    }
    Ok(r.value)
}

/// `qemu_strtoi64(s, NULL, base, &v)` (C `strtoll`).
pub fn strtoi64(s: &str, base: u32) -> Result<i64, NumError> {
    let r = c_strtoull(s.as_bytes(), base);
    if r.end == 0 || r.end != s.len() {
        return Err(NumError::Invalid);
    }
    // Recover the magnitude: c_strtoull negated it already.
    let magnitude = if r.negative {
        r.value.wrapping_neg()
    } else {
        r.value
    };
    if r.overflow {
        return Err(NumError::Range);
    }
    if r.negative {
        if magnitude > i64::MAX as u64 + 1 {
            return Err(NumError::Range);
        }
        Ok((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).map_err(|_| NumError::Range)
    }
}

/// `qemu_strtoi(s, NULL, 10, &v)` (C `strtol` narrowed to `int`).
pub fn strtoi32(s: &str) -> Result<i32, NumError> {
    let v = strtoi64(s, 10)?;
    i32::try_from(v).map_err(|_| NumError::Range)
}

/// QEMU's `parse_uint()`: `strtoull` that rejects a leading minus with `-ERANGE`.
/// Returns the value, the end offset (0 = nothing parsed) and the error, if any.
fn parse_uint(s: &[u8], base: u32) -> (u64, usize, Option<NumError>) {
    let r = c_strtoull(s, base);
    if r.overflow {
        return (u64::MAX, r.end, Some(NumError::Range));
    }
    if r.end == 0 {
        return (0, 0, Some(NumError::Invalid));
    }
    let first = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    if s.get(first) == Some(&b'-') {
        return (0, r.end, Some(NumError::Range));
    }
    (r.value, r.end, None)
}

fn suffix_mul(c: Option<u8>, unit: u64) -> Option<u64> {
    let exp = match c?.to_ascii_uppercase() {
        b'B' => 0,
        b'K' => 1,
        b'M' => 2,
        b'G' => 3,
        b'T' => 4,
        b'P' => 5,
        b'E' => 6,
        _ => return None,
    };
    Some(unit.pow(exp))
}

/// C `strtod` on a string already known to contain no exponent character: returns the value and
/// the number of bytes consumed (0 = no conversion).
fn c_strtod_no_exponent(s: &[u8]) -> (f64, usize) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let num_start = i;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let rest = &s[i..];
    // strtod also knows "inf", "infinity" and "nan": non-finite, which the caller rejects.
    let lower: Vec<u8> = rest
        .iter()
        .take(8)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    if lower.starts_with(b"inf") || lower.starts_with(b"nan") {
        return (f64::NAN, i + 3);
    }
    // Hexadecimal floats ("0x1.8") are parsed by strtod too.
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] == b'x' || rest[1] == b'X') {
        let mut j = 2;
        let mut value = 0f64;
        let mut any = false;
        while j < rest.len() && rest[j].is_ascii_hexdigit() {
            value = value * 16.0 + digit_value(rest[j]).unwrap_or(0) as f64;
            any = true;
            j += 1;
        }
        if j < rest.len() && rest[j] == b'.' {
            j += 1;
            let mut scale = 1.0 / 16.0;
            while j < rest.len() && rest[j].is_ascii_hexdigit() {
                value += digit_value(rest[j]).unwrap_or(0) as f64 * scale;
                scale /= 16.0;
                any = true;
                j += 1;
            }
        }
        if !any {
            // "0x" without digits: strtod parses just the "0".
            let neg = s[num_start] == b'-';
            return (if neg { -0.0 } else { 0.0 }, i + 1);
        }
        let neg = s[num_start] == b'-';
        return (if neg { -value } else { value }, i + j);
    }
    let mut j = 0;
    let mut digits = 0;
    while j < rest.len() && rest[j].is_ascii_digit() {
        j += 1;
        digits += 1;
    }
    if j < rest.len() && rest[j] == b'.' {
        let mut k = j + 1;
        let mut frac_digits = 0;
        while k < rest.len() && rest[k].is_ascii_digit() {
            k += 1;
            frac_digits += 1;
        }
        if digits + frac_digits > 0 {
            j = k;
            digits += frac_digits;
        }
    }
    if digits == 0 {
        return (0.0, 0);
    }
    let text = std::str::from_utf8(&s[num_start..i + j]).unwrap_or("0");
    (text.parse::<f64>().unwrap_or(0.0), i + j)
}

/// QEMU's `do_strtosz()` with the whole string required (`end == NULL`).
/// `default_suffix` is `b'B'` for `qemu_strtosz`, `b'M'` for `qemu_strtosz_MiB`.
fn do_strtosz(s: &str, default_suffix: u8, unit: u64) -> Result<u64, NumError> {
    let bytes = s.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let (mut val, mut endptr, mut err) = parse_uint(bytes, 10);
    let mut valf: u64 = 0;

    let result: Result<u64, NumError> = 'out: {
        if err == Some(NumError::Range) {
            break 'out Err(NumError::Range);
        }
        if err.is_none() && val == 0 && matches!(at(endptr), Some(b'x' | b'X')) {
            // Input looks like hex; reparse, and insist on no fraction or suffix.
            let r = c_strtoull(bytes, 16);
            if r.end == 0 {
                endptr = 0;
                break 'out Err(NumError::Invalid);
            }
            if r.overflow {
                endptr = r.end;
                break 'out Err(NumError::Range);
            }
            val = r.value;
            endptr = r.end;
            if at(endptr) == Some(b'.') || suffix_mul(at(endptr), unit).is_some() {
                endptr = 0;
                break 'out Err(NumError::Invalid);
            }
        } else if at(endptr) == Some(b'.') || (endptr == 0 && bytes.contains(&b'.')) {
            // Input looks like a fraction.
            let mut fraction = 0.0f64;
            let mut ferr: Option<NumError> = err;
            if err.is_none()
                && at(endptr) == Some(b'.')
                && !at(endptr + 1).is_some_and(|b| b.is_ascii_digit())
            {
                endptr += 1;
            } else {
                // strtod on a copy cut at the first 'e' and the first 'E'.
                let copy = &bytes[endptr..];
                let cut = copy
                    .iter()
                    .position(|&b| b == b'e' || b == b'E')
                    .unwrap_or(copy.len());
                let (f, used) = c_strtod_no_exponent(&copy[..cut]);
                if used == 0 {
                    ferr = Some(NumError::Invalid);
                } else if !f.is_finite() {
                    ferr = Some(NumError::Invalid);
                    endptr += used;
                } else {
                    ferr = None;
                    fraction = f;
                    endptr += used;
                    if f.is_sign_negative() {
                        break 'out Err(NumError::Range);
                    }
                }
            }
            err = ferr;
            if err.is_none() {
                if fraction == 1.0 {
                    if val == u64::MAX {
                        break 'out Err(NumError::Range);
                    }
                    val += 1;
                } else {
                    valf = (fraction * 18446744073709551616.0) as u64;
                    if valf == 0 && fraction > 0.0 {
                        valf = 1;
                    }
                }
            }
        }
        if let Some(e) = err {
            break 'out Err(e);
        }
        let mul = match suffix_mul(at(endptr), unit) {
            Some(m) => {
                endptr += 1;
                m
            }
            None => suffix_mul(Some(default_suffix), unit).unwrap_or(1),
        };
        if mul == 1 {
            // When a fraction is present, a scale is required.
            if valf != 0 {
                endptr = 0;
                break 'out Err(NumError::Invalid);
            }
            break 'out Ok(val);
        }
        let whole = val as u128 * mul as u128;
        let frac = valf as u128 * mul as u128;
        let total = whole + (frac >> 64) + (((frac as u64) >> 63) as u128);
        match u64::try_from(total) {
            Ok(v) => Ok(v),
            Err(_) => Err(NumError::Range),
        }
    };
    // The whole string must be consumed; EINVAL has priority over ERANGE.
    if endptr < bytes.len() {
        return Err(NumError::Invalid);
    }
    result
}

/// `qemu_strtosz()`: default unit bytes.
pub fn strtosz(s: &str) -> Result<u64, NumError> {
    do_strtosz(s, b'B', 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtosz_table() {
        use NumError::*;
        let cases: &[(&str, Result<u64, NumError>)] = &[
            ("0", Ok(0)),
            ("1", Ok(1)),
            ("12345", Ok(12345)),
            ("1k", Ok(1024)),
            ("1K", Ok(1024)),
            ("1b", Ok(1)),
            ("1B", Ok(1)),
            ("1M", Ok(1 << 20)),
            ("1G", Ok(1 << 30)),
            ("1T", Ok(1 << 40)),
            ("1P", Ok(1 << 50)),
            ("1E", Ok(1 << 60)),
            ("15E", Ok(15 << 60)),
            ("16E", Err(Range)),
            ("20E", Err(Range)),
            ("1.5G", Ok(3 << 29)),
            ("1.5k", Ok(1536)),
            ("1.k", Ok(1024)),
            (".5M", Ok(512 << 10)),
            ("1.", Ok(1)),
            ("1.0", Ok(1)),
            ("1.5", Err(Invalid)),
            ("1.5B", Err(Invalid)),
            ("0x10", Ok(16)),
            ("0x1b", Ok(27)),
            ("0x10M", Err(Invalid)),
            ("0x1.8", Err(Invalid)),
            ("-1", Err(Range)),
            ("-0", Err(Range)),
            ("-1x", Err(Invalid)),
            ("-0.5M", Err(Invalid)),
            ("-.5M", Err(Invalid)),
            ("-.5", Err(Range)),
            ("", Err(Invalid)),
            ("foo", Err(Invalid)),
            ("1e3", Err(Invalid)),
            ("1.5e3", Err(Invalid)),
            (" 5", Ok(5)),
            ("5 ", Err(Invalid)),
            ("1G5", Err(Invalid)),
            ("18446744073709551615", Ok(u64::MAX)),
            ("18446744073709551616", Err(Range)),
            ("100000Pjunk", Err(Invalid)),
            ("inf", Err(Invalid)),
            ("08", Ok(8)),
        ];
        for (input, want) in cases {
            assert_eq!(strtosz(input), *want, "strtosz({input:?})");
        }
    }

    #[test]
    fn strtou64_table() {
        use NumError::*;
        let cases: &[(&str, u32, Result<u64, NumError>)] = &[
            ("0", 0, Ok(0)),
            ("10", 0, Ok(10)),
            ("0x10", 0, Ok(16)),
            ("010", 0, Ok(8)),
            ("-1", 0, Ok(u64::MAX)),
            (" 7", 0, Ok(7)),
            ("7 ", 0, Err(Invalid)),
            ("", 0, Err(Invalid)),
            ("x", 0, Err(Invalid)),
            ("99999999999999999999", 0, Err(Range)),
            ("ff", 16, Ok(255)),
        ];
        for (input, base, want) in cases {
            assert_eq!(strtou64(input, *base), *want, "strtou64({input:?})");
        }
    }

    #[test]
    fn strtoi64_table() {
        use NumError::*;
        let cases: &[(&str, Result<i64, NumError>)] = &[
            ("4", Ok(4)),
            ("+4", Ok(4)),
            ("-1", Ok(-1)),
            ("0x4", Ok(4)),
            ("010", Ok(8)),
            ("1.5", Err(Invalid)),
            ("9223372036854775807", Ok(i64::MAX)),
            ("9223372036854775808", Err(Range)),
            ("-9223372036854775808", Ok(i64::MIN)),
            ("4 ", Err(Invalid)),
        ];
        for (input, want) in cases {
            assert_eq!(strtoi64(input, 0), *want, "strtoi64({input:?})");
        }
    }
}

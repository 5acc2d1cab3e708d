//! Numbers as QEMU's `QNum` holds and prints them: an integer token becomes an int64 if it
//! fits, else a uint64, else a double; a float token is always a double. Doubles are printed
//! with C's `%.17g`, so `1.5e3` comes back as `1500`, `1e400` as `inf`.
//!
//! In the `serde_json::Number` this maps to: i64/u64 numbers stay integers, doubles are stored
//! as floats (so `is_f64()` holds and `as_i64()` fails, as `qnum_get_try_int` does), and the
//! infinities, which a finite-only `Number::from_f64` refuses, keep their token text.

use serde_json::Number;
use std::fmt::Write;

/// Number for an integer token (`-?(0|[1-9][0-9]*)`).
pub(crate) fn from_integer_token(text: &str) -> Number {
    if let Ok(i) = text.parse::<i64>() {
        return Number::from(i);
    }
    if !text.starts_with('-') {
        if let Ok(u) = text.parse::<u64>() {
            return Number::from(u);
        }
    }
    from_float_token(text)
}

/// Number for a float token, or for an integer token too large for 64 bits.
pub(crate) fn from_float_token(text: &str) -> Number {
    // Token syntax is a subset of Rust's float syntax; rounding matches strtod's.
    let value = text.parse::<f64>().unwrap_or(f64::INFINITY);
    Number::from_f64(value)
        // Out of range: keep the text, which parses back to the same infinity.
        .or_else(|| text.parse::<Number>().ok())
        .unwrap_or_else(|| Number::from(0))
}

/// Appends `n` as QEMU prints a `QNum`.
pub(crate) fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        let value = n
            .as_f64()
            // `as_f64` refuses infinities; the stored text still parses to one.
            .unwrap_or_else(|| n.to_string().parse::<f64>().unwrap_or(f64::NAN));
        write_g17(out, value);
    }
}

/// Formats `value` like C's `printf("%.17g")` in the C locale.
pub fn format_g17(value: f64) -> String {
    let mut s = String::new();
    write_g17(&mut s, value);
    s
}

fn write_g17(out: &mut String, value: f64) {
    if value.is_sign_negative() {
        out.push('-');
    }
    if value.is_nan() {
        out.push_str("nan");
        return;
    }
    if value.is_infinite() {
        out.push_str("inf");
        return;
    }
    if value == 0.0 {
        out.push('0');
        return;
    }
    // 17 significant digits, correctly rounded (ties to even, like glibc): "d.dddde<exp>".
    let sci = format!("{:.16e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    if !(-4..17).contains(&exp) {
        // %e style, trailing zeros removed, exponent at least two digits.
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    } else if exp >= 0 {
        // %f style: `exp + 1` integer digits.
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(token_is_int: bool, text: &str) -> String {
        let n = if token_is_int {
            from_integer_token(text)
        } else {
            from_float_token(text)
        };
        let mut s = String::new();
        write_number(&mut s, &n);
        s
    }

    /// Each pair was measured on QEMU 10.0.2 by echoing it as a command `id`.
    #[test]
    fn prints_like_qemu() {
        for (int, input, output) in [
            (false, "1.5e3", "1500"),
            (false, "1e400", "inf"),
            (false, "-1e400", "-inf"),
            (false, "1e-400", "0"),
            (false, "-0.0", "-0"),
            (true, "-0", "0"),
            (false, "0.1", "0.10000000000000001"),
            (false, "5e-324", "4.9406564584124654e-324"),
            (
                true,
                "123456789012345678901234567890",
                "1.2345678901234568e+29",
            ),
            (true, "-9223372036854775808", "-9223372036854775808"),
            (true, "-9223372036854775809", "-9.2233720368547758e+18"),
            (true, "9223372036854775807", "9223372036854775807"),
            (true, "18446744073709551615", "18446744073709551615"),
            (true, "18446744073709551616", "1.8446744073709552e+19"),
            (false, "1.0", "1"),
            (false, "100000000000000000000.0", "1e+20"),
            (false, "1e16", "10000000000000000"),
            (false, "1e17", "1e+17"),
            (false, "12345678.9", "12345678.9"),
            (false, "0.000001", "9.9999999999999995e-07"),
            (false, "0.0000001", "9.9999999999999995e-08"),
            (false, "1E+2", "100"),
            (false, "0.5e1", "5"),
            (false, "1000000000000000.25", "1000000000000000.2"),
            (false, "1000000000000000.75", "1000000000000000.8"),
        ] {
            assert_eq!(printed(int, input), output, "{input}");
        }
    }

    #[test]
    fn keeps_qemu_number_kinds() {
        assert_eq!(from_integer_token("-1").as_i64(), Some(-1));
        assert_eq!(
            from_integer_token("18446744073709551615").as_u64(),
            Some(u64::MAX)
        );
        let double = from_float_token("1.5e3");
        assert!(double.is_f64() && double.as_i64().is_none());
        assert_eq!(double.as_f64(), Some(1500.0));
        assert!(from_integer_token("18446744073709551616").is_f64());
        let inf = from_float_token("1e400");
        assert_eq!(inf.as_f64(), None);
        assert_eq!(inf.to_string().parse::<f64>(), Ok(f64::INFINITY));
    }

    #[test]
    fn g17_edge_cases() {
        assert_eq!(format_g17(f64::NAN), "nan");
        assert_eq!(format_g17(-f64::NAN), "-nan");
        assert_eq!(format_g17(0.0001), "0.0001");
        assert_eq!(format_g17(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_g17(1e300), "1.0000000000000001e+300");
        assert_eq!(format_g17(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(format_g17(123.0), "123");
        assert_eq!(format_g17(-2.5), "-2.5");
        assert_eq!(format_g17(99999999999999999.0), "1e+17");
    }
}

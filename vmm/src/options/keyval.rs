//! QEMU's `util/keyval.c`: the `key=value,key.sub=value` syntax of `-machine`, `-smp`, `-boot`,
//! `-display`, `-audiodev` and `-blockdev` (when not JSON), with dotted keys building nested
//! dictionaries, `,,` escaping a comma, and an optional implied first key.

use super::error::ErrorKind;
use super::value::Value;

/// The longest key fragment QEMU accepts (`char key_in_cur[128]`).
const KEY_FRAGMENT_MAX: usize = 127;

/// `parse_qapi_name(s, false)`: length of the QAPI name at the start of `s`, if any.
fn parse_qapi_name(s: &[u8]) -> Option<usize> {
    let mut p = 0;
    if s.first() == Some(&b'_') {
        // Downstream extension: __RFQDN_name
        p += 1;
        if s.get(p) != Some(&b'_') {
            return None;
        }
        p += 1;
        while p < s.len() && (s[p].is_ascii_alphanumeric() || s[p] == b'-' || s[p] == b'.') {
            p += 1;
        }
        if s.get(p) != Some(&b'_') {
            return None;
        }
        p += 1;
    }
    if !s.get(p).is_some_and(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    p += 1;
    while p < s.len() && (s[p].is_ascii_alphanumeric() || s[p] == b'-' || s[p] == b'_') {
        p += 1;
    }
    Some(p)
}

/// `key_to_index()`: length of a decimal list index at the start of `s`, if any.
fn index_len(s: &[u8]) -> Option<usize> {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    (n > 0).then_some(n)
}

fn help_prefix_len(s: &[u8]) -> usize {
    if s.first() == Some(&b'?') {
        1
    } else if s.starts_with(b"help") {
        4
    } else {
        0
    }
}

/// Puts `value` (a string, or `None` for "a dictionary") at `key` in `cur`, as
/// `keyval_parse_put()`. `whole` is the full key for the error message.
fn put<'a>(
    cur: &'a mut Vec<(String, Value)>,
    key: &str,
    value: Option<String>,
    whole: &str,
) -> Result<&'a mut Value, ErrorKind> {
    let pos = cur.iter().position(|(k, _)| k == key);
    match pos {
        Some(i) => {
            let old = &mut cur[i].1;
            let consistent = matches!(
                (&*old, &value),
                (Value::Str(_), Some(_)) | (Value::Dict(_), None)
            );
            if !consistent {
                return Err(ErrorKind::UsedInconsistently {
                    key: format!("{whole}.*"),
                });
            }
            if let Some(v) = value {
                *old = Value::Str(v);
            }
            Ok(old)
        }
        None => {
            let v = match value {
                Some(s) => Value::Str(s),
                None => Value::Dict(Vec::new()),
            };
            cur.push((key.to_string(), v));
            let last = cur.len() - 1;
            Ok(&mut cur[last].1)
        }
    }
}

/// Parses one `key=value` (or the implied value); returns the rest of the input.
fn parse_one<'s>(
    dict: &mut Vec<(String, Value)>,
    params: &'s str,
    implied_key: Option<&str>,
    help: &mut bool,
) -> Result<&'s str, ErrorKind> {
    let bytes = params.as_bytes();
    let len = bytes
        .iter()
        .position(|&b| b == b'=' || b == b',')
        .unwrap_or(bytes.len());
    let mut implied_value: Option<&str> = None;
    let mut rest_after_implied = "";
    let key: String;
    if len > 0 && bytes.get(len) != Some(&b'=') {
        if help_prefix_len(bytes) == len {
            *help = true;
            let rest = &params[len..];
            return Ok(rest.strip_prefix(',').unwrap_or(rest));
        }
        if let Some(k) = implied_key {
            implied_value = Some(&params[..len]);
            let rest = &params[len..];
            rest_after_implied = rest.strip_prefix(',').unwrap_or(rest);
            key = k.to_string();
        } else {
            key = params[..len].to_string();
        }
    } else {
        key = params[..len].to_string();
    }

    // Walk the key fragments.
    let kb = key.as_bytes();
    let mut fragments: Vec<&str> = Vec::new();
    let mut s = 0usize;
    loop {
        let flen = if s != 0 {
            index_len(&kb[s..]).or_else(|| parse_qapi_name(&kb[s..]))
        } else {
            parse_qapi_name(&kb[s..])
        }
        .unwrap_or(0);
        if flen == 0 || (s + flen < kb.len() && kb[s + flen] != b'.') {
            return Err(ErrorKind::InvalidParameter { name: key.clone() });
        }
        if flen > KEY_FRAGMENT_MAX {
            let fragment = s != 0 || s + flen != kb.len();
            return Err(ErrorKind::ParameterTooLong {
                fragment,
                name: key[s..s + flen].to_string(),
            });
        }
        fragments.push(&key[s..s + flen]);
        s += flen;
        if s >= kb.len() {
            break;
        }
        // kb[s] == '.'
        s += 1;
        if s >= kb.len() {
            // "a." : an empty fragment
            return Err(ErrorKind::InvalidParameter { name: key.clone() });
        }
    }

    let (value, rest) = match implied_value {
        Some(v) => (v.to_string(), rest_after_implied),
        None => {
            let after_key = &params[len..];
            let Some(mut p) = after_key.strip_prefix('=') else {
                return Err(ErrorKind::ExpectedEquals { key: key.clone() });
            };
            let mut val = String::new();
            loop {
                match p.find(',') {
                    None => {
                        val.push_str(p);
                        p = "";
                        break;
                    }
                    Some(i) => {
                        val.push_str(&p[..i]);
                        if p[i + 1..].starts_with(',') {
                            val.push(',');
                            p = &p[i + 2..];
                        } else {
                            p = &p[i + 1..];
                            break;
                        }
                    }
                }
            }
            (val, p)
        }
    };

    // Descend, creating dictionaries for all fragments but the last.
    let mut cur = dict;
    let mut consumed = 0usize;
    for (i, frag) in fragments.iter().enumerate() {
        consumed += frag.len();
        let prefix = &key[..consumed];
        if i + 1 == fragments.len() {
            put(cur, frag, Some(value), &key)?;
            break;
        }
        let node = put(cur, frag, None, prefix)?;
        consumed += 1;
        cur = match node {
            Value::Dict(d) => d,
            _ => unreachable!("put() returned a dictionary"),
        };
    }
    Ok(rest)
}

/// `keyval_parse_into()`: parses `params` into `dict` (merging, later keys win).
/// Returns whether `help` was asked for.
pub fn parse_into(
    dict: &mut Vec<(String, Value)>,
    params: &str,
    implied_key: Option<&str>,
) -> Result<bool, ErrorKind> {
    let mut help = false;
    let mut implied = implied_key;
    let mut s = params;
    while !s.is_empty() {
        s = parse_one(dict, s, implied, &mut help)?;
        implied = None;
    }
    Ok(help)
}

/// `keyval_parse()` into a fresh dictionary; help is an error unless `allow_help`.
pub fn parse(
    params: &str,
    implied_key: Option<&str>,
    allow_help: bool,
) -> Result<(Vec<(String, Value)>, bool), ErrorKind> {
    let mut dict = Vec::new();
    let help = parse_into(&mut dict, params, implied_key)?;
    if help && !allow_help {
        return Err(ErrorKind::HelpNotAvailable);
    }
    Ok((dict, help))
}

/// `keyval_merge()`: merges `src` into `dest`, sub-dictionaries recursively.
pub fn merge(
    dest: &mut Vec<(String, Value)>,
    src: Vec<(String, Value)>,
    prefix: &str,
) -> Result<(), ErrorKind> {
    for (key, value) in src {
        match dest.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => match (old, value) {
                (Value::Dict(od), Value::Dict(nd)) => {
                    merge(od, nd, &format!("{prefix}{key}."))?;
                }
                (old @ Value::Str(_), new @ Value::Str(_)) => *old = new,
                _ => {
                    return Err(ErrorKind::ParameterUsedInconsistently {
                        key: format!("{prefix}{key}"),
                    })
                }
            },
            None => dest.push((key, value)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    #[test]
    fn implied_key_and_escapes() {
        let (d, help) = parse("pc,usb=off,x=a,,b", Some("type"), false).unwrap();
        assert!(!help);
        assert_eq!(
            d,
            vec![
                ("type".into(), s("pc")),
                ("usb".into(), s("off")),
                ("x".into(), s("a,b"))
            ]
        );
    }

    #[test]
    fn nested_and_merge() {
        let (mut d, _) = parse("smp.cpus=2,smp.sockets=1", None, false).unwrap();
        let (d2, _) = parse("smp.cpus=4", None, false).unwrap();
        merge(&mut d, d2, "").unwrap();
        assert_eq!(
            d,
            vec![(
                "smp".into(),
                Value::Dict(vec![("cpus".into(), s("4")), ("sockets".into(), s("1"))])
            )]
        );
    }

    #[test]
    fn errors() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("pc,usb", Some("type"), "Expected '=' after parameter 'usb'"),
            ("2,,3", Some("cpus"), "Invalid parameter ''"),
            ("a..b=1", None, "Invalid parameter 'a..b'"),
            ("1a=1", None, "Invalid parameter '1a'"),
            ("a=1,a.b=2", None, "Parameters 'a.*' used inconsistently"),
            ("help", None, "Help is not available for this option"),
        ];
        for (input, implied, want) in cases {
            let err = parse(input, *implied, false).unwrap_err();
            assert_eq!(err.to_string(), *want, "keyval {input:?}");
        }
    }

    #[test]
    fn help() {
        assert!(parse("help", Some("type"), true).unwrap().1);
        assert!(parse("pc,help", Some("type"), true).unwrap().1);
        assert!(!parse("helpx", Some("type"), true).unwrap().1);
    }
}

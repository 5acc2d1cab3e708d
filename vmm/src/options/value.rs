//! A parsed option value (QEMU's QObject) and a small QAPI-style visitor that checks it against a
//! schema with the error messages of QEMU's three input visitors:
//!
//! * [`Mode::Json`]: `qobject-input-visitor` on JSON (typed scalars),
//! * [`Mode::Keyval`]: the same visitor on `key=value` text (every scalar a string),
//! * [`Mode::Opts`]: `opts-visitor`, used for the `key=value` form of `-object`.

use super::error::ErrorKind;
use super::strtox;

/// A QObject.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Dict(Vec<(String, Value)>),
}

impl Value {
    pub fn get<'a>(dict: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
        dict.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The canonical text of a scalar: numbers in decimal, booleans as `on`/`off`.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Bool(b) => Some(if *b { "on" } else { "off" }.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Str(s) => Some(s.clone()),
            Value::Null | Value::List(_) | Value::Dict(_) => None,
        }
    }
}

/// Which QEMU visitor's behaviour (and messages) to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Json,
    Keyval,
    Opts,
}

/// A QAPI type.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    Bool,
    Int,
    Uint(Width),
    Size,
    Enum(&'static [&'static str]),
    Struct(&'static [Field]),
    /// Anything (a value we keep but do not interpret).
    Any,
}

/// Width of an unsigned integer type, for range checks and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    U32,
    U64,
}

impl Width {
    fn max(self) -> u64 {
        match self {
            Width::U32 => u32::MAX as u64,
            Width::U64 => u64::MAX,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Width::U32 => "uint32",
            Width::U64 => "uint64",
        }
    }
}

/// A member of a QAPI struct.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

/// An optional member.
pub const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
    }
}

/// A mandatory member.
pub const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
    }
}

fn full_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn expects(name: String, what: &str) -> ErrorKind {
    ErrorKind::ParameterExpects {
        name,
        expected: what.to_string(),
    }
}

fn wrong_type(name: String, expected: &str) -> ErrorKind {
    ErrorKind::InvalidParameterType {
        name,
        expected: expected.to_string(),
    }
}

/// Checks a scalar (or nested struct) and returns its canonical text (for scalars).
pub fn visit(value: &Value, ty: Ty, name: &str, mode: Mode) -> Result<Option<String>, ErrorKind> {
    let name_s = name.to_string();
    match ty {
        Ty::Any => Ok(value.scalar_text()),
        Ty::Str => match value {
            Value::Str(s) => Ok(Some(s.clone())),
            _ => Err(wrong_type(name_s, "string")),
        },
        Ty::Enum(values) => match value {
            Value::Str(s) if values.contains(&s.as_str()) => Ok(Some(s.clone())),
            Value::Str(s) => Err(ErrorKind::DoesNotAcceptValue {
                name: name_s,
                value: s.clone(),
            }),
            _ => Err(wrong_type(name_s, "string")),
        },
        Ty::Bool => match (value, mode) {
            (Value::Bool(b), Mode::Json) => Ok(Some(if *b { "on" } else { "off" }.into())),
            (_, Mode::Json) => Err(wrong_type(name_s, "boolean")),
            (Value::Str(s), _) => match parse_bool(s) {
                Some(b) => Ok(Some(if b { "on" } else { "off" }.into())),
                None => Err(expects(name_s, "'on' or 'off'")),
            },
            _ => Err(wrong_type(name_s, "boolean")),
        },
        Ty::Int => match (value, mode) {
            (Value::Int(i), Mode::Json) => Ok(Some(i.to_string())),
            (_, Mode::Json) => Err(wrong_type(name_s, "integer")),
            (Value::Str(s), Mode::Keyval) => strtox::strtoi64(s, 0)
                .map(|v| Some(v.to_string()))
                .map_err(|_| expects(name_s, "integer")),
            (Value::Str(s), _) => strtox::strtoi64(s, 0)
                .map(|v| Some(v.to_string()))
                .map_err(|_| expects(name_s, "an int64 value")),
            _ => Err(wrong_type(name_s, "integer")),
        },
        Ty::Uint(w) => {
            let v = match (value, mode) {
                (Value::Int(i), Mode::Json) if *i >= 0 => *i as u64,
                (Value::UInt(u), Mode::Json) => *u,
                (Value::Int(_), Mode::Json) => return Err(expects(name_s, w.name())),
                (Value::Float(_), Mode::Json) => return Err(expects(name_s, "uint64")),
                (_, Mode::Json) => return Err(wrong_type(name_s, "integer")),
                (Value::Str(s), Mode::Keyval) => {
                    strtox::strtou64(s, 0).map_err(|_| expects(name_s.clone(), "uint64"))?
                }
                (Value::Str(s), _) => {
                    strtox::strtou64(s, 0).map_err(|_| expects(name_s.clone(), "a uint64 value"))?
                }
                _ => return Err(wrong_type(name_s, "integer")),
            };
            if v > w.max() {
                return Err(expects(name_s, w.name()));
            }
            Ok(Some(v.to_string()))
        }
        Ty::Size => match (value, mode) {
            (Value::Int(i), Mode::Json) if *i >= 0 => Ok(Some(i.to_string())),
            (Value::UInt(u), Mode::Json) => Ok(Some(u.to_string())),
            (_, Mode::Json) => Err(expects(name_s, "uint64")),
            (Value::Str(s), Mode::Keyval) => strtox::strtosz(s)
                .map(|v| Some(v.to_string()))
                .map_err(|_| expects(name_s, "size")),
            (Value::Str(s), _) => strtox::strtosz(s)
                .map(|v| Some(v.to_string()))
                .map_err(|_| expects(name_s, "a size value")),
            _ => Err(wrong_type(name_s, "integer")),
        },
        Ty::Struct(fields) => match value {
            Value::Dict(d) => {
                visit_struct(d, fields, name, mode, &mut Vec::new())?;
                Ok(None)
            }
            _ => Err(wrong_type(name_s, "object")),
        },
    }
}

/// QAPI's boolean spellings (`qapi_bool_parse()`).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "on" | "yes" | "true" | "y" => Some(true),
        "off" | "no" | "false" | "n" => Some(false),
        _ => None,
    }
}

/// Visits the members of a struct in schema order, appending `(name, canonical text)` for every
/// scalar member present (nested members get dotted names). Leftover keys are reported after all
/// members were visited, as QEMU's `check_struct` does.
pub fn visit_struct(
    dict: &[(String, Value)],
    fields: &[Field],
    prefix: &str,
    mode: Mode,
    out: &mut Vec<(String, String)>,
) -> Result<(), ErrorKind> {
    visit_members(dict, fields, prefix, mode, out)?;
    check_unexpected(dict, &[fields], prefix, mode)
}

/// Visits members without the leftover check (for unions, whose base and variant members are
/// visited separately before one check).
pub fn visit_members(
    dict: &[(String, Value)],
    fields: &[Field],
    prefix: &str,
    mode: Mode,
    out: &mut Vec<(String, String)>,
) -> Result<(), ErrorKind> {
    for f in fields {
        let name = full_name(prefix, f.name);
        match Value::get(dict, f.name) {
            None if f.required => return Err(ErrorKind::ParameterMissing { name }),
            None => {}
            Some(v) => {
                if let Ty::Struct(sub) = f.ty {
                    match v {
                        Value::Dict(d) => visit_struct(d, sub, &name, mode, out)?,
                        _ => return Err(wrong_type(name, "object")),
                    }
                } else if let Some(text) = visit(v, f.ty, &name, mode)? {
                    out.push((f.name.to_string(), text));
                }
            }
        }
    }
    Ok(())
}

/// Reports the first key not described by any of `field_sets`.
pub fn check_unexpected(
    dict: &[(String, Value)],
    field_sets: &[&[Field]],
    prefix: &str,
    mode: Mode,
) -> Result<(), ErrorKind> {
    for (k, _) in dict {
        if !field_sets.iter().any(|fs| fs.iter().any(|f| f.name == k)) {
            return Err(match mode {
                Mode::Opts => ErrorKind::InvalidParameter { name: k.clone() },
                _ => ErrorKind::ParameterUnexpected {
                    name: full_name(prefix, k),
                },
            });
        }
    }
    Ok(())
}

//! QMP argument checking with QEMU's rules and messages.
//!
//! This mirrors QEMU's qobject input visitor: members are read in
//! schema order (a struct's base first, then its own, then a union's
//! branch); the first problem met is the error.  After a struct's
//! members, a key that none of them took is "unexpected".  Names in
//! messages are dotted paths with `[N]` for list elements
//! (`instances[0].type`), except in range and enum messages, where
//! QEMU uses the bare member name, or `null` for a list element.

use serde_json::{Map, Value};

use crate::QapiError;

/// A type that can be read from QMP input.
pub trait FromQapi: Sized {
    /// Read `value`, found at `at`.
    fn from_qapi(value: &Value, at: &Loc<'_>) -> Result<Self, QapiError>;
}

/// A struct or union: its members are read from a [`Dict`].  Unions
/// and struct bases share the dict of the object that holds them.
pub trait VisitMembers: Sized {
    fn visit_members(d: &mut Dict<'_, '_>) -> Result<Self, QapiError>;
}

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Root,
    Member(&'a str),
    Element(usize),
}

/// Where a value sits in the arguments.
#[derive(Debug, Clone, Copy)]
pub struct Loc<'a> {
    parent: Option<&'a Loc<'a>>,
    seg: Seg<'a>,
}

impl<'a> Loc<'a> {
    /// The arguments object itself.
    pub const ROOT: Loc<'static> = Loc {
        parent: None,
        seg: Seg::Root,
    };

    pub fn member(&'a self, name: &'a str) -> Loc<'a> {
        Loc {
            parent: Some(self),
            seg: Seg::Member(name),
        }
    }

    pub fn element(&'a self, index: usize) -> Loc<'a> {
        Loc {
            parent: Some(self),
            seg: Seg::Element(index),
        }
    }

    /// The dotted path QEMU prints, e.g. `instances[0].type`.
    pub fn full_name(&self) -> String {
        let mut out = String::new();
        self.push_full(&mut out);
        out
    }

    fn push_full(&self, out: &mut String) {
        if let Some(p) = self.parent {
            p.push_full(out);
        }
        match self.seg {
            Seg::Root => {}
            Seg::Member(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Seg::Element(i) => out.push_str(&format!("[{i}]")),
        }
    }

    /// The name QEMU's range, enum and alternate messages use: the
    /// member name alone, or "null" for a list element (which has no
    /// name in QEMU's visitor).
    pub fn bare_name(&self) -> &'a str {
        match self.seg {
            Seg::Member(name) => name,
            Seg::Root | Seg::Element(_) => "null",
        }
    }
}

/// The members of one JSON object being read, and which were taken.
pub struct Dict<'v, 'l> {
    map: &'v Map<String, Value>,
    at: &'l Loc<'l>,
    /// Keys taken, in the order taken: the order matters for finding
    /// the leftover key QEMU reports (see [`crate::ghash`]).
    taken: Vec<&'v str>,
}

impl<'v, 'l> Dict<'v, 'l> {
    pub fn new(map: &'v Map<String, Value>, at: &'l Loc<'l>) -> Self {
        Dict {
            map,
            at,
            taken: Vec::new(),
        }
    }

    fn take(&mut self, name: &str) -> Option<&'v Value> {
        let (key, value) = self.map.get_key_value(name)?;
        self.taken.push(key.as_str());
        Some(value)
    }

    /// A mandatory member.
    pub fn required<T: FromQapi>(&mut self, name: &str) -> Result<T, QapiError> {
        let at = self.at.member(name);
        match self.take(name) {
            Some(v) => T::from_qapi(v, &at),
            None => Err(QapiError::missing(&at.full_name())),
        }
    }

    /// An optional member.  Present means present: `null` is a value
    /// like any other, and wrong for most types.
    pub fn optional<T: FromQapi>(&mut self, name: &str) -> Result<Option<T>, QapiError> {
        let at = self.at.member(name);
        match self.take(name) {
            Some(v) => T::from_qapi(v, &at).map(Some),
            None => Ok(None),
        }
    }

    /// Fail if a member was not taken.
    pub fn finish(self) -> Result<(), QapiError> {
        if self.taken.len() == self.map.len() {
            return Ok(());
        }
        let keys = self.map.keys().map(String::as_str);
        match crate::ghash::first_left_over(keys, &self.taken) {
            Some(key) => Err(QapiError::unexpected(&self.at.member(key).full_name())),
            None => Ok(()),
        }
    }
}

/// Read a struct or union value.
pub fn visit_struct<T: VisitMembers>(v: &Value, at: &Loc<'_>) -> Result<T, QapiError> {
    let Value::Object(map) = v else {
        return Err(QapiError::invalid_type(&at.full_name(), "object"));
    };
    let mut d = Dict::new(map, at);
    let value = T::visit_members(&mut d)?;
    d.finish()?;
    Ok(value)
}

/// Read a command's arguments object.
pub fn arguments<T: VisitMembers>(args: &Map<String, Value>) -> Result<T, QapiError> {
    let mut d = Dict::new(args, &Loc::ROOT);
    let value = T::visit_members(&mut d)?;
    d.finish()?;
    Ok(value)
}

/// Check the arguments of a command that takes none.
pub fn no_arguments(args: &Map<String, Value>) -> Result<(), QapiError> {
    Dict::new(args, &Loc::ROOT).finish()
}

/// Read an enum value: a string first, then one of the names.
pub fn visit_enum<T>(
    v: &Value,
    at: &Loc<'_>,
    parse: fn(&str) -> Option<T>,
) -> Result<T, QapiError> {
    let Value::String(s) = v else {
        return Err(QapiError::invalid_type(&at.full_name(), "string"));
    };
    parse(s).ok_or_else(|| QapiError::bad_enum_value(at.bare_name(), s))
}

impl<T: FromQapi> FromQapi for Vec<T> {
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        let Value::Array(items) = v else {
            return Err(QapiError::invalid_type(&at.full_name(), "array"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::from_qapi(item, &at.element(i)))
            .collect()
    }
}

impl<T: FromQapi> FromQapi for Box<T> {
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        T::from_qapi(v, at).map(Box::new)
    }
}

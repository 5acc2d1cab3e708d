//! The schema as definitions: types, commands and events, with the
//! implicit types QAPI creates for inline argument and base objects.
//! load.rs builds it from the files; check.rs enforces the rules the
//! generators rely on.

use std::collections::{HashMap, HashSet};

use super::doc::Doc;
use super::error::{GenError, Origin};

/// The name of the empty object type used where a command or event
/// has no arguments (QAPI's own name for it).
pub const EMPTY: &str = "q_empty";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Str,
    Number,
    Int,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Size,
    Bool,
    Null,
    Any,
}

impl Builtin {
    pub const ALL: [Builtin; 15] = [
        Builtin::Str,
        Builtin::Number,
        Builtin::Int,
        Builtin::Int8,
        Builtin::Int16,
        Builtin::Int32,
        Builtin::Int64,
        Builtin::Uint8,
        Builtin::Uint16,
        Builtin::Uint32,
        Builtin::Uint64,
        Builtin::Size,
        Builtin::Bool,
        Builtin::Null,
        Builtin::Any,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Str => "str",
            Builtin::Number => "number",
            Builtin::Int => "int",
            Builtin::Int8 => "int8",
            Builtin::Int16 => "int16",
            Builtin::Int32 => "int32",
            Builtin::Int64 => "int64",
            Builtin::Uint8 => "uint8",
            Builtin::Uint16 => "uint16",
            Builtin::Uint32 => "uint32",
            Builtin::Uint64 => "uint64",
            Builtin::Size => "size",
            Builtin::Bool => "bool",
            Builtin::Null => "null",
            Builtin::Any => "any",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The JSONType introspection reports for it.
    pub fn json_type(self) -> &'static str {
        match self {
            Builtin::Str => "string",
            Builtin::Number => "number",
            Builtin::Bool => "boolean",
            Builtin::Null => "null",
            Builtin::Any => "value",
            _ => "int",
        }
    }

    pub fn is_int(self) -> bool {
        self.json_type() == "int"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    Named(String),
    /// An array of the named element type.
    Array(String),
}

impl TypeRef {
    /// The named type, or the element type of an array.
    pub fn base_name(&self) -> &str {
        match self {
            TypeRef::Named(n) | TypeRef::Array(n) => n,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub optional: bool,
    pub ty: TypeRef,
    pub features: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub name: String,
    pub features: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub case: String,
    /// A struct type.
    pub ty: String,
}

#[derive(Debug, Clone)]
pub struct AltBranch {
    pub name: String,
    pub ty: String,
}

#[derive(Debug, Clone)]
pub enum TypeKind {
    Builtin(Builtin),
    Enum(Vec<EnumValue>),
    Struct {
        base: Option<String>,
        members: Vec<Member>,
    },
    Union {
        /// A struct type, possibly implicit, holding the tag.
        base: String,
        tag: String,
        branches: Vec<Branch>,
    },
    Alternate(Vec<AltBranch>),
}

/// Why a type exists.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    Builtin,
    Explicit,
    /// The inline arguments of this command.
    CommandArg(String),
    /// The inline data of this event.
    EventData(String),
    /// The inline base of this union.
    UnionBase(String),
    Empty,
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    pub kind: TypeKind,
    pub features: Vec<String>,
    pub doc: Option<Doc>,
    pub role: Role,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub name: String,
    pub arg_type: Option<String>,
    pub returns: Option<TypeRef>,
    pub allow_oob: bool,
    pub allow_preconfig: bool,
    pub success_response: bool,
    pub features: Vec<String>,
    pub doc: Option<Doc>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub arg_type: Option<String>,
    pub features: Vec<String>,
    pub doc: Option<Doc>,
    pub origin: Origin,
}

/// Commands and events in definition order (introspection lists them
/// in this order; types follow in order of first use).
#[derive(Debug, Clone, Copy)]
pub enum Entity {
    Command(usize),
    Event(usize),
}

#[derive(Debug, Default)]
pub struct Schema {
    pub types: Vec<TypeDef>,
    index: HashMap<String, usize>,
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub entities: Vec<Entity>,
    /// Every name defined so far: types, commands and events share one
    /// namespace, as in QAPI.
    names: HashSet<String>,
}

impl Schema {
    pub fn lookup(&self, name: &str) -> Option<&TypeDef> {
        self.index.get(name).and_then(|&i| self.types.get(i))
    }

    /// The members of a struct (its base's first) or the base members
    /// of a union.  Other kinds have none.
    pub fn all_members(&self, name: &str) -> Vec<&Member> {
        let mut out = Vec::new();
        // Bases nest a few levels at most; the bound guards against a
        // cycle that check() has not rejected yet.
        self.collect_members(name, &mut out, 16);
        out
    }

    fn collect_members<'s>(&'s self, name: &str, out: &mut Vec<&'s Member>, depth: usize) {
        if depth == 0 {
            return;
        }
        match self.lookup(name).map(|t| &t.kind) {
            Some(TypeKind::Struct { base, members }) => {
                if let Some(b) = base {
                    self.collect_members(b, out, depth - 1);
                }
                out.extend(members.iter());
            }
            Some(TypeKind::Union { base, .. }) => self.collect_members(base, out, depth - 1),
            _ => {}
        }
    }

    /// The doc text of a member, from the type that declares it or its
    /// bases, or from the command or event an implicit type is for.
    pub fn member_doc(&self, type_name: &str, member: &str) -> Option<String> {
        let mut next = Some(type_name.to_string());
        let mut depth = 16;
        while let (Some(name), true) = (next.take(), depth > 0) {
            depth -= 1;
            let def = self.lookup(&name)?;
            let doc = match &def.role {
                Role::CommandArg(c) => self
                    .commands
                    .iter()
                    .find(|x| x.name == *c)
                    .and_then(|x| x.doc.as_ref()),
                Role::EventData(e) => self
                    .events
                    .iter()
                    .find(|x| x.name == *e)
                    .and_then(|x| x.doc.as_ref()),
                Role::UnionBase(u) => self.lookup(u).and_then(|x| x.doc.as_ref()),
                _ => def.doc.as_ref(),
            };
            if let Some(text) = doc.and_then(|d| d.member(member)) {
                return Some(text.to_string());
            }
            if let TypeKind::Struct { base, .. } = &def.kind {
                next = base.clone();
            }
        }
        None
    }

    /// The enum values of a union's tag.
    pub fn tag_values(&self, union_base: &str, tag: &str) -> Vec<&EnumValue> {
        let tag_type = self
            .all_members(union_base)
            .into_iter()
            .find(|m| m.name == tag)
            .map(|m| m.ty.base_name().to_string());
        match tag_type.and_then(|t| self.lookup(&t)).map(|t| &t.kind) {
            Some(TypeKind::Enum(values)) => values.iter().collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn claim_name(&mut self, name: &str, origin: &Origin) -> Result<(), GenError> {
        if !self.names.insert(name.to_string()) {
            return Err(origin.error(format!("'{name}' is already defined")));
        }
        Ok(())
    }

    pub(super) fn add_type(&mut self, def: TypeDef) -> Result<(), GenError> {
        self.claim_name(&def.name, &def.origin)?;
        self.index.insert(def.name.clone(), self.types.len());
        self.types.push(def);
        Ok(())
    }
}

/// How a JSON value of some type looks on the wire; alternates need
/// their branches to differ in this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    String,
    Number,
    Bool,
    Null,
    Object,
}

pub fn json_kind(schema: &Schema, ty: &str) -> Option<JsonKind> {
    match &schema.lookup(ty)?.kind {
        TypeKind::Builtin(Builtin::Str) | TypeKind::Enum(_) => Some(JsonKind::String),
        TypeKind::Builtin(Builtin::Bool) => Some(JsonKind::Bool),
        TypeKind::Builtin(Builtin::Null) => Some(JsonKind::Null),
        TypeKind::Builtin(Builtin::Any) | TypeKind::Alternate(_) => None,
        TypeKind::Builtin(_) => Some(JsonKind::Number),
        TypeKind::Struct { .. } | TypeKind::Union { .. } => Some(JsonKind::Object),
    }
}

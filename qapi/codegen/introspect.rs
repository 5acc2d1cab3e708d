//! The query-qmp-schema reply, built the way QEMU's
//! scripts/qapi/introspect.py builds it:
//!
//! - commands and events first, in definition order;
//! - then every type they reach, in order of first use, each once;
//! - type names other than builtins are replaced by numbers handed
//!   out in order of first mention; arrays are named "[ELEMENT]";
//! - all integer types show as "int", arrays of them as "[int]";
//! - commands and events without arguments (or results) refer to the
//!   empty object type;
//! - optional members carry "default": null; "allow-oob" appears only
//!   when true; "features" only when there are some;
//! - union variants list the explicit branches first, then an empty
//!   branch for each remaining tag value, in enum order.

use std::collections::HashMap;

use super::json::Json;
use super::model::{Builtin, Entity, Schema, TypeKind, TypeRef, EMPTY};

#[derive(Clone, PartialEq)]
enum Used {
    Named(String),
    /// An array of this element type.
    Array(String),
}

struct Gen<'a> {
    schema: &'a Schema,
    numbers: HashMap<String, String>,
    used: Vec<Used>,
    out: Vec<Json>,
}

fn with_features(mut obj: Vec<(&'static str, Json)>, features: &[String]) -> Json {
    if !features.is_empty() {
        obj.push(("features", Json::strs(features)));
    }
    Json::Object(obj)
}

impl Gen<'_> {
    fn number(&mut self, name: &str) -> String {
        let next = self.numbers.len().to_string();
        self.numbers.entry(name.to_string()).or_insert(next).clone()
    }

    fn note(&mut self, u: Used) {
        if !self.used.contains(&u) {
            self.used.push(u);
        }
    }

    fn int_mapped(name: &str) -> &str {
        match Builtin::from_name(name) {
            Some(b) if b.is_int() => "int",
            _ => name,
        }
    }

    fn use_named(&mut self, name: &str) -> String {
        let name = Self::int_mapped(name);
        self.note(Used::Named(name.to_string()));
        if Builtin::from_name(name).is_some() {
            name.to_string()
        } else {
            self.number(name)
        }
    }

    fn use_ref(&mut self, ty: &TypeRef) -> String {
        match ty {
            TypeRef::Named(n) => self.use_named(n),
            TypeRef::Array(n) => {
                // The array is noted before its element, as in QEMU.
                self.note(Used::Array(Self::int_mapped(n).to_string()));
                format!("[{}]", self.use_named(n))
            }
        }
    }

    fn head(&mut self, name: String, meta: &str) -> Vec<(&'static str, Json)> {
        vec![("name", Json::Str(name)), ("meta-type", Json::str(meta))]
    }

    fn entity(&mut self, e: Entity) {
        let schema = self.schema;
        match e {
            Entity::Command(i) => {
                let c = &schema.commands[i];
                let arg = self.use_named(c.arg_type.as_deref().unwrap_or(EMPTY));
                let ret = match &c.returns {
                    Some(r) => self.use_ref(r),
                    None => self.use_named(EMPTY),
                };
                let mut obj = self.head(c.name.clone(), "command");
                if !c.features.is_empty() {
                    obj.push(("features", Json::strs(&c.features)));
                }
                obj.push(("arg-type", Json::Str(arg)));
                obj.push(("ret-type", Json::Str(ret)));
                if c.allow_oob {
                    obj.push(("allow-oob", Json::Bool(true)));
                }
                self.out.push(Json::Object(obj));
            }
            Entity::Event(i) => {
                let ev = &schema.events[i];
                let arg = self.use_named(ev.arg_type.as_deref().unwrap_or(EMPTY));
                let mut obj = self.head(ev.name.clone(), "event");
                if !ev.features.is_empty() {
                    obj.push(("features", Json::strs(&ev.features)));
                }
                obj.push(("arg-type", Json::Str(arg)));
                self.out.push(Json::Object(obj));
            }
        }
    }

    fn used_type(&mut self, u: Used) {
        let schema = self.schema;
        let name = match u {
            Used::Array(elem) => {
                let element = self.use_named(&elem);
                let mut obj = self.head(format!("[{element}]"), "array");
                obj.push(("element-type", Json::Str(element)));
                self.out.push(Json::Object(obj));
                return;
            }
            Used::Named(n) => n,
        };
        let Some(def) = schema.lookup(&name) else {
            return;
        };
        let entry = match &def.kind {
            TypeKind::Builtin(b) => {
                let mut obj = self.head(name.clone(), "builtin");
                obj.push(("json-type", Json::str(b.json_type())));
                Json::Object(obj)
            }
            TypeKind::Enum(values) => {
                let masked = self.number(&name);
                let mut obj = self.head(masked, "enum");
                if !def.features.is_empty() {
                    obj.push(("features", Json::strs(&def.features)));
                }
                let members = values
                    .iter()
                    .map(|v| with_features(vec![("name", Json::str(v.name.as_str()))], &v.features))
                    .collect();
                obj.push(("members", Json::Array(members)));
                let names: Vec<String> = values.iter().map(|v| v.name.clone()).collect();
                obj.push(("values", Json::strs(&names)));
                Json::Object(obj)
            }
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                // Members are used (and numbered) before variants.
                let mut members = Vec::new();
                for m in schema.all_members(&name) {
                    let ty = self.use_ref(&m.ty);
                    let mut mo = vec![
                        ("name", Json::str(m.name.as_str())),
                        ("type", Json::Str(ty)),
                    ];
                    if m.optional {
                        mo.push(("default", Json::Null));
                    }
                    members.push(with_features(mo, &m.features));
                }
                let mut variants = None;
                if let TypeKind::Union {
                    base,
                    tag,
                    branches,
                } = &def.kind
                {
                    let mut vs = Vec::new();
                    for b in branches {
                        let ty = self.use_named(&b.ty);
                        vs.push(Json::Object(vec![
                            ("case", Json::str(b.case.as_str())),
                            ("type", Json::Str(ty)),
                        ]));
                    }
                    for v in schema.tag_values(base, tag) {
                        if !branches.iter().any(|b| b.case == v.name) {
                            let ty = self.use_named(EMPTY);
                            vs.push(Json::Object(vec![
                                ("case", Json::str(v.name.as_str())),
                                ("type", Json::Str(ty)),
                            ]));
                        }
                    }
                    variants = Some((tag.clone(), vs));
                }
                let masked = self.number(&name);
                let mut obj = self.head(masked, "object");
                if !def.features.is_empty() {
                    obj.push(("features", Json::strs(&def.features)));
                }
                obj.push(("members", Json::Array(members)));
                if let Some((tag, vs)) = variants {
                    obj.push(("tag", Json::Str(tag)));
                    obj.push(("variants", Json::Array(vs)));
                }
                Json::Object(obj)
            }
            TypeKind::Alternate(branches) => {
                let members = branches
                    .iter()
                    .map(|b| {
                        let ty = self.use_named(&b.ty);
                        Json::Object(vec![("type", Json::Str(ty))])
                    })
                    .collect();
                let masked = self.number(&name);
                let mut obj = self.head(masked, "alternate");
                if !def.features.is_empty() {
                    obj.push(("features", Json::strs(&def.features)));
                }
                obj.push(("members", Json::Array(members)));
                Json::Object(obj)
            }
        };
        self.out.push(entry);
    }
}

/// The SchemaInfo list as JSON text.
pub fn generate(schema: &Schema) -> String {
    let mut g = Gen {
        schema,
        numbers: HashMap::new(),
        used: Vec::new(),
        out: Vec::new(),
    };
    for &e in &schema.entities {
        g.entity(e);
    }
    // Visiting a type can use more types; they join the end of the
    // queue, exactly like QEMU's list it appends to while iterating.
    let mut i = 0;
    while let Some(u) = g.used.get(i).cloned() {
        g.used_type(u);
        i += 1;
    }
    let mut text = String::new();
    Json::Array(g.out).write(&mut text);
    text.push('\n');
    text
}

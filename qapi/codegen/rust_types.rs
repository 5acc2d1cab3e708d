//! Rust definitions of the schema's types: structs, enums, unions and
//! alternates with serde support and QMP input checking (FromQapi).

use std::collections::HashSet;
use std::fmt::Write;

use super::error::GenError;
use super::model::{Builtin, Member, Role, Schema, TypeDef, TypeKind, TypeRef};
use super::names::{camel, field, type_ident};

/// Appends `text` as `///` lines at `indent`.
pub fn doc_comment(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

/// The Rust type for a QAPI type name; `prefix` qualifies generated
/// types when used outside the `types` module.
pub fn rust_named(schema: &Schema, name: &str, prefix: &str) -> String {
    if let Some(b) = Builtin::from_name(name) {
        return match b {
            Builtin::Str => "String",
            Builtin::Number => "f64",
            Builtin::Int | Builtin::Int64 => "i64",
            Builtin::Int8 => "i8",
            Builtin::Int16 => "i16",
            Builtin::Int32 => "i32",
            Builtin::Uint8 => "u8",
            Builtin::Uint16 => "u16",
            Builtin::Uint32 => "u32",
            Builtin::Uint64 | Builtin::Size => "u64",
            Builtin::Bool => "bool",
            Builtin::Null => "crate::Null",
            Builtin::Any => "::serde_json::Value",
        }
        .to_string();
    }
    match schema.lookup(name).and_then(type_ident) {
        Some(id) => format!("{prefix}{id}"),
        // check() guarantees every reference resolves to a Rust type.
        None => "()".to_string(),
    }
}

pub fn rust_ref(schema: &Schema, ty: &TypeRef, prefix: &str) -> String {
    match ty {
        TypeRef::Named(n) => rust_named(schema, n, prefix),
        TypeRef::Array(n) => format!("Vec<{}>", rust_named(schema, n, prefix)),
    }
}

/// Whether a value of type `from` holds a `target` inline (not behind
/// a Vec), in which case a member of that type needs a Box.
fn holds_inline(schema: &Schema, from: &str, target: &str, seen: &mut HashSet<String>) -> bool {
    if from == target {
        return true;
    }
    if !seen.insert(from.to_string()) {
        return false;
    }
    let Some(def) = schema.lookup(from) else {
        return false;
    };
    let mut inner: Vec<String> = Vec::new();
    match &def.kind {
        TypeKind::Struct { .. } => {}
        TypeKind::Union { branches, .. } => inner.extend(branches.iter().map(|b| b.ty.clone())),
        TypeKind::Alternate(bs) => inner.extend(bs.iter().map(|b| b.ty.clone())),
        _ => return false,
    }
    for m in schema.all_members(from) {
        if let TypeRef::Named(n) = &m.ty {
            inner.push(n.clone());
        }
    }
    inner.iter().any(|n| holds_inline(schema, n, target, seen))
}

fn member_type(schema: &Schema, owner: &str, m: &Member) -> String {
    let mut ty = rust_ref(schema, &m.ty, "");
    if let TypeRef::Named(n) = &m.ty {
        if holds_inline(schema, n, owner, &mut HashSet::new()) {
            ty = format!("Box<{ty}>");
        }
    }
    if m.optional {
        ty = format!("Option<{ty}>");
    }
    ty
}

/// Whether JSON null is a valid value of `ty` (then a present null must
/// not read back as an absent member).
fn takes_null(schema: &Schema, ty: &TypeRef) -> bool {
    let TypeRef::Named(n) = ty else { return false };
    match schema.lookup(n).map(|t| &t.kind) {
        Some(TypeKind::Builtin(Builtin::Null | Builtin::Any)) => true,
        Some(TypeKind::Alternate(bs)) => bs.iter().any(|b| b.ty == "null"),
        _ => false,
    }
}

fn serde_attr(schema: &Schema, m: &Member) -> String {
    if m.optional && takes_null(schema, &m.ty) {
        format!(
            "    #[serde(rename = \"{}\", default, skip_serializing_if = \"Option::is_none\", deserialize_with = \"crate::present\")]\n",
            m.name
        )
    } else if m.optional {
        format!(
            "    #[serde(rename = \"{}\", default, skip_serializing_if = \"Option::is_none\")]\n",
            m.name
        )
    } else {
        format!("    #[serde(rename = \"{}\")]\n", m.name)
    }
}

fn member_fields(out: &mut String, schema: &Schema, owner: &TypeDef, members: &[&Member]) {
    for m in members {
        if let Some(text) = schema.member_doc(&owner.name, &m.name) {
            doc_comment(out, "    ", &text);
        }
        if !m.features.is_empty() {
            doc_comment(
                out,
                "    ",
                &format!("\nFeatures: {}", m.features.join(", ")),
            );
        }
        out.push_str(&serde_attr(schema, m));
        let _ = writeln!(
            out,
            "    pub {}: {},",
            field(&m.name),
            member_type(schema, &owner.name, m)
        );
    }
}

fn type_doc(out: &mut String, def: &TypeDef) {
    let mut text = match &def.role {
        Role::CommandArg(c) => format!("The arguments of command `{c}`."),
        Role::EventData(e) => format!("The data of event `{e}`."),
        _ => def.doc.as_ref().map(|d| d.body.clone()).unwrap_or_default(),
    };
    if text.is_empty() {
        text = format!("QAPI type `{}`.", def.name);
    }
    if !def.features.is_empty() {
        text.push_str(&format!("\n\nFeatures: {}", def.features.join(", ")));
    }
    doc_comment(out, "", &text);
}

/// The statements that read members from a `Dict` named `d` into
/// locals named after the fields.
/// `annotate` gives one member an explicit type (a union's tag, which
/// is read before the match that would otherwise infer it).
fn visit_locals(
    out: &mut String,
    members: &[&Member],
    indent: &str,
    annotate: Option<(&str, &str)>,
) {
    for m in members {
        let how = if m.optional { "optional" } else { "required" };
        let ty = match annotate {
            Some((name, ty)) if name == m.name => format!(": {ty}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{indent}let {}{ty} = d.{how}(\"{}\")?;",
            field(&m.name),
            m.name
        );
    }
}

const VISIT_SIG: &str =
    "fn visit_members(d: &mut crate::visit::Dict<'_, '_>) -> Result<Self, crate::QapiError>";
const FROM_SIG: &str =
    "fn from_qapi(v: &::serde_json::Value, at: &crate::visit::Loc<'_>) -> Result<Self, crate::QapiError>";

fn from_qapi_via_struct(out: &mut String, id: &str) {
    let _ = writeln!(
        out,
        "impl crate::visit::FromQapi for {id} {{\n    {FROM_SIG} {{\n        crate::visit::visit_struct(v, at)\n    }}\n}}\n"
    );
}

fn gen_struct(out: &mut String, schema: &Schema, def: &TypeDef, id: &str) {
    let members = schema.all_members(&def.name);
    type_doc(out, def);
    let default = if members.iter().all(|m| m.optional) {
        ", Default"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq{default}, ::serde::Serialize, ::serde::Deserialize)]\npub struct {id} {{"
    );
    member_fields(out, schema, def, &members);
    out.push_str("}\n\n");
    let _ = writeln!(
        out,
        "impl crate::visit::VisitMembers for {id} {{\n    {VISIT_SIG} {{"
    );
    visit_locals(out, &members, "        ", None);
    let fields: Vec<String> = members.iter().map(|m| field(&m.name)).collect();
    let _ = writeln!(
        out,
        "        Ok(Self {{ {} }})\n    }}\n}}\n",
        fields.join(", ")
    );
    from_qapi_via_struct(out, id);
}

fn gen_enum(out: &mut String, def: &TypeDef, id: &str, values: &[super::model::EnumValue]) {
    type_doc(out, def);
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]\npub enum {id} {{"
    );
    for v in values {
        let mut text = def
            .doc
            .as_ref()
            .and_then(|d| d.member(&v.name))
            .map(str::to_string)
            .unwrap_or_default();
        if !v.features.is_empty() {
            text.push_str(&format!("\n\nFeatures: {}", v.features.join(", ")));
        }
        doc_comment(out, "    ", text.trim_start());
        let _ = writeln!(
            out,
            "    #[serde(rename = \"{}\")]\n    {},",
            v.name,
            camel(&v.name)
        );
    }
    out.push_str("}\n\n");
    let all: Vec<String> = values
        .iter()
        .map(|v| format!("Self::{}", camel(&v.name)))
        .collect();
    let _ = writeln!(
        out,
        "impl {id} {{\n    /// Every value, in schema order.\n    pub const ALL: &'static [Self] = &[{}];\n",
        all.join(", ")
    );
    out.push_str("    /// The value's name on the wire.\n    pub fn as_str(self) -> &'static str {\n        match self {\n");
    for v in values {
        let _ = writeln!(
            out,
            "            Self::{} => \"{}\",",
            camel(&v.name),
            v.name
        );
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// The value with this wire name, if there is one.\n    pub fn parse(s: &str) -> Option<Self> {\n        match s {\n");
    for v in values {
        let _ = writeln!(
            out,
            "            \"{}\" => Some(Self::{}),",
            v.name,
            camel(&v.name)
        );
    }
    out.push_str("            _ => None,\n        }\n    }\n}\n\n");
    let _ = writeln!(
        out,
        "impl ::std::fmt::Display for {id} {{\n    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n"
    );
    let _ = writeln!(
        out,
        "impl crate::visit::FromQapi for {id} {{\n    {FROM_SIG} {{\n        crate::visit::visit_enum(v, at, Self::parse)\n    }}\n}}\n"
    );
}

fn gen_union(out: &mut String, schema: &Schema, def: &TypeDef, id: &str) -> Result<(), GenError> {
    let TypeKind::Union {
        base,
        tag,
        branches,
    } = &def.kind
    else {
        return Ok(());
    };
    let base_members = schema.all_members(base);
    let tag_member = base_members
        .iter()
        .find(|m| m.name == *tag)
        .ok_or_else(|| def.origin.error("union without its tag member"))?;
    let tag_enum = rust_named(schema, tag_member.ty.base_name(), "");
    let others: Vec<&Member> = base_members
        .iter()
        .copied()
        .filter(|m| m.name != *tag)
        .collect();
    let variant_id = format!("{id}Variant");
    let tag_field = field(tag);

    type_doc(out, def);
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]\npub struct {id} {{"
    );
    member_fields(out, schema, def, &others);
    let tag_doc = schema.member_doc(&def.name, tag).unwrap_or_default();
    doc_comment(
        out,
        "    ",
        &format!("{tag_doc}\n\nThe `{tag}` member, with the members its value selects."),
    );
    let _ = writeln!(
        out,
        "    #[serde(flatten)]\n    pub {tag_field}: {variant_id},\n}}\n"
    );

    let _ = writeln!(
        out,
        "/// The `{tag}` of a [`{id}`] and the members that come with it.\n#[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]\n#[serde(tag = \"{tag}\")]\npub enum {variant_id} {{"
    );
    let values = schema.tag_values(base, tag);
    let payload = |case: &str| {
        branches
            .iter()
            .find(|b| b.case == case)
            .map(|b| rust_named(schema, &b.ty, ""))
    };
    for v in &values {
        let _ = write!(
            out,
            "    #[serde(rename = \"{}\")]\n    {}",
            v.name,
            camel(&v.name)
        );
        match payload(&v.name) {
            Some(p) => {
                let _ = writeln!(out, "({p}),");
            }
            None => out.push_str(",\n"),
        }
    }
    out.push_str("}\n\n");
    let _ = writeln!(
        out,
        "impl {variant_id} {{\n    /// The tag value.\n    pub fn tag(&self) -> {tag_enum} {{\n        match self {{"
    );
    for v in &values {
        let pat = if payload(&v.name).is_some() {
            "(_)"
        } else {
            ""
        };
        let c = camel(&v.name);
        let _ = writeln!(out, "            Self::{c}{pat} => {tag_enum}::{c},");
    }
    out.push_str("        }\n    }\n}\n\n");

    // Reading: base members in order (the tag among them), then the
    // members of the selected branch, as QEMU's input visitor does.
    let _ = writeln!(
        out,
        "impl crate::visit::VisitMembers for {id} {{\n    {VISIT_SIG} {{"
    );
    visit_locals(out, &base_members, "        ", Some((tag, &tag_enum)));
    let _ = writeln!(out, "        let {tag_field} = match {tag_field} {{");
    for v in &values {
        let c = camel(&v.name);
        match payload(&v.name) {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "            {tag_enum}::{c} => {variant_id}::{c}(<{p} as crate::visit::VisitMembers>::visit_members(d)?),"
                );
            }
            None => {
                let _ = writeln!(out, "            {tag_enum}::{c} => {variant_id}::{c},");
            }
        }
    }
    out.push_str("        };\n");
    let mut fields: Vec<String> = others.iter().map(|m| field(&m.name)).collect();
    fields.push(tag_field);
    let _ = writeln!(
        out,
        "        Ok(Self {{ {} }})\n    }}\n}}\n",
        fields.join(", ")
    );
    from_qapi_via_struct(out, id);
    Ok(())
}

fn gen_alternate(
    out: &mut String,
    schema: &Schema,
    def: &TypeDef,
    id: &str,
    branches: &[super::model::AltBranch],
) {
    use super::model::{json_kind, JsonKind};
    type_doc(out, def);
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]\n#[serde(untagged)]\npub enum {id} {{"
    );
    for b in branches {
        if let Some(text) = def.doc.as_ref().and_then(|d| d.member(&b.name)) {
            doc_comment(out, "    ", text);
        }
        let _ = writeln!(
            out,
            "    {}({}),",
            camel(&b.name),
            rust_named(schema, &b.ty, "")
        );
    }
    out.push_str("}\n\n");
    // QEMU picks the branch by the JSON type of the value, and names
    // the alternate itself when none fits.
    let _ = writeln!(
        out,
        "impl crate::visit::FromQapi for {id} {{\n    {FROM_SIG} {{\n        match v {{"
    );
    for b in branches {
        let pat = match json_kind(schema, &b.ty) {
            Some(JsonKind::String) => "::serde_json::Value::String(_)",
            Some(JsonKind::Number) => "::serde_json::Value::Number(_)",
            Some(JsonKind::Bool) => "::serde_json::Value::Bool(_)",
            Some(JsonKind::Null) => "::serde_json::Value::Null",
            Some(JsonKind::Object) => "::serde_json::Value::Object(_)",
            None => continue,
        };
        let _ = writeln!(
            out,
            "            {pat} => Ok(Self::{}(crate::visit::FromQapi::from_qapi(v, at)?)),",
            camel(&b.name)
        );
    }
    let _ = writeln!(
        out,
        "            _ => Err(crate::QapiError::invalid_type(at.bare_name(), \"{}\")),\n        }}\n    }}\n}}\n",
        def.name
    );
}

/// The body of the generated `types` module.
pub fn generate(schema: &Schema) -> Result<String, GenError> {
    let mut out = String::new();
    let mut idents = HashSet::new();
    for def in &schema.types {
        let Some(id) = type_ident(def) else { continue };
        let mut claim = |name: String| {
            if idents.insert(name.clone()) {
                Ok(())
            } else {
                Err(def.origin.error(format!("Rust name {name} is used twice")))
            }
        };
        claim(id.clone())?;
        match &def.kind {
            TypeKind::Builtin(_) => {}
            TypeKind::Enum(values) => gen_enum(&mut out, def, &id, values),
            TypeKind::Struct { .. } => gen_struct(&mut out, schema, def, &id),
            TypeKind::Union { .. } => {
                claim(format!("{id}Variant"))?;
                gen_union(&mut out, schema, def, &id)?;
            }
            TypeKind::Alternate(branches) => gen_alternate(&mut out, schema, def, &id, branches),
        }
    }
    Ok(out)
}

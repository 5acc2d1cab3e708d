//! The `commands` and `events` modules: the typed command and event
//! enums, argument parsing and the tables the monitor dispatches with.

use std::fmt::Write;

use super::model::{Schema, TypeRef};
use super::names::camel;
use super::rust_types::{doc_comment, rust_named, rust_ref};

fn str_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|f| format!("{f:?}")).collect();
    format!("&[{}]", quoted.join(", "))
}

fn opt_str(s: Option<String>) -> String {
    match s {
        Some(s) => format!("Some({s:?})"),
        None => "None".to_string(),
    }
}

/// One element of a static table: `Type { field: value, ... },`.
fn struct_literal(out: &mut String, ty: &str, fields: &[(&str, String)]) {
    let _ = writeln!(out, "    {ty} {{");
    for (name, value) in fields {
        let _ = writeln!(out, "        {name}: {value},");
    }
    out.push_str("    },\n");
}

/// A type reference as QAPI writes it, with arrays as "[T]".
fn qapi_ref(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named(n) => n.clone(),
        TypeRef::Array(n) => format!("[{n}]"),
    }
}

/// "`name`: first paragraph of the doc", for the enum variants.
fn summary(name: &str, doc: Option<&super::doc::Doc>) -> String {
    let first = doc
        .and_then(|d| d.body.split("\n\n").next())
        .unwrap_or_default();
    if first.is_empty() {
        format!("`{name}`")
    } else {
        format!("`{name}`: {first}")
    }
}

pub fn commands(schema: &Schema) -> String {
    let mut out = String::new();
    out.push_str("use super::types;\n\n");
    out.push_str(
        "/// A command with its arguments checked as QEMU checks them.\n\
         #[derive(Debug, Clone, PartialEq)]\npub enum Command {\n",
    );
    for c in &schema.commands {
        doc_comment(&mut out, "    ", &summary(&c.name, c.doc.as_ref()));
        match &c.arg_type {
            Some(a) => {
                let _ = writeln!(
                    out,
                    "    {}({}),",
                    camel(&c.name),
                    rust_named(schema, a, "types::")
                );
            }
            None => {
                let _ = writeln!(out, "    {},", camel(&c.name));
            }
        }
    }
    out.push_str("}\n\nimpl Command {\n    /// The command's name on the wire.\n    pub fn name(&self) -> &'static str {\n        match self {\n");
    for c in &schema.commands {
        let pat = if c.arg_type.is_some() { "(_)" } else { "" };
        let _ = writeln!(
            out,
            "            Self::{}{pat} => {:?},",
            camel(&c.name),
            c.name
        );
    }
    out.push_str("        }\n    }\n}\n\n");

    out.push_str(
        "/// Check `args` against command `name`'s schema and build the command.\n\
         pub fn parse_command(\n    name: &str,\n    args: &::serde_json::Map<String, ::serde_json::Value>,\n) -> Result<Command, crate::QapiError> {\n    match name {\n",
    );
    for c in &schema.commands {
        let v = camel(&c.name);
        match &c.arg_type {
            Some(_) => {
                let _ = writeln!(
                    out,
                    "        {:?} => Ok(Command::{v}(crate::visit::arguments(args)?)),",
                    c.name
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "        {:?} => {{\n            crate::visit::no_arguments(args)?;\n            Ok(Command::{v})\n        }}",
                    c.name
                );
            }
        }
    }
    out.push_str("        _ => Err(crate::QapiError::command_not_found(name)),\n    }\n}\n\n");

    out.push_str(
        "/// Every command, in schema order.\npub static COMMANDS: &[crate::CommandDef] = &[\n",
    );
    for c in &schema.commands {
        struct_literal(
            &mut out,
            "crate::CommandDef",
            &[
                ("name", format!("{:?}", c.name)),
                ("arg_type", opt_str(c.arg_type.clone())),
                ("ret_type", opt_str(c.returns.as_ref().map(qapi_ref))),
                ("allow_oob", c.allow_oob.to_string()),
                ("allow_preconfig", c.allow_preconfig.to_string()),
                ("success_response", c.success_response.to_string()),
                ("features", str_list(&c.features)),
            ],
        );
    }
    out.push_str("];\n\n");

    out.push_str(
        "/// The Rust type of each command's result, named after the command.\n\
         /// Commands without one return `{}`.\npub mod returns {\n    #[allow(unused_imports)]\n    use super::types;\n\n",
    );
    for c in &schema.commands {
        if let Some(r) = &c.returns {
            let _ = writeln!(
                out,
                "    /// What `{}` returns.\n    pub type {} = {};",
                c.name,
                camel(&c.name),
                rust_ref(schema, r, "types::")
            );
        }
    }
    out.push_str("}\n");
    out
}

pub fn events(schema: &Schema) -> String {
    let mut out = String::new();
    out.push_str("use super::types;\n\n");
    out.push_str(
        "/// An event with its data.\n#[derive(Debug, Clone, PartialEq)]\npub enum Event {\n",
    );
    for e in &schema.events {
        doc_comment(&mut out, "    ", &summary(&e.name, e.doc.as_ref()));
        match &e.arg_type {
            Some(a) => {
                let _ = writeln!(
                    out,
                    "    {}({}),",
                    camel(&e.name),
                    rust_named(schema, a, "types::")
                );
            }
            None => {
                let _ = writeln!(out, "    {},", camel(&e.name));
            }
        }
    }
    out.push_str("}\n\nimpl Event {\n    /// The event's name on the wire.\n    pub fn name(&self) -> &'static str {\n        match self {\n");
    for e in &schema.events {
        let pat = if e.arg_type.is_some() { "(_)" } else { "" };
        let _ = writeln!(
            out,
            "            Self::{}{pat} => {:?},",
            camel(&e.name),
            e.name
        );
    }
    out.push_str(
        "        }\n    }\n\n    /// The event's `data` member; None for events that have no data,\n    \
         /// whose messages omit the member.\n    pub fn data(&self) -> Option<::serde_json::Value> {\n        match self {\n",
    );
    for e in &schema.events {
        let v = camel(&e.name);
        match &e.arg_type {
            Some(_) => {
                let _ = writeln!(out, "            Self::{v}(d) => Some(crate::to_json(d)),");
            }
            None => {
                let _ = writeln!(out, "            Self::{v} => None,");
            }
        }
    }
    out.push_str("        }\n    }\n}\n\n");
    out.push_str("/// Every event, in schema order.\npub static EVENTS: &[crate::EventDef] = &[\n");
    for e in &schema.events {
        struct_literal(
            &mut out,
            "crate::EventDef",
            &[
                ("name", format!("{:?}", e.name)),
                ("arg_type", opt_str(e.arg_type.clone())),
                ("features", str_list(&e.features)),
            ],
        );
    }
    out.push_str(
        "];\n\n/// Every event name, in schema order.\npub static EVENT_NAMES: &[&str] = &[",
    );
    let names: Vec<String> = schema
        .events
        .iter()
        .map(|e| format!("{:?}", e.name))
        .collect();
    out.push_str(&names.join(", "));
    out.push_str("];\n");
    out
}

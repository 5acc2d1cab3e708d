//! Rust identifiers for QAPI names.

use super::model::{Role, TypeDef};

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "try", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield",
];

/// Words that cannot even be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate"];

/// "query-status" -> "QueryStatus", "BALLOON_CHANGE" -> "BalloonChange",
/// "x86_64" -> "X86_64" (an underscore stays between two digits, where
/// dropping it would merge the numbers).
pub fn camel(name: &str) -> String {
    let shouting = !name.chars().any(|c| c.is_ascii_lowercase());
    let mut out = String::new();
    for part in name.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
        if out.ends_with(|c: char| c.is_ascii_digit())
            && part.starts_with(|c: char| c.is_ascii_digit())
        {
            out.push('_');
        }
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            let rest: String = chars.collect();
            if shouting {
                out.push_str(&rest.to_ascii_lowercase());
            } else {
                out.push_str(&rest);
            }
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    if NOT_RAW.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// A struct field or local variable name: "cpu-index" -> "cpu_index",
/// "UUID" -> "uuid", "type" -> "r#type".
pub fn field(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if NOT_RAW.contains(&out.as_str()) {
        out.push('_');
    } else if KEYWORDS.contains(&out.as_str()) {
        out.insert_str(0, "r#");
    }
    out
}

/// The Rust name of a type that gets a Rust definition; None for
/// builtins, the empty type and implicit union bases (whose members
/// go straight into the union's struct).
pub fn type_ident(def: &TypeDef) -> Option<String> {
    match &def.role {
        Role::Explicit => Some(if def.name.chars().all(|c| c.is_ascii_alphanumeric()) {
            def.name.clone()
        } else {
            camel(&def.name)
        }),
        Role::CommandArg(c) => Some(format!("{}Args", camel(c))),
        Role::EventData(e) => Some(format!("{}EventData", camel(e))),
        Role::Builtin | Role::UnionBase(_) | Role::Empty => None,
    }
}

//! The rules a schema must follow before code is generated from it.

use std::collections::HashSet;

use super::error::{GenError, Origin};
use super::model::{json_kind, Member, Role, Schema, TypeKind, TypeRef, EMPTY};

fn check_ref(schema: &Schema, ty: &TypeRef, o: &Origin) -> Result<(), GenError> {
    let n = ty.base_name();
    if n == EMPTY || schema.lookup(n).is_none() {
        return Err(o.error(format!("unknown type '{n}'")));
    }
    Ok(())
}

fn is_struct(schema: &Schema, name: &str) -> bool {
    matches!(
        schema.lookup(name).map(|t| (&t.kind, &t.role)),
        Some((TypeKind::Struct { .. }, r)) if *r != Role::Empty
    )
}

fn unique_members(
    schema: &Schema,
    members: &[&Member],
    what: &str,
    o: &Origin,
) -> Result<(), GenError> {
    let mut seen = HashSet::new();
    for m in members {
        // Rust field names must differ too: 'a-b' and 'a_b' would clash.
        if !seen.insert(m.name.replace('-', "_").to_ascii_lowercase()) {
            return Err(o.error(format!(
                "member '{}' of {what} clashes with another",
                m.name
            )));
        }
        check_ref(schema, &m.ty, o)?;
    }
    Ok(())
}

/// QAPI names are letters, digits, '-', '_' and '.'; generated code
/// quotes them without escaping, so nothing else may get through.
fn check_name(name: &str, o: &Origin) -> Result<(), GenError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(o.error(format!("invalid name '{name}'")));
    }
    Ok(())
}

fn check_names(schema: &Schema) -> Result<(), GenError> {
    for t in &schema.types {
        let o = &t.origin;
        check_name(&t.name, o)?;
        t.features.iter().try_for_each(|f| check_name(f, o))?;
        match &t.kind {
            TypeKind::Enum(values) => {
                for v in values {
                    check_name(&v.name, o)?;
                    v.features.iter().try_for_each(|f| check_name(f, o))?;
                }
            }
            TypeKind::Struct { members, .. } => {
                for m in members {
                    check_name(&m.name, o)?;
                    m.features.iter().try_for_each(|f| check_name(f, o))?;
                }
            }
            TypeKind::Alternate(branches) => {
                branches.iter().try_for_each(|b| check_name(&b.name, o))?
            }
            TypeKind::Builtin(_) | TypeKind::Union { .. } => {}
        }
    }
    for c in &schema.commands {
        check_name(&c.name, &c.origin)?;
        c.features
            .iter()
            .try_for_each(|f| check_name(f, &c.origin))?;
    }
    for e in &schema.events {
        check_name(&e.name, &e.origin)?;
        e.features
            .iter()
            .try_for_each(|f| check_name(f, &e.origin))?;
    }
    Ok(())
}

pub fn check(schema: &Schema) -> Result<(), GenError> {
    check_names(schema)?;
    for t in &schema.types {
        let o = &t.origin;
        match &t.kind {
            TypeKind::Builtin(_) => {}
            TypeKind::Enum(values) => {
                let mut seen = HashSet::new();
                for v in values {
                    if !seen.insert(v.name.as_str()) {
                        return Err(o.error(format!("duplicate value '{}' in {}", v.name, t.name)));
                    }
                }
            }
            TypeKind::Struct { base, .. } => {
                if let Some(b) = base {
                    if !is_struct(schema, b) {
                        return Err(o.error(format!("base '{b}' of {} is not a struct", t.name)));
                    }
                }
                let mut chain = vec![t.name.as_str()];
                let mut next = base.as_deref();
                while let Some(b) = next {
                    if chain.contains(&b) {
                        return Err(o.error(format!("{} is its own base", t.name)));
                    }
                    chain.push(b);
                    next = match schema.lookup(b).map(|x| &x.kind) {
                        Some(TypeKind::Struct { base, .. }) => base.as_deref(),
                        _ => None,
                    };
                }
                unique_members(schema, &schema.all_members(&t.name), &t.name, o)?;
            }
            TypeKind::Union {
                base,
                tag,
                branches,
            } => {
                if !is_struct(schema, base) {
                    return Err(o.error(format!("base of union {} is not a struct", t.name)));
                }
                let base_members = schema.all_members(base);
                let tag_member = base_members
                    .iter()
                    .find(|m| m.name == *tag)
                    .ok_or_else(|| {
                        o.error(format!("discriminator '{tag}' is not a base member"))
                    })?;
                if tag_member.optional {
                    return Err(o.error(format!("discriminator '{tag}' must not be optional")));
                }
                let values = schema.tag_values(base, tag);
                if values.is_empty() {
                    return Err(o.error(format!("discriminator '{tag}' must be of an enum type")));
                }
                let mut seen = HashSet::new();
                for b in branches {
                    if !values.iter().any(|v| v.name == b.case) {
                        return Err(
                            o.error(format!("'{}' is not a value of the discriminator", b.case))
                        );
                    }
                    if !seen.insert(b.case.as_str()) {
                        return Err(o.error(format!("duplicate branch '{}'", b.case)));
                    }
                    if !is_struct(schema, &b.ty) {
                        return Err(o.error(format!("branch type '{}' is not a struct", b.ty)));
                    }
                    let mut all = base_members.clone();
                    all.extend(schema.all_members(&b.ty));
                    unique_members(schema, &all, &t.name, o)?;
                }
                unique_members(schema, &base_members, &t.name, o)?;
            }
            TypeKind::Alternate(branches) => {
                let mut kinds = Vec::new();
                for b in branches {
                    check_ref(schema, &TypeRef::Named(b.ty.clone()), o)?;
                    let k = json_kind(schema, &b.ty).ok_or_else(|| {
                        o.error(format!("'{}' cannot be an alternate branch", b.ty))
                    })?;
                    if kinds.contains(&k) {
                        return Err(
                            o.error(format!("branches of {} are not distinguishable", t.name))
                        );
                    }
                    kinds.push(k);
                }
            }
        }
    }
    for c in &schema.commands {
        if let Some(a) = &c.arg_type {
            if !is_struct(schema, a)
                && !matches!(
                    schema.lookup(a).map(|t| &t.kind),
                    Some(TypeKind::Union { .. })
                )
            {
                return Err(c
                    .origin
                    .error(format!("arguments of {} must be an object type", c.name)));
            }
        }
        if let Some(r) = &c.returns {
            check_ref(schema, r, &c.origin)?;
        }
    }
    for e in &schema.events {
        if let Some(a) = &e.arg_type {
            if !is_struct(schema, a)
                && !matches!(
                    schema.lookup(a).map(|t| &t.kind),
                    Some(TypeKind::Union { .. })
                )
            {
                return Err(e
                    .origin
                    .error(format!("data of {} must be an object type", e.name)));
            }
        }
    }
    Ok(())
}

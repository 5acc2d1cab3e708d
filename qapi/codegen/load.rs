//! Building the schema model from the files: includes, definitions,
//! and the implicit types for inline members.

use std::path::{Path, PathBuf};

use super::doc::{self, Doc};
use super::error::{GenError, Origin};
use super::model::{
    AltBranch, Branch, Builtin, Command, Entity, EnumValue, Event, Member, Role, Schema, TypeDef,
    TypeKind, TypeRef, EMPTY,
};
use super::syntax::{self, Expr, TopExpr};

/// Read the schema starting at `root`, following includes.  Returns it
/// with the list of files read (for cargo's change tracking).
pub fn load(root: &Path) -> Result<(Schema, Vec<PathBuf>), GenError> {
    let mut b = Builder {
        schema: Schema::default(),
        files: Vec::new(),
    };
    for builtin in Builtin::ALL {
        b.schema.add_type(TypeDef {
            name: builtin.name().to_string(),
            kind: TypeKind::Builtin(builtin),
            features: Vec::new(),
            doc: None,
            role: Role::Builtin,
            origin: Origin {
                file: "<builtin>".into(),
                line: 0,
            },
        })?;
    }
    b.schema.add_type(TypeDef {
        name: EMPTY.to_string(),
        kind: TypeKind::Struct {
            base: None,
            members: Vec::new(),
        },
        features: Vec::new(),
        doc: None,
        role: Role::Empty,
        origin: Origin {
            file: "<builtin>".into(),
            line: 0,
        },
    })?;
    b.file(root)?;
    super::check::check(&b.schema)?;
    Ok((b.schema, b.files))
}

struct Builder {
    schema: Schema,
    files: Vec<PathBuf>,
}

type Dict = [(String, Expr)];

fn get<'a>(dict: &'a Dict, key: &str) -> Option<&'a Expr> {
    dict.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn string<'a>(e: &'a Expr, what: &str, o: &Origin) -> Result<&'a str, GenError> {
    match e {
        Expr::Str(s) => Ok(s),
        _ => Err(o.error(format!("{what} must be a string"))),
    }
}

fn flag(dict: &Dict, key: &str, default: bool, o: &Origin) -> Result<bool, GenError> {
    match get(dict, key) {
        None => Ok(default),
        Some(Expr::Bool(b)) => Ok(*b),
        Some(_) => Err(o.error(format!("'{key}' must be true or false"))),
    }
}

fn features(e: Option<&Expr>, o: &Origin) -> Result<Vec<String>, GenError> {
    let Some(e) = e else { return Ok(Vec::new()) };
    let Expr::List(items) = e else {
        return Err(o.error("'features' must be a list"));
    };
    items
        .iter()
        .map(|f| match f {
            Expr::Str(s) => Ok(s.clone()),
            Expr::Dict(d) => {
                only_keys(d, &["name"], "feature", o)?;
                let name = get(d, "name").ok_or_else(|| o.error("feature without 'name'"))?;
                Ok(string(name, "feature name", o)?.to_string())
            }
            _ => Err(o.error("a feature must be a string or an object")),
        })
        .collect()
}

/// Reject keys outside `allowed`: a typo must not silently drop a
/// property.  'if' is refused on purpose: we have no build conditions.
fn only_keys(dict: &Dict, allowed: &[&str], what: &str, o: &Origin) -> Result<(), GenError> {
    for (k, _) in dict {
        if !allowed.contains(&k.as_str()) {
            return Err(o.error(format!("unknown key '{k}' in {what}")));
        }
    }
    Ok(())
}

fn type_ref(e: &Expr, o: &Origin) -> Result<TypeRef, GenError> {
    match e {
        Expr::Str(s) => Ok(TypeRef::Named(s.clone())),
        Expr::List(items) => match items.as_slice() {
            [Expr::Str(s)] => Ok(TypeRef::Array(s.clone())),
            _ => Err(o.error("an array type is a list of exactly one type name")),
        },
        _ => Err(o.error("expected a type name or [type name]")),
    }
}

fn members(e: &Expr, o: &Origin) -> Result<Vec<Member>, GenError> {
    let Expr::Dict(d) = e else {
        return Err(o.error("'data' must be an object"));
    };
    d.iter()
        .map(|(key, value)| {
            let (name, optional) = match key.strip_prefix('*') {
                Some(n) => (n.to_string(), true),
                None => (key.clone(), false),
            };
            let (ty, feats) = match value {
                Expr::Dict(m) => {
                    only_keys(m, &["type", "features"], "member", o)?;
                    let ty = get(m, "type")
                        .ok_or_else(|| o.error(format!("member '{name}' has no 'type'")))?;
                    (type_ref(ty, o)?, features(get(m, "features"), o)?)
                }
                other => (type_ref(other, o)?, Vec::new()),
            };
            Ok(Member {
                name,
                optional,
                ty,
                features: feats,
            })
        })
        .collect()
}

impl Builder {
    fn file(&mut self, path: &Path) -> Result<(), GenError> {
        if self.files.iter().any(|f| f == path) {
            return Ok(()); // included twice: the first include wins, as in QAPI
        }
        self.files.push(path.to_path_buf());
        let src = std::fs::read_to_string(path).map_err(|source| GenError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let display = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for top in syntax::parse(&src, &display)? {
            self.expr(path, top)?;
        }
        Ok(())
    }

    fn expr(&mut self, path: &Path, top: TopExpr) -> Result<(), GenError> {
        let o = &top.origin;
        let d = &top.dict;
        let doc = match &top.doc {
            Some(lines) => Some(doc::parse(lines, o)?),
            None => None,
        };
        let Some((meta, name)) = d.first() else {
            return Err(o.error("empty definition"));
        };
        let name_str = |what: &str| string(name, what, o).map(str::to_string);
        if meta != "include" && meta != "pragma" {
            let n = name_str("the defined name")?;
            if let Some(doc) = &doc {
                if doc.symbol != n {
                    return Err(o.error(format!("doc block for '{}' precedes '{n}'", doc.symbol)));
                }
            }
        }
        match meta.as_str() {
            "include" => {
                only_keys(d, &["include"], "include", o)?;
                let dir = path.parent().unwrap_or(Path::new("."));
                self.file(&dir.join(name_str("include")?))
            }
            // Pragmas tune QAPI's own name checks, which we do not copy.
            "pragma" => Ok(()),
            "enum" => self.enum_def(name_str("enum")?, d, doc, o),
            "struct" => self.struct_def(name_str("struct")?, d, doc, o),
            "union" => self.union_def(name_str("union")?, d, doc, o),
            "alternate" => self.alternate_def(name_str("alternate")?, d, doc, o),
            "command" => self.command_def(name_str("command")?, d, doc, o),
            "event" => self.event_def(name_str("event")?, d, doc, o),
            other => Err(o.error(format!("unknown definition kind '{other}'"))),
        }
    }

    fn enum_def(
        &mut self,
        name: String,
        d: &Dict,
        doc: Option<Doc>,
        o: &Origin,
    ) -> Result<(), GenError> {
        // 'prefix' only renames C constants; accepted for fidelity.
        only_keys(d, &["enum", "data", "prefix", "features"], "enum", o)?;
        let Some(Expr::List(items)) = get(d, "data") else {
            return Err(o.error("enum 'data' must be a list"));
        };
        let values = items
            .iter()
            .map(|v| match v {
                Expr::Str(s) => Ok(EnumValue {
                    name: s.clone(),
                    features: Vec::new(),
                }),
                Expr::Dict(m) => {
                    only_keys(m, &["name", "features"], "enum value", o)?;
                    let n = get(m, "name").ok_or_else(|| o.error("enum value without 'name'"))?;
                    Ok(EnumValue {
                        name: string(n, "enum value", o)?.to_string(),
                        features: features(get(m, "features"), o)?,
                    })
                }
                _ => Err(o.error("an enum value must be a string or an object")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.schema.add_type(TypeDef {
            name,
            kind: TypeKind::Enum(values),
            features: features(get(d, "features"), o)?,
            doc,
            role: Role::Explicit,
            origin: o.clone(),
        })
    }

    fn struct_def(
        &mut self,
        name: String,
        d: &Dict,
        doc: Option<Doc>,
        o: &Origin,
    ) -> Result<(), GenError> {
        only_keys(d, &["struct", "data", "base", "features"], "struct", o)?;
        let members = match get(d, "data") {
            Some(e) => members(e, o)?,
            None => Vec::new(),
        };
        let base = match get(d, "base") {
            Some(e) => Some(string(e, "'base'", o)?.to_string()),
            None => None,
        };
        self.schema.add_type(TypeDef {
            name,
            kind: TypeKind::Struct { base, members },
            features: features(get(d, "features"), o)?,
            doc,
            role: Role::Explicit,
            origin: o.clone(),
        })
    }

    /// An implicit struct for inline members; None when there are none
    /// (QAPI treats `'data': {}` like no data at all).
    fn implicit(
        &mut self,
        name: String,
        members: Vec<Member>,
        role: Role,
        o: &Origin,
    ) -> Result<Option<String>, GenError> {
        if members.is_empty() {
            return Ok(None);
        }
        self.schema.add_type(TypeDef {
            name: name.clone(),
            kind: TypeKind::Struct {
                base: None,
                members,
            },
            features: Vec::new(),
            doc: None,
            role,
            origin: o.clone(),
        })?;
        Ok(Some(name))
    }

    fn union_def(
        &mut self,
        name: String,
        d: &Dict,
        doc: Option<Doc>,
        o: &Origin,
    ) -> Result<(), GenError> {
        only_keys(
            d,
            &["union", "base", "discriminator", "data", "features"],
            "union",
            o,
        )?;
        let base = match get(d, "base") {
            Some(Expr::Str(s)) => s.clone(),
            Some(e @ Expr::Dict(_)) => {
                let m = members(e, o)?;
                self.implicit(
                    format!("q_obj_{name}-base"),
                    m,
                    Role::UnionBase(name.clone()),
                    o,
                )?
                .ok_or_else(|| o.error("union base must have members"))?
            }
            _ => return Err(o.error("union needs a 'base' (type name or members)")),
        };
        let tag = string(
            get(d, "discriminator").ok_or_else(|| o.error("union needs a 'discriminator'"))?,
            "'discriminator'",
            o,
        )?
        .to_string();
        let Some(Expr::Dict(data)) = get(d, "data") else {
            return Err(o.error("union 'data' must be an object"));
        };
        let branches = data
            .iter()
            .map(|(case, v)| {
                let ty = match v {
                    Expr::Dict(m) => {
                        only_keys(m, &["type"], "union branch", o)?;
                        let t = get(m, "type").ok_or_else(|| o.error("branch without 'type'"))?;
                        string(t, "branch type", o)?.to_string()
                    }
                    other => string(other, "branch type", o)?.to_string(),
                };
                Ok(Branch {
                    case: case.clone(),
                    ty,
                })
            })
            .collect::<Result<Vec<_>, GenError>>()?;
        self.schema.add_type(TypeDef {
            name,
            kind: TypeKind::Union {
                base,
                tag,
                branches,
            },
            features: features(get(d, "features"), o)?,
            doc,
            role: Role::Explicit,
            origin: o.clone(),
        })
    }

    fn alternate_def(
        &mut self,
        name: String,
        d: &Dict,
        doc: Option<Doc>,
        o: &Origin,
    ) -> Result<(), GenError> {
        only_keys(d, &["alternate", "data", "features"], "alternate", o)?;
        let Some(Expr::Dict(data)) = get(d, "data") else {
            return Err(o.error("alternate 'data' must be an object"));
        };
        let branches = data
            .iter()
            .map(|(n, v)| {
                let ty = match v {
                    Expr::Dict(m) => {
                        only_keys(m, &["type"], "alternate branch", o)?;
                        let t = get(m, "type").ok_or_else(|| o.error("branch without 'type'"))?;
                        string(t, "branch type", o)?.to_string()
                    }
                    other => string(other, "alternate branch type", o)?.to_string(),
                };
                Ok(AltBranch {
                    name: n.clone(),
                    ty,
                })
            })
            .collect::<Result<Vec<_>, GenError>>()?;
        self.schema.add_type(TypeDef {
            name,
            kind: TypeKind::Alternate(branches),
            features: features(get(d, "features"), o)?,
            doc,
            role: Role::Explicit,
            origin: o.clone(),
        })
    }

    /// 'data' of a command or event: a type name or inline members.
    fn data(
        &mut self,
        d: &Dict,
        implicit_name: String,
        role: Role,
        o: &Origin,
    ) -> Result<Option<String>, GenError> {
        match get(d, "data") {
            None => Ok(None),
            Some(Expr::Str(s)) => Ok(Some(s.clone())),
            Some(e) => {
                let m = members(e, o)?;
                self.implicit(implicit_name, m, role, o)
            }
        }
    }

    fn command_def(
        &mut self,
        name: String,
        d: &Dict,
        doc: Option<Doc>,
        o: &Origin,
    ) -> Result<(), GenError> {
        only_keys(
            d,
            &[
                "command",
                "data",
                "returns",
                "boxed",
                "allow-oob",
                "allow-preconfig",
                "success-response",
                "coroutine",
                "features",
            ],
            "command",
            o,
        )?;
        self.schema.claim_name(&name, o)?;
        let arg_type = self.data(
            d,
            format!("q_obj_{name}-arg"),
            Role::CommandArg(name.clone()),
            o,
        )?;
        let returns = match get(d, "returns") {
            Some(e) => Some(type_ref(e, o)?),
            None => None,
        };
        // 'boxed' and 'coroutine' only change QEMU's C calling
        // convention; the wire is the same, so they are checked and
        // otherwise ignored.
        flag(d, "boxed", false, o)?;
        flag(d, "coroutine", false, o)?;
        self.schema
            .entities
            .push(Entity::Command(self.schema.commands.len()));
        self.schema.commands.push(Command {
            name,
            arg_type,
            returns,
            allow_oob: flag(d, "allow-oob", false, o)?,
            allow_preconfig: flag(d, "allow-preconfig", false, o)?,
            success_response: flag(d, "success-response", true, o)?,
            features: features(get(d, "features"), o)?,
            doc,
            origin: o.clone(),
        });
        Ok(())
    }

    fn event_def(
        &mut self,
        name: String,
        d: &Dict,
        doc: Option<Doc>,
        o: &Origin,
    ) -> Result<(), GenError> {
        only_keys(d, &["event", "data", "boxed", "features"], "event", o)?;
        self.schema.claim_name(&name, o)?;
        let arg_type = self.data(
            d,
            format!("q_obj_{name}-arg"),
            Role::EventData(name.clone()),
            o,
        )?;
        flag(d, "boxed", false, o)?;
        self.schema
            .entities
            .push(Entity::Event(self.schema.events.len()));
        self.schema.events.push(Event {
            name,
            arg_type,
            features: features(get(d, "features"), o)?,
            doc,
            origin: o.clone(),
        });
        Ok(())
    }
}

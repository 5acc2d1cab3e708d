//! User-created objects: `-object` (QemuOpts or JSON, `object_option_parse()`; `help` lists the
//! types or a type's properties) and `-audiodev`, both visited as QEMU's QAPI visitors do. QEMU
//! creates the objects in two rounds: memory backends with the late backends, the others with
//! the early ones.

use crate::options::error::ErrorKind;
use crate::options::json;
use crate::options::objects::{self, ObjectSpec};
use crate::options::qemuopts::{self, OptsList, Parsed as OptsParsed};
use crate::options::value::{Mode, Value};

use super::option_syntax::{noisily, visitor_mode};
use super::report::{at, info, plain, Step};
use super::Parser;

static OBJECT_OPTS: OptsList = OptsList {
    name: "object",
    implied: Some("qom-type"),
    merge: false,
    desc: None,
};

/// An `-object`, visited.
pub(super) struct ObjectEntry {
    pub(super) spec: ObjectSpec,
}

impl Parser {
    /// `-audiodev`: checked and dropped.
    pub(super) fn audiodev_option(&mut self, arg: &str, loc: &str) -> Step {
        let dict = self.json_or_keyval(arg, "driver", loc)?;
        let mode = visitor_mode(arg);
        objects::visit_audiodev(&dict, mode).map_err(|e| at(loc, e))?;
        Ok(())
    }

    /// `object_option_parse()`.
    pub(super) fn object_option(&mut self, arg: &str, loc: &str) -> Step {
        let (dict, mode) = if arg.starts_with('{') {
            match json::parse(arg).map_err(|e| at(loc, e))? {
                Value::Dict(d) => (d, Mode::Json),
                other => {
                    // A JSON list or scalar is not an object: QEMU's visitor wants a string type.
                    let _ = other;
                    return Err(at(
                        loc,
                        ErrorKind::InvalidParameterType {
                            name: "<anonymous>".into(),
                            expected: "object".into(),
                        },
                    ));
                }
            }
        } else {
            let parsed = qemuopts::parse(
                &OBJECT_OPTS,
                &mut self.object_store,
                arg,
                noisily(true),
                loc,
                &mut self.diags,
            )
            .map_err(|e| at(loc, e))?;
            let OptsParsed::Group(g) = parsed else {
                return Ok(());
            };
            let opts = self.object_store.groups[g].clone();
            let Some(qom_type) = opts.get("qom-type") else {
                return Err(at(
                    loc,
                    ErrorKind::ParameterMissing {
                        name: "qom-type".into(),
                    },
                ));
            };
            if qom_type == "help" || qom_type == "?" {
                return Err(info(objects::list_help(), 0));
            }
            if opts.has("help") {
                if let Some(text) = objects::type_help(qom_type) {
                    return Err(info(text, 0));
                }
            }
            let mut d: Vec<(String, Value)> = Vec::new();
            if let Some(id) = &opts.id {
                d.push(("id".into(), Value::Str(id.clone())));
            }
            for (k, v) in &opts.items {
                match d.iter_mut().find(|(dk, _)| dk == k) {
                    Some((_, old)) => *old = Value::Str(v.clone()),
                    None => d.push((k.clone(), Value::Str(v.clone()))),
                }
            }
            (d, Mode::Opts)
        };
        let spec = objects::visit_object(&dict, mode).map_err(|e| at(loc, e))?;
        self.objects.push(ObjectEntry { spec });
        Ok(())
    }

    /// The objects QEMU creates with the early backends (all but memory backends); returns
    /// the ids created.
    pub(super) fn create_early_objects(&self) -> Step<Vec<String>> {
        for o in self.objects.iter().filter(|o| !o.spec.is_memory_backend()) {
            objects::check_creation(&o.spec).map_err(plain)?;
        }
        let mut seen_objects: Vec<String> = Vec::new();
        for o in self.objects.iter().filter(|o| !o.spec.is_memory_backend()) {
            if seen_objects.contains(&o.spec.id) {
                return Err(plain(ErrorKind::DuplicateObject {
                    id: o.spec.id.clone(),
                }));
            }
            seen_objects.push(o.spec.id.clone());
        }
        Ok(seen_objects)
    }

    /// The memory backends, created with the late backends after the objects of `seen_objects`,
    /// whose ids they must not reuse.
    pub(super) fn create_memory_backends(&self, seen_objects: &mut Vec<String>) -> Step {
        for o in self.objects.iter().filter(|o| o.spec.is_memory_backend()) {
            objects::check_creation(&o.spec).map_err(plain)?;
            if seen_objects.contains(&o.spec.id) {
                return Err(plain(ErrorKind::DuplicateObject {
                    id: o.spec.id.clone(),
                }));
            }
            seen_objects.push(o.spec.id.clone());
        }
        Ok(())
    }
}

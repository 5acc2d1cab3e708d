//! `/objects/ID`: the `-object` objects (memory backends, secrets, iothreads, RNG backends) and
//! the RAM backend QEMU creates for the machine (`pc.ram`).

use std::any::Any;

use serde_json::Value;

use super::context::QomContext;
use super::error::QomError;
use super::object::{PropInfo, QomObject};
use super::types;
use super::value::{read, read_enum, Props, Written};

/// What the machine contributes to a memory backend's defaults.
#[derive(Debug, Clone, Copy)]
pub struct MachineDefaults {
    /// `-machine dump-guest-core`.
    pub dump: bool,
    /// `-machine mem-merge`.
    pub merge: bool,
    /// `-mem-prealloc`.
    pub prealloc: bool,
    /// `-smp cpus`: the default number of preallocation threads.
    pub prealloc_threads: u32,
}

pub struct BackendObject {
    type_name: String,
    props: Vec<(String, String)>,
    machine: MachineDefaults,
    /// The machine's own RAM backend: its size is the RAM size.
    ram_size: Option<u64>,
    prealloc_context: Option<String>,
    written: Written,
}

impl BackendObject {
    /// An `-object TYPE,id=…,PROPS`.
    pub fn new(type_name: &str, props: &[(String, String)], machine: MachineDefaults) -> Self {
        BackendObject {
            type_name: type_name.to_string(),
            props: props.to_vec(),
            machine,
            ram_size: None,
            prealloc_context: None,
            written: Written::default(),
        }
    }

    /// The `memory-backend-ram` QEMU creates when `-machine memory-backend` is not given.
    pub fn machine_ram(size: u64, machine: MachineDefaults) -> Self {
        BackendObject {
            ram_size: Some(size),
            ..Self::new("memory-backend-ram", &[], machine)
        }
    }

    fn memory(&self) -> bool {
        self.type_name.starts_with("memory-backend-")
    }

    fn configured(&self, name: &str, ctx: &dyn QomContext) -> Option<Value> {
        let p = Props(&self.props);
        let m = &self.machine;
        let boolean = |default: bool| Value::from(p.bool(name).unwrap_or(default));
        let int = |default: i64| Value::from(p.i64(name).unwrap_or(default));
        let string = |default: &str| Value::from(p.str(name).unwrap_or(default));
        Some(match (self.type_name.as_str(), name) {
            (_, "share") => boolean(self.type_name == "memory-backend-memfd"),
            (_, "size") => Value::from(match self.ram_size {
                Some(size) => ctx.ram_size().unwrap_or(size),
                None => p.u64(name).unwrap_or(0),
            }),
            (_, "dump") => boolean(m.dump),
            (_, "merge") => boolean(m.merge),
            (_, "prealloc") => boolean(m.prealloc),
            (_, "prealloc-threads") => int(i64::from(m.prealloc_threads)),
            (_, "x-use-canonical-path-for-ramblock-id") => boolean(false),
            (_, "policy") => string("default"),
            (_, "reserve") => boolean(true),
            (_, "host-nodes") => Value::Array(Vec::new()),
            (_, "pmem" | "discard-data" | "readonly" | "hugetlb") => boolean(false),
            (_, "seal") => boolean(true),
            (_, "align" | "offset" | "hugetlbsize") => Value::from(p.u64(name).unwrap_or(0)),
            (_, "mem-path") => string(""),
            // QEMU resolves rom=auto from readonly once the backend exists.
            (_, "rom") => Value::from(match p.str(name) {
                Some("on") => "on",
                Some("off") => "off",
                _ if p.bool("readonly") == Some(true) => "on",
                _ => "off",
            }),
            ("secret", "iv" | "keyid" | "file" | "data") => string(""),
            ("secret", "format") => string("raw"),
            ("iothread", "thread-pool-min" | "aio-max-batch" | "poll-grow" | "poll-shrink") => {
                int(0)
            }
            ("iothread", "thread-pool-max") => int(64),
            ("iothread", "poll-max-ns") => int(32768),
            (_, "opened") => Value::from(true),
            ("rng-random", "filename") => string("/dev/urandom"),
            _ => return None,
        })
    }

    fn set_memory(&mut self, name: &str, value: &Value) -> Result<Value, QomError> {
        let t = &self.type_name;
        // Properties the backend's memory was made with; QEMU refuses before reading the
        // value, each with its own wording.
        let frozen = match name {
            "share" | "reserve" | "hugetlbsize" => Some("cannot change property value".into()),
            "size" => Some(format!("cannot change property size of {t} ")),
            "pmem" | "rom" | "readonly" => Some(format!("cannot change property '{name}' of {t}.")),
            "align" | "offset" | "mem-path" => {
                Some(format!("cannot change property '{name}' of {t}"))
            }
            _ => None,
        };
        if let Some(msg) = frozen {
            return Err(QomError::Generic(msg));
        }
        Ok(match name {
            "dump"
            | "merge"
            | "prealloc"
            | "x-use-canonical-path-for-ramblock-id"
            | "discard-data"
            | "hugetlb"
            | "seal" => Value::from(read::<bool>(name, value)?),
            "prealloc-threads" => Value::from(read::<u32>(name, value)?),
            "policy" => Value::from(read_enum(
                name,
                value,
                &["default", "preferred", "bind", "interleave"],
            )?),
            "host-nodes" => Value::from(read::<Vec<u16>>(name, value)?),
            _ => return Err(QomError::not_writable(t, name)),
        })
    }

    fn set_other(&mut self, name: &str, value: &Value) -> Result<Value, QomError> {
        let t = self.type_name.clone();
        Ok(match (t.as_str(), name) {
            ("secret", "format") => Value::from(read_enum(name, value, &["raw", "base64"])?),
            ("secret", _) => Value::from(read::<String>(name, value)?),
            ("iothread", _) => {
                let v: i64 = read(name, value)?;
                if v < 0 {
                    return Err(QomError::Generic(format!(
                        "{name} value must be in range [0, {}]",
                        i64::MAX
                    )));
                }
                let (min, max) = match name {
                    "thread-pool-min" => (v, self.int("thread-pool-max")),
                    "thread-pool-max" => (self.int("thread-pool-min"), v),
                    _ => (0, 1),
                };
                if max < min || max == 0 {
                    return Err(QomError::Generic(
                        "bad thread-pool-min/thread-pool-max values".into(),
                    ));
                }
                Value::from(v)
            }
            ("rng-random", "filename") => {
                return Err(QomError::Generic(
                    "Property 'filename' can no longer be set".into(),
                ))
            }
            _ => return Err(QomError::not_writable(&t, name)),
        })
    }

    fn int(&self, name: &str) -> i64 {
        self.written
            .get(name)
            .or_else(|| self.configured(name, &super::context::NoMachine))
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
    }
}

impl QomObject for BackendObject {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn properties(&self) -> Vec<PropInfo> {
        types::properties_of(&self.type_name)
            .into_iter()
            .filter(|p| p.name != "type")
            .map(|p| match p.name {
                "prealloc-context" => {
                    PropInfo::link(p.name, p.ty, self.prealloc_context.clone(), true)
                }
                _ => PropInfo::value(p.name, p.ty),
            })
            .collect()
    }

    fn get(&self, name: &str, ctx: &dyn QomContext) -> Result<Value, QomError> {
        if let Some(v) = self.written.get(name) {
            return Ok(v);
        }
        self.configured(name, ctx)
            .ok_or_else(|| QomError::not_found(&self.type_name, name))
    }

    fn set(&mut self, name: &str, value: &Value, _ctx: &dyn QomContext) -> Result<(), QomError> {
        if name == "opened" {
            return Err(QomError::not_writable(&self.type_name, name));
        }
        let stored = if self.memory() {
            self.set_memory(name, value)?
        } else {
            self.set_other(name, value)?
        };
        self.written.put(name, stored);
        Ok(())
    }

    fn set_link(&mut self, name: &str, target: Option<String>) -> Result<(), QomError> {
        match name {
            "prealloc-context" => {
                self.prealloc_context = target;
                Ok(())
            }
            _ => Err(QomError::not_writable(&self.type_name, name)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

//! The vCPU objects (`/machine/unattached/device[N]`, type `qemu64-x86_64-cpu` etc.): QEMU's
//! x86 CPU properties, read from the vCPU's CPUID table and topology where this machine has
//! them, QEMU's values for the model elsewhere.

use std::any::Any;
use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::context::QomContext;
use super::cpuid::{Cpuid, CpuidWord};
use super::data::cpu_features::{FEATURES, FEATURE_WORDS};
use super::data::cpu_values::CPU_VALUES;
use super::error::QomError;
use super::object::{PropInfo, QomObject};
use super::types::{self, Lit};
use super::value::{read, Written};
use crate::config::SmpConfig;

/// What `qom-set` does to a CPU property of a realized CPU, as QEMU 10.0.2 does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSet {
    /// No setter: "is not writable".
    ReadOnly,
    /// `realized`.
    Realized,
    /// Written and read back (QEMU changes the CPUID it would give a new vCPU).
    Store,
    /// A device property frozen at realize.
    Frozen,
    /// The same for an alias: QEMU names the property it aliases.
    FrozenAs(&'static str),
    /// A link frozen at realize.
    FrozenLink,
}

/// The CPU models `-cpu` accepts, by QOM type.
fn model_type(model: Option<&str>) -> String {
    format!("{}-x86_64-cpu", model.unwrap_or("qemu64"))
}

/// The child QEMU gives every x86 CPU; it sits after this property in the listing.
const LAPIC_AFTER: &str = "lahf_lm";

/// Properties only `host` and `max` have: (name, value).
const MAX_ONLY: &[(&str, Lit)] = &[
    ("host-cache-info", Lit::B(false)),
    ("migratable", Lit::B(true)),
];

fn values() -> &'static HashMap<&'static str, (Option<Lit>, CpuSet)> {
    static VALUES: OnceLock<HashMap<&'static str, (Option<Lit>, CpuSet)>> = OnceLock::new();
    VALUES.get_or_init(|| {
        let mut m: HashMap<_, _> = CPU_VALUES.iter().map(|&(n, v, s)| (n, (v, s))).collect();
        for &(n, v) in MAX_ONLY {
            m.insert(n, (Some(v), CpuSet::Frozen));
        }
        m
    })
}

fn features() -> &'static HashMap<&'static str, (CpuidWord, u32)> {
    static MAP: OnceLock<HashMap<&'static str, (CpuidWord, u32)>> = OnceLock::new();
    MAP.get_or_init(|| FEATURES.iter().map(|&(n, w, m)| (n, (w, m))).collect())
}

/// Whether `name` is a CPUID feature property.
#[cfg(test)]
pub(crate) fn is_feature(name: &str) -> bool {
    features().contains_key(name)
}

/// For each feature word, the bits QEMU names.
fn named_bits() -> &'static HashMap<CpuidWord, u32> {
    static MAP: OnceLock<HashMap<CpuidWord, u32>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for &(_, w, mask) in FEATURES {
            *m.entry(w).or_insert(0) |= mask;
        }
        m
    })
}

/// A vCPU's place in the topology, as QEMU derives it from the cpu-index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    pub socket: u32,
    pub die: u32,
    pub core: u32,
    pub thread: u32,
}

impl Topology {
    pub fn of(index: u32, smp: &SmpConfig) -> Self {
        let threads = smp.threads.max(1);
        let cores = smp.cores.max(1);
        let dies = smp.dies.max(1);
        Topology {
            thread: index % threads,
            core: index / threads % cores,
            die: index / (threads * cores) % dies,
            socket: index / (threads * cores * dies),
        }
    }
}

pub struct CpuObject {
    type_name: String,
    index: usize,
    apic_id: u32,
    topo: Topology,
    written: Written,
    /// CPUID cannot change once a vCPU has run, so it is read once.
    cpuid: OnceLock<Cpuid>,
}

impl CpuObject {
    pub fn new(index: usize, model: Option<&str>, smp: &SmpConfig) -> Self {
        CpuObject {
            type_name: model_type(model),
            index,
            // Machine::new gives vCPU i APIC ID i.
            apic_id: index as u32,
            topo: Topology::of(index as u32, smp),
            written: Written::default(),
            cpuid: OnceLock::new(),
        }
    }

    pub fn apic_id(&self) -> u32 {
        self.apic_id
    }

    fn cpuid(&self, ctx: &dyn QomContext) -> Option<&Cpuid> {
        if let Some(c) = self.cpuid.get() {
            return Some(c);
        }
        let entries = ctx.vcpu_cpuid(self.index)?;
        Some(self.cpuid.get_or_init(|| Cpuid(entries)))
    }

    fn static_value(&self, name: &str) -> Option<Value> {
        values().get(name).and_then(|(v, _)| v.map(Lit::to_json))
    }

    /// A feature word as the guest sees it, or as QEMU's model has it without a machine.
    fn word(&self, w: CpuidWord, cpuid: Option<&Cpuid>) -> u32 {
        let named = named_bits().get(&w).copied();
        match cpuid {
            Some(c) => named.map_or(c.word(w), |mask| c.word(w) & mask),
            None => FEATURES
                .iter()
                .filter(|(n, fw, _)| *fw == w && self.static_value(n) == Some(Value::Bool(true)))
                .fold(0, |acc, (_, _, m)| acc | m),
        }
    }

    fn feature_words(&self, cpuid: Option<&Cpuid>, filtered: bool) -> Value {
        Value::Array(
            FEATURE_WORDS
                .iter()
                .map(|&w| {
                    let features = if filtered { 0 } else { self.word(w, cpuid) };
                    let mut m = serde_json::Map::new();
                    m.insert("cpuid-input-eax".into(), Value::from(w.leaf));
                    if let Some(sub) = w.subleaf {
                        m.insert("cpuid-input-ecx".into(), Value::from(sub));
                    }
                    m.insert("cpuid-register".into(), Value::from(w.reg.name()));
                    m.insert("features".into(), Value::from(features));
                    Value::Object(m)
                })
                .collect(),
        )
    }

    /// Identity properties read from CPUID leaves.
    fn identity(&self, name: &str, c: &Cpuid) -> Option<Value> {
        use super::cpuid::Reg::{Eax, Ebx};
        let (family, model, stepping) = c.signature();
        Some(match name {
            "vendor" => Value::from(c.vendor()),
            "family" => Value::from(family),
            "model" => Value::from(model),
            "stepping" => Value::from(stepping),
            "model-id" => Value::from(c.brand()),
            "level" => Value::from(c.reg(0, 0, Eax)),
            "xlevel" => Value::from(c.reg(0x8000_0000, 0, Eax)),
            "xlevel2" => Value::from(c.reg(0xc000_0000, 0, Eax)),
            "phys-bits" => Value::from(c.reg(0x8000_0008, 0, Eax) & 0xff),
            "avx10-version" => Value::from(c.reg(0x24, 0, Ebx) & 0xff),
            // QEMU's fixed microcode revisions per vendor.
            "ucode-rev" if c.vendor() == "AuthenticAMD" => Value::from(0x0100_0065u64),
            "ucode-rev" => Value::from(0x1_0000_0000u64),
            _ => return None,
        })
    }

    fn store(&mut self, name: &str, value: &Value) -> Result<(), QomError> {
        let at_most = |max: u64| -> Result<Value, QomError> {
            let v: u64 = read(name, value)?;
            if v > max {
                return Err(QomError::Generic(format!(
                    "parameter '{name}' can be at most {max}"
                )));
            }
            Ok(Value::from(v))
        };
        let stored = match name {
            "start-powered-off" => Value::from(read::<bool>(name, value)?),
            "family" => at_most(0xff + 0xf)?,
            "model" => at_most(0xff)?,
            "stepping" => at_most(0xf)?,
            "tsc-frequency" => {
                let v: i64 = read(name, value)?;
                if v < 0 {
                    return Err(QomError::Generic(format!(
                        "parameter '{name}' can be at most {}",
                        i64::MAX
                    )));
                }
                Value::from(v)
            }
            "vendor" => {
                let v: String = read(name, value)?;
                if v.len() != 12 {
                    return Err(QomError::Generic(format!(
                        "value of property '{name}' must consist of exactly 12 characters"
                    )));
                }
                Value::from(v)
            }
            "model-id" => Value::from(read::<String>(name, value)?),
            _ => return Err(QomError::not_writable(&self.type_name, name)),
        };
        self.written.put(name, stored);
        Ok(())
    }
}

impl QomObject for CpuObject {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn properties(&self) -> Vec<PropInfo> {
        let mut out = Vec::new();
        for p in types::properties_of(&self.type_name) {
            if p.name == "type" {
                continue;
            }
            out.push(self.info(p.name, p.ty));
            if p.name == LAPIC_AFTER {
                out.push(PropInfo::child("lapic"));
            }
        }
        out
    }

    fn property(&self, name: &str) -> Option<PropInfo> {
        if name == "lapic" {
            return Some(PropInfo::child("lapic"));
        }
        types::properties_of(&self.type_name)
            .into_iter()
            .find(|p| p.name == name && name != "type")
            .map(|p| self.info(p.name, p.ty))
    }

    fn get(&self, name: &str, ctx: &dyn QomContext) -> Result<Value, QomError> {
        if let Some(v) = self.written.get(name) {
            return Ok(v);
        }
        let t = &self.topo;
        let value = match name {
            "legacy-memory" => return Err(QomError::not_readable(&self.type_name, name)),
            "crash-information" => return Err(QomError::Generic("No crash occurred".into())),
            "apic-id" => Value::from(self.apic_id),
            "node-id" => Value::from(-1),
            "socket-id" => Value::from(t.socket),
            "die-id" => Value::from(t.die),
            "module-id" => Value::from(0),
            "core-id" => Value::from(t.core),
            "thread-id" => Value::from(t.thread),
            // This VMM gives the guest the CPUID it builds, with nothing filtered out.
            "unavailable-features" => json!([]),
            "filtered-features" => self.feature_words(None, true),
            "feature-words" => self.feature_words(self.cpuid(ctx), false),
            "tsc-frequency" => match ctx.vcpu_tsc_khz(self.index) {
                Some(khz) => Value::from(u64::from(khz) * 1000),
                None => self.static_value(name).unwrap_or(Value::from(0)),
            },
            _ => {
                let cpuid = self.cpuid(ctx);
                let live = match (cpuid, features().get(name)) {
                    (Some(c), Some(&(w, mask))) => Some(Value::from(c.word(w) & mask == mask)),
                    (Some(c), None) => self.identity(name, c),
                    (None, _) => None,
                };
                match live.or_else(|| self.static_value(name)) {
                    Some(v) => v,
                    None => return Err(QomError::not_readable(&self.type_name, name)),
                }
            }
        };
        Ok(value)
    }

    fn set(&mut self, name: &str, value: &Value, _ctx: &dyn QomContext) -> Result<(), QomError> {
        let rule = values().get(name).map_or(CpuSet::ReadOnly, |&(_, s)| s);
        match rule {
            CpuSet::ReadOnly | CpuSet::FrozenLink => {
                Err(QomError::not_writable(&self.type_name, name))
            }
            CpuSet::Realized => {
                if read::<bool>(name, value)? {
                    Ok(())
                } else {
                    Err(QomError::Generic(
                        "CPUs cannot be unplugged on this machine".into(),
                    ))
                }
            }
            CpuSet::Frozen => Err(QomError::after_realize(name, None, &self.type_name)),
            CpuSet::FrozenAs(target) => Err(QomError::after_realize(target, None, &self.type_name)),
            CpuSet::Store => self.store(name, value),
        }
    }

    fn set_link(&mut self, name: &str, _target: Option<String>) -> Result<(), QomError> {
        Err(QomError::LinkAfterRealize {
            name: name.to_string(),
            id: "(null)".into(),
            type_name: self.type_name.clone(),
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl CpuObject {
    fn info(&self, name: &'static str, ty: &'static str) -> PropInfo {
        match name {
            // The bus a CPU sits on (none) and its memory region, which this tree lacks.
            "parent_bus" => PropInfo::link(name, ty, None, false),
            "memory" => PropInfo::link(name, ty, None, true),
            _ => PropInfo::value(name, ty),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_ids() {
        let smp = SmpConfig {
            cpus: 8,
            sockets: 2,
            dies: 1,
            cores: 2,
            threads: 2,
            maxcpus: 8,
        };
        assert_eq!(
            Topology::of(5, &smp),
            Topology {
                socket: 1,
                die: 0,
                core: 0,
                thread: 1
            }
        );
        assert_eq!(model_type(None), "qemu64-x86_64-cpu");
        assert_eq!(model_type(Some("host")), "host-x86_64-cpu");
    }
}

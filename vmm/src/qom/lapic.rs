//! `/machine/unattached/device[N]/lapic`: the vCPU's local APIC, which KVM emulates in the
//! kernel here as under QEMU (`kvm-apic`).

use std::any::Any;

use serde_json::Value;

use super::context::QomContext;
use super::error::QomError;
use super::object::{PropInfo, QomObject};
use super::types;
use super::value::read;

pub struct LapicObject {
    apic_id: u32,
}

impl LapicObject {
    pub fn new(apic_id: u32) -> Self {
        LapicObject { apic_id }
    }
}

impl QomObject for LapicObject {
    fn type_name(&self) -> &str {
        "kvm-apic"
    }

    fn properties(&self) -> Vec<PropInfo> {
        types::properties_of("kvm-apic")
            .into_iter()
            .filter(|p| p.name != "type")
            .map(|p| match p.name {
                "parent_bus" => PropInfo::link(p.name, p.ty, None, false),
                _ => PropInfo::value(p.name, p.ty),
            })
            .collect()
    }

    fn get(&self, name: &str, _ctx: &dyn QomContext) -> Result<Value, QomError> {
        Ok(match name {
            "realized" | "hotpluggable" | "vapic" => Value::from(true),
            "hotplugged" | "legacy-instance-id" => Value::from(false),
            // Version 0x14: an integrated xAPIC, as KVM's in-kernel APIC reports.
            "version" => Value::from(0x14),
            "id" => Value::from(self.apic_id),
            _ => return Err(QomError::not_found(self.type_name(), name)),
        })
    }

    fn set(&mut self, name: &str, value: &Value, _ctx: &dyn QomContext) -> Result<(), QomError> {
        match name {
            "realized" if read::<bool>(name, value)? => Ok(()),
            "realized" => Err(QomError::Generic(
                "CPUs cannot be unplugged on this machine".into(),
            )),
            "vapic" | "version" | "legacy-instance-id" | "id" => {
                Err(QomError::after_realize(name, None, self.type_name()))
            }
            _ => Err(QomError::not_writable(self.type_name(), name)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

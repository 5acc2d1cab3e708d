//! Objects shown only by their type (`/machine/unattached/system[0]` is a `memory-region`,
//! `sysbus` a `System`): the tree has them where QEMU has them, without their properties.

use std::any::Any;

use serde_json::Value;

use super::context::QomContext;
use super::error::QomError;
use super::object::{PropInfo, QomObject};

#[derive(Debug, Clone, Copy)]
pub struct OpaqueObject {
    type_name: &'static str,
}

impl OpaqueObject {
    pub fn new(type_name: &'static str) -> Self {
        OpaqueObject { type_name }
    }
}

impl QomObject for OpaqueObject {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn properties(&self) -> Vec<PropInfo> {
        Vec::new()
    }

    fn get(&self, name: &str, _ctx: &dyn QomContext) -> Result<Value, QomError> {
        Err(QomError::not_found(self.type_name(), name))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

//! `container`: an object that only holds children (`/`, `/objects`, `/machine/peripheral`…).

use std::any::Any;

use serde_json::Value;

use super::context::QomContext;
use super::error::QomError;
use super::object::{PropInfo, QomObject};

#[derive(Debug, Default, Clone, Copy)]
pub struct Container;

impl QomObject for Container {
    fn type_name(&self) -> &str {
        "container"
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

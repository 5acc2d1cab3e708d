//! `qom-list`, `qom-get` and `qom-set` on the tree, with QEMU's errors in QEMU's order.

use std::collections::HashSet;

use qapi::types::ObjectPropertyInfo;
use qapi::QapiError;
use serde_json::Value;

use super::context::QomContext;
use super::error::QomError;
use super::object::PropKind;
use super::path::Resolved;
use super::tree::{ObjectId, ObjectTree};

fn info(name: &str, ty: &str) -> ObjectPropertyInfo {
    ObjectPropertyInfo {
        name: name.to_string(),
        r#type: ty.to_string(),
        description: None,
        default_value: None,
    }
}

impl ObjectTree {
    /// The object `path` names for `qom-get`/`qom-set`, which report an ambiguous path as
    /// not found.
    fn find(&self, path: &str) -> Result<ObjectId, QomError> {
        self.resolve(path)
            .ok_or_else(|| QomError::DeviceNotFound(path.to_string()))
    }

    fn child_type(&self, id: ObjectId) -> String {
        let t = self.get_object(id).map_or("", |o| o.type_name());
        format!("child<{t}>")
    }

    /// `qom-list`: the properties of the object at `path`.
    pub fn list(
        &self,
        path: &str,
        _ctx: &dyn QomContext,
    ) -> Result<Vec<ObjectPropertyInfo>, QapiError> {
        let id = match self.resolve_typed(path, None) {
            Resolved::Found(id) => id,
            Resolved::Ambiguous => return Err(QomError::Ambiguous(path.to_string()).into()),
            Resolved::NotFound => return Err(QomError::DeviceNotFound(path.to_string()).into()),
        };
        let node = self
            .node(id)
            .ok_or_else(|| QomError::DeviceNotFound(path.to_string()))?;
        let mut out = vec![info("type", "string")];
        let mut placed = HashSet::new();
        for p in node.object.properties() {
            match p.kind {
                PropKind::Child => {
                    // Listed by the object for its position; shown only if it exists.
                    if let Some(&child) = node.children.get(p.name.as_ref()) {
                        out.push(info(&p.name, &self.child_type(child)));
                        placed.insert(p.name.into_owned());
                    }
                }
                PropKind::Value | PropKind::Link { .. } => out.push(info(&p.name, &p.ty)),
            }
        }
        for name in node.order.listing_order() {
            if placed.contains(name) {
                continue;
            }
            if let Some(&child) = node.children.get(name) {
                out.push(info(name, &self.child_type(child)));
            }
        }
        Ok(out)
    }

    /// `qom-get`: property `property` of the object at `path`.
    pub fn get(
        &self,
        path: &str,
        property: &str,
        ctx: &dyn QomContext,
    ) -> Result<Value, QapiError> {
        let id = self.find(path)?;
        let node = self
            .node(id)
            .ok_or_else(|| QomError::DeviceNotFound(path.to_string()))?;
        let obj = node.object.as_ref();
        if property == "type" {
            return Ok(Value::from(obj.type_name()));
        }
        if let Some(&child) = node.children.get(property) {
            return Ok(Value::from(self.path_of(child)));
        }
        let Some(p) = obj.property(property) else {
            return Err(QomError::not_found(obj.type_name(), property).into());
        };
        // Members stay in insertion order (QEMU's visitor order): the monitor's writer turns
        // that into QDict order, which reordering here first would scramble.
        Ok(match p.kind {
            PropKind::Child => return Err(QomError::not_found(obj.type_name(), property).into()),
            PropKind::Link { target, .. } => Value::from(target.unwrap_or_default()),
            PropKind::Value => obj.get(property, ctx)?,
        })
    }

    /// `qom-set`: writes property `property` of the object at `path`.
    pub fn set(
        &mut self,
        path: &str,
        property: &str,
        value: Value,
        ctx: &dyn QomContext,
    ) -> Result<(), QapiError> {
        let id = self.find(path)?;
        let node = self
            .node(id)
            .ok_or_else(|| QomError::DeviceNotFound(path.to_string()))?;
        let obj = node.object.as_ref();
        let type_name = obj.type_name().to_string();
        if property == "type" || node.children.contains_key(property) {
            return Err(QomError::not_writable(&type_name, property).into());
        }
        let Some(p) = obj.property(property) else {
            return Err(QomError::not_found(&type_name, property).into());
        };
        match p.kind {
            PropKind::Child => Err(QomError::not_found(&type_name, property).into()),
            PropKind::Link {
                writable: false, ..
            } => Err(QomError::not_writable(&type_name, property).into()),
            PropKind::Link { .. } => {
                let target_type = p.link_target_type().unwrap_or("object").to_string();
                let target = self.resolve_link(property, &value, &target_type)?;
                let obj = self
                    .get_object_mut(id)
                    .ok_or_else(|| QomError::DeviceNotFound(path.to_string()))?;
                Ok(obj.set_link(property, target)?)
            }
            PropKind::Value => {
                let obj = self
                    .get_object_mut(id)
                    .ok_or_else(|| QomError::DeviceNotFound(path.to_string()))?;
                Ok(obj.set(property, &value, ctx)?)
            }
        }
    }

    /// The new target of link `prop`, as QEMU's link setter finds it: "" unsets; otherwise a
    /// path to an object of `target_type`.
    fn resolve_link(
        &self,
        prop: &str,
        value: &Value,
        target_type: &str,
    ) -> Result<Option<String>, QomError> {
        let path: String = super::value::read(prop, value)?;
        if path.is_empty() {
            return Ok(None);
        }
        match self.resolve_typed(&path, Some(target_type)) {
            Resolved::Found(id) => Ok(Some(self.path_of(id))),
            Resolved::Ambiguous => Err(QomError::NotUnique(path)),
            Resolved::NotFound => match self.resolve_typed(&path, None) {
                Resolved::NotFound => Err(QomError::DeviceNotFound(path)),
                _ => Err(QomError::Generic(format!(
                    "Invalid parameter type for '{prop}', expected: {target_type}"
                ))),
            },
        }
    }
}

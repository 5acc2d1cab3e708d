//! The object tree: objects, their parent/child structure and canonical paths, and the
//! registry other code adds objects to (devices, `object-add`, `chardev-add`).

use std::collections::HashMap;

use qapi::ghash::GHashOrder;

use super::container::Container;
use super::error::QomError;
use super::object::{PropKind, QomObject};

/// An object's index in the tree. Stale after the object is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId(pub(super) usize);

pub(super) struct Node {
    pub name: String,
    pub parent: Option<ObjectId>,
    pub children: HashMap<String, ObjectId>,
    /// The children's names as QEMU's property table would hold them, for listing order.
    pub order: GHashOrder,
    pub object: Box<dyn QomObject>,
}

/// QEMU's object tree as the monitor sees it. Built from the configuration by
/// [`ObjectTree::new`](crate::qom::ObjectTree::new); read and written with `list`, `get`,
/// `set`.
pub struct ObjectTree {
    pub(super) nodes: Vec<Option<Node>>,
    /// `/machine/unattached/device[N]` of each vCPU, by cpu-index.
    pub(super) cpus: Vec<ObjectId>,
}

impl ObjectTree {
    pub const ROOT: ObjectId = ObjectId(0);

    /// A tree holding only the root container.
    pub fn empty() -> Self {
        ObjectTree {
            nodes: vec![Some(Node {
                name: String::new(),
                parent: None,
                children: HashMap::new(),
                order: GHashOrder::new(),
                object: Box::new(Container),
            })],
            cpus: Vec::new(),
        }
    }

    pub(super) fn node(&self, id: ObjectId) -> Option<&Node> {
        self.nodes.get(id.0)?.as_ref()
    }

    pub(super) fn node_mut(&mut self, id: ObjectId) -> Option<&mut Node> {
        self.nodes.get_mut(id.0)?.as_mut()
    }

    /// The object with this id.
    pub fn get_object(&self, id: ObjectId) -> Option<&dyn QomObject> {
        self.node(id).map(|n| n.object.as_ref())
    }

    /// The object with this id, for its owner to update its state.
    pub fn get_object_mut(&mut self, id: ObjectId) -> Option<&mut dyn QomObject> {
        Some(self.node_mut(id)?.object.as_mut())
    }

    /// The child `name` of `parent`.
    pub fn child(&self, parent: ObjectId, name: &str) -> Option<ObjectId> {
        self.node(parent)?.children.get(name).copied()
    }

    /// The canonical path of an object ("/" for the root).
    pub fn path_of(&self, id: ObjectId) -> String {
        let mut parts = Vec::new();
        let mut at = self.node(id);
        while let Some(n) = at {
            if n.parent.is_none() {
                break;
            }
            parts.push(n.name.as_str());
            at = n.parent.and_then(|p| self.node(p));
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    /// Adds `object` as child `name` of `parent`. A name ending in `[*]` takes the lowest free
    /// index, as in QEMU (`device[*]` → `device[0]`, `device[1]`…). Fails, as QEMU does, if
    /// the parent already has a property of that name.
    pub fn add_child(
        &mut self,
        parent: ObjectId,
        name: &str,
        object: Box<dyn QomObject>,
    ) -> Result<ObjectId, QomError> {
        let p = self
            .node(parent)
            .ok_or_else(|| QomError::DeviceNotFound(self.path_of(parent)))?;
        let taken = |n: &str| {
            n == "type"
                || p.children.contains_key(n)
                || p.object
                    .property(n)
                    .is_some_and(|info| info.kind != PropKind::Child)
        };
        let name = match name.strip_suffix("[*]") {
            Some(stem) => (0..)
                .map(|i| format!("{stem}[{i}]"))
                .find(|n| !taken(n))
                .unwrap_or_default(),
            None if taken(name) => {
                return Err(QomError::Duplicate {
                    name: name.to_string(),
                    type_name: p.object.type_name().to_string(),
                })
            }
            None => name.to_string(),
        };
        let id = ObjectId(self.nodes.len());
        self.nodes.push(Some(Node {
            name: name.clone(),
            parent: Some(parent),
            children: HashMap::new(),
            order: GHashOrder::new(),
            object,
        }));
        if let Some(p) = self.node_mut(parent) {
            p.order.insert(&name);
            p.children.insert(name, id);
        }
        Ok(id)
    }

    /// Adds `object` under the absolute path `parent`; returns the new object's path.
    pub fn add_at(
        &mut self,
        parent: &str,
        name: &str,
        object: Box<dyn QomObject>,
    ) -> Result<String, QomError> {
        let p = self
            .resolve(parent)
            .ok_or_else(|| QomError::DeviceNotFound(parent.to_string()))?;
        let id = self.add_child(p, name, object)?;
        Ok(self.path_of(id))
    }

    /// Adds a `-device`/`device_add` device: `/machine/peripheral/ID` when it has an id, else
    /// `/machine/peripheral-anon/device[N]`. Returns its path.
    pub fn add_device(
        &mut self,
        id: Option<&str>,
        object: Box<dyn QomObject>,
    ) -> Result<String, QomError> {
        match id {
            Some(id) => self.add_at("/machine/peripheral", id, object),
            None => self.add_at("/machine/peripheral-anon", "device[*]", object),
        }
    }

    /// Adds an `-object`/`object-add` object as `/objects/ID`.
    pub fn add_user_object(
        &mut self,
        id: &str,
        object: Box<dyn QomObject>,
    ) -> Result<String, QomError> {
        self.add_at("/objects", id, object)
    }

    /// Removes the object at `path` (absolute or partial) and everything under it.
    pub fn remove(&mut self, path: &str) -> Result<(), QomError> {
        let id = self
            .resolve(path)
            .ok_or_else(|| QomError::DeviceNotFound(path.to_string()))?;
        let Some(node) = self.node(id) else {
            return Err(QomError::DeviceNotFound(path.to_string()));
        };
        let (name, parent) = (node.name.clone(), node.parent);
        let Some(parent) = parent else {
            // The root stays.
            return Err(QomError::Generic("cannot remove the root object".into()));
        };
        if let Some(p) = self.node_mut(parent) {
            p.children.remove(&name);
            p.order.remove(&name);
        }
        let mut stack = vec![id];
        while let Some(at) = stack.pop() {
            if let Some(n) = self.nodes.get_mut(at.0).and_then(Option::take) {
                stack.extend(n.children.into_values());
            }
        }
        Ok(())
    }

    /// The canonical path of vCPU `cpu_index` (`/machine/unattached/device[N]`), as
    /// `query-cpus-fast` reports it.
    pub fn cpu_path(&self, cpu_index: usize) -> Option<String> {
        let id = *self.cpus.get(cpu_index)?;
        self.node(id)?;
        Some(self.path_of(id))
    }
}

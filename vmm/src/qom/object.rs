//! What an object in the tree is: its type, its properties in QEMU's order, and how they read
//! and write. The tree keeps children and the `type` property; objects keep the rest.

use std::any::Any;
use std::borrow::Cow;

use serde_json::Value;

use super::context::QomContext;
use super::error::QomError;

/// How a property behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropKind {
    /// Read and written through [`QomObject::get`] and [`QomObject::set`].
    Value,
    /// A child object of the same name. Listing one here fixes its position; children the
    /// object does not list follow its own properties in QEMU's hash order.
    Child,
    /// A link to an object: the absolute path of its target, `None` when unset (it reads
    /// as ""). `writable` when QEMU has a setter for it (which may still refuse).
    Link {
        target: Option<String>,
        writable: bool,
    },
}

/// One entry of `qom-list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropInfo {
    pub name: Cow<'static, str>,
    /// The QOM type text (`bool`, `link<memory-backend>`); ignored for children, which show
    /// `child<TYPE>` of the actual child.
    pub ty: Cow<'static, str>,
    pub kind: PropKind,
}

impl PropInfo {
    pub fn value(name: impl Into<Cow<'static, str>>, ty: impl Into<Cow<'static, str>>) -> Self {
        PropInfo {
            name: name.into(),
            ty: ty.into(),
            kind: PropKind::Value,
        }
    }

    pub fn child(name: impl Into<Cow<'static, str>>) -> Self {
        PropInfo {
            name: name.into(),
            ty: Cow::Borrowed(""),
            kind: PropKind::Child,
        }
    }

    pub fn link(
        name: impl Into<Cow<'static, str>>,
        ty: impl Into<Cow<'static, str>>,
        target: Option<String>,
        writable: bool,
    ) -> Self {
        PropInfo {
            name: name.into(),
            ty: ty.into(),
            kind: PropKind::Link { target, writable },
        }
    }

    /// For a link, the type its target must have (`memory-backend` of
    /// `link<memory-backend>`).
    pub fn link_target_type(&self) -> Option<&str> {
        self.ty.strip_prefix("link<")?.strip_suffix('>')
    }
}

/// An object in the tree. Implemented by the objects this module builds, and by any other
/// code that registers objects (devices added by `-device`/`device_add`).
pub trait QomObject: Any + Send {
    /// The QOM type name, e.g. `qemu64-x86_64-cpu`.
    fn type_name(&self) -> &str;

    /// The properties after `type`, in QEMU's `qom-list` order.
    fn properties(&self) -> Vec<PropInfo>;

    /// One property, if the object has it. Override when `properties` is long.
    fn property(&self, name: &str) -> Option<PropInfo> {
        self.properties().into_iter().find(|p| p.name == name)
    }

    /// Reads a [`PropKind::Value`] property the object lists.
    fn get(&self, name: &str, ctx: &dyn QomContext) -> Result<Value, QomError>;

    /// Writes a [`PropKind::Value`] property the object lists.
    fn set(&mut self, name: &str, value: &Value, ctx: &dyn QomContext) -> Result<(), QomError> {
        let _ = (value, ctx);
        Err(QomError::not_writable(self.type_name(), name))
    }

    /// Writes a writable link property, once the tree has resolved the new target (`None` to
    /// unset it) and checked its type.
    fn set_link(&mut self, name: &str, target: Option<String>) -> Result<(), QomError> {
        let _ = target;
        Err(QomError::not_writable(self.type_name(), name))
    }

    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

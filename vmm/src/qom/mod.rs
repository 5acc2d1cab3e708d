//! QEMU's object model (QOM) as the monitor sees it: the object tree (`/machine`, its vCPUs,
//! `/objects`, `/chardevs`, …) with QEMU 10's paths, type names and properties, and the
//! registered types, for `qom-list`, `qom-get`, `qom-set`, `qom-list-types`,
//! `qom-list-properties` and `device-list-properties`.
//!
//! ```no_run
//! # use vmm::qom::{ObjectTree, NoMachine};
//! # let config = vmm::config::VmConfig::default();
//! let mut tree = ObjectTree::new(&config);
//! let ctx = NoMachine; // or the live `Machine`
//! let props = tree.list("/machine", &ctx)?;
//! let ty = tree.get("/machine", "type", &ctx)?; // "pc-i440fx-10.0-machine"
//! tree.set("/machine", "usb", serde_json::json!(true), &ctx)?;
//! # Ok::<(), qapi::QapiError>(())
//! ```
//!
//! Property getters read live state through a [`QomContext`]; the tree does not own the
//! machine. Other code adds objects with [`ObjectTree::add_device`],
//! [`ObjectTree::add_user_object`] or [`ObjectTree::add_at`], implementing [`QomObject`].

mod backends;
mod balloon;
mod chardev;
mod commands;
mod container;
mod context;
mod cpu;
mod cpuid;
mod data;
mod error;
mod lapic;
mod machine;
mod machine_types;
mod object;
mod opaque;
mod path;
mod populate;
mod tree;
mod type_table;
mod types;
mod value;

#[cfg(test)]
mod tests;

pub use backends::{BackendObject, MachineDefaults};
pub use balloon::{
    add_balloon_objects, BalloonDeviceObject, BalloonPciObject, BalloonQomConfig,
    VirtioPciBusObject, BALLOON_DIFFERS_FROM_QEMU,
};
pub use chardev::{backend_type as chardev_type, ChardevObject};
pub use container::Container;
pub use context::{CpuidEntry, NoMachine, QomContext};
pub use error::QomError;
pub use object::{PropInfo, PropKind, QomObject};
pub use path::Resolved;
pub use populate::cpu_device_index;
pub use tree::{ObjectId, ObjectTree};
pub use type_table::sort_by_walk as sort_by_type_table_walk;
pub use types::{device_list_properties, exists as type_exists, is_a, list_properties, list_types};

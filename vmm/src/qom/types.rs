//! The QOM types this VMM has, with QEMU's names, parents, interfaces and properties, and the
//! commands that list them: `qom-list-types`, `qom-list-properties`, `device-list-properties`.
//!
//! A type's properties are its parent's followed by its own (QEMU lists them in that order), so
//! each type holds only its own, measured from QEMU 10.0.2 (`data::type_props`).

use std::collections::HashMap;
use std::sync::OnceLock;

use qapi::types::{ObjectPropertyInfo, ObjectTypeInfo};
use qapi::QapiError;
use serde_json::Value;

use qapi::ghash::GHashOrder;

use super::data::type_props as tp;
use super::error::QomError;
use super::machine_types::{self, Board};

/// A scalar in a property table: a default or a measured value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lit {
    B(bool),
    I(i64),
    U(u64),
    S(&'static str),
}

impl Lit {
    pub fn to_json(self) -> Value {
        match self {
            Lit::B(b) => Value::from(b),
            Lit::I(i) => Value::from(i),
            Lit::U(u) => Value::from(u),
            Lit::S(s) => Value::from(s),
        }
    }
}

/// A property as `qom-list-properties` describes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PropDef {
    pub name: &'static str,
    pub ty: &'static str,
    pub desc: Option<&'static str>,
    pub default: Option<Lit>,
}

/// Short constructor for the generated tables.
#[allow(non_snake_case)]
pub(crate) const fn P(
    name: &'static str,
    ty: &'static str,
    desc: Option<&'static str>,
    default: Option<Lit>,
) -> PropDef {
    PropDef {
        name,
        ty,
        desc,
        default,
    }
}

impl PropDef {
    fn info(&self) -> ObjectPropertyInfo {
        ObjectPropertyInfo {
            name: self.name.to_string(),
            r#type: self.ty.to_string(),
            description: self.desc.map(str::to_string),
            default_value: self.default.map(Lit::to_json),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Concrete,
    Abstract,
    Interface,
}

#[derive(Debug)]
struct TypeDef {
    name: String,
    parent: Option<&'static str>,
    kind: Kind,
    interfaces: &'static [&'static str],
    own: &'static [PropDef],
}

use Kind::{Abstract as A, Concrete as C, Interface as I};

type Row = (
    &'static str,
    Option<&'static str>,
    Kind,
    &'static [&'static str],
    &'static [PropDef],
);

/// Every type but the versioned machine types, parents before children.
const BASE: &[Row] = &[
    ("object", None, A, &[], tp::OBJECT),
    ("interface", None, I, &[], &[]),
    ("user-creatable", Some("interface"), I, &[], &[]),
    ("resettable", Some("interface"), I, &[], &[]),
    ("vmstate-if", Some("interface"), I, &[], &[]),
    ("hotplug-handler", Some("interface"), I, &[], &[]),
    ("nmi", Some("interface"), I, &[], &[]),
    ("pci-express-device", Some("interface"), I, &[], &[]),
    ("conventional-pci-device", Some("interface"), I, &[], &[]),
    ("container", Some("object"), C, &[], tp::CONTAINER),
    ("machine", Some("object"), A, &[], tp::MACHINE),
    ("x86-machine", Some("machine"), A, &["nmi"], tp::X86_MACHINE),
    (
        "generic-pc-machine",
        Some("x86-machine"),
        A,
        &["hotplug-handler"],
        tp::GENERIC_PC_MACHINE,
    ),
    (
        "microvm-machine",
        Some("x86-machine"),
        C,
        &["hotplug-handler"],
        tp::MICROVM_MACHINE,
    ),
    ("none-machine", Some("machine"), C, &[], tp::NONE_MACHINE),
    (
        "device",
        Some("object"),
        A,
        &["resettable", "vmstate-if"],
        tp::DEVICE,
    ),
    ("cpu", Some("device"), A, &[], tp::CPU),
    ("x86_64-cpu", Some("cpu"), A, &[], tp::X86_64_CPU),
    (
        "qemu64-x86_64-cpu",
        Some("x86_64-cpu"),
        C,
        &[],
        tp::QEMU64_X86_64_CPU,
    ),
    (
        "qemu64-v1-x86_64-cpu",
        Some("x86_64-cpu"),
        C,
        &[],
        tp::QEMU64_X86_64_CPU,
    ),
    (
        "max-x86_64-cpu",
        Some("x86_64-cpu"),
        C,
        &[],
        tp::MAX_X86_64_CPU,
    ),
    (
        "host-x86_64-cpu",
        Some("max-x86_64-cpu"),
        C,
        &[],
        tp::HOST_X86_64_CPU,
    ),
    ("apic-common", Some("device"), A, &[], tp::APIC_COMMON),
    ("kvm-apic", Some("apic-common"), C, &[], tp::KVM_APIC),
    ("chardev", Some("object"), A, &[], tp::CHARDEV),
    ("chardev-fd", Some("chardev"), A, &[], tp::CHARDEV_FD),
    (
        "chardev-socket",
        Some("chardev"),
        C,
        &[],
        tp::CHARDEV_SOCKET,
    ),
    (
        "chardev-stdio",
        Some("chardev-fd"),
        C,
        &[],
        tp::CHARDEV_STDIO,
    ),
    ("chardev-file", Some("chardev-fd"), C, &[], tp::CHARDEV_FILE),
    ("chardev-null", Some("chardev"), C, &[], tp::CHARDEV_NULL),
    ("chardev-mux", Some("chardev"), C, &[], tp::CHARDEV_MUX),
    (
        "memory-backend",
        Some("object"),
        A,
        &["user-creatable"],
        tp::MEMORY_BACKEND,
    ),
    (
        "memory-backend-ram",
        Some("memory-backend"),
        C,
        &[],
        tp::MEMORY_BACKEND_RAM,
    ),
    (
        "memory-backend-file",
        Some("memory-backend"),
        C,
        &[],
        tp::MEMORY_BACKEND_FILE,
    ),
    (
        "memory-backend-memfd",
        Some("memory-backend"),
        C,
        &[],
        tp::MEMORY_BACKEND_MEMFD,
    ),
    (
        "secret_common",
        Some("object"),
        A,
        &["user-creatable"],
        tp::SECRET_COMMON,
    ),
    ("secret", Some("secret_common"), C, &[], tp::SECRET),
    (
        "event-loop-base",
        Some("object"),
        A,
        &["user-creatable"],
        tp::EVENT_LOOP_BASE,
    ),
    ("iothread", Some("event-loop-base"), C, &[], tp::IOTHREAD),
    (
        "rng-backend",
        Some("object"),
        A,
        &["user-creatable"],
        tp::RNG_BACKEND,
    ),
    ("rng-random", Some("rng-backend"), C, &[], tp::RNG_RANDOM),
    ("rng-builtin", Some("rng-backend"), C, &[], tp::RNG_BUILTIN),
    ("accel", Some("object"), A, &[], tp::ACCEL),
    ("kvm-accel", Some("accel"), C, &[], tp::KVM_ACCEL),
    ("pci-device", Some("device"), A, &[], tp::PCI_DEVICE),
    ("virtio-pci", Some("pci-device"), A, &[], tp::VIRTIO_PCI),
    (
        "virtio-balloon-pci-base",
        Some("virtio-pci"),
        A,
        &[],
        tp::VIRTIO_BALLOON_PCI_BASE,
    ),
    (
        "virtio-balloon-pci",
        Some("virtio-balloon-pci-base"),
        C,
        &["pci-express-device", "conventional-pci-device"],
        tp::VIRTIO_BALLOON_PCI,
    ),
    ("virtio-device", Some("device"), A, &[], tp::VIRTIO_DEVICE),
    (
        "virtio-balloon-device",
        Some("virtio-device"),
        C,
        &[],
        tp::VIRTIO_BALLOON_DEVICE,
    ),
];

struct Registry {
    types: Vec<TypeDef>,
    index: HashMap<String, usize>,
    /// Type names in the order QEMU's type table would list them.
    listing: Vec<usize>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut types: Vec<TypeDef> = BASE
            .iter()
            .map(|&(name, parent, kind, interfaces, own)| TypeDef {
                name: name.to_string(),
                parent,
                kind,
                interfaces,
                own,
            })
            .collect();
        for (name, board) in machine_types::all() {
            let (parent, own) = match board {
                Board::I440fx => ("generic-pc-machine", tp::PC_I440FX_10_0_MACHINE),
                Board::Q35 => ("generic-pc-machine", tp::PC_Q35_10_0_MACHINE),
                // Registered above with their own parents.
                Board::Microvm | Board::None => continue,
            };
            types.push(TypeDef {
                name: format!("{name}-machine"),
                parent: Some(parent),
                kind: Kind::Concrete,
                interfaces: &[],
                own,
            });
        }
        let index: HashMap<String, usize> = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let mut table = GHashOrder::new();
        for t in &types {
            table.insert(&t.name);
        }
        let listing = table
            .listing_order()
            .filter_map(|n| index.get(n).copied())
            .collect();
        Registry {
            types,
            index,
            listing,
        }
    })
}

impl Registry {
    fn get(&self, name: &str) -> Option<&TypeDef> {
        self.index.get(name).map(|&i| &self.types[i])
    }

    /// The type and its ancestors, the type first.
    fn chain<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a TypeDef> + 'a {
        let mut next = self.get(name);
        std::iter::from_fn(move || {
            let t = next?;
            next = t.parent.and_then(|p| self.get(p));
            Some(t)
        })
    }

    fn descends(&self, name: &str, ancestor: &str) -> bool {
        self.chain(name).any(|t| t.name == ancestor)
    }

    /// QEMU's `object_class_dynamic_cast`. A type with interfaces casts to an interface type
    /// through exactly one of them (several matching, e.g. for `interface` itself, is an
    /// ambiguous cast, which fails); otherwise it casts to its ancestors.
    fn implements(&self, name: &str, target: &str) -> bool {
        if name == target {
            return true;
        }
        if self.get(target).is_none() {
            return false;
        }
        let interfaces: Vec<&str> = self
            .chain(name)
            .flat_map(|t| t.interfaces.iter().copied())
            .collect();
        if !interfaces.is_empty() && self.descends(target, "interface") {
            interfaces
                .iter()
                .filter(|i| self.descends(i, target))
                .count()
                == 1
        } else {
            self.descends(name, target)
        }
    }

    fn props(&self, name: &str) -> Vec<&'static PropDef> {
        let mut chain: Vec<&TypeDef> = self.chain(name).collect();
        chain.reverse();
        chain.iter().flat_map(|t| t.own.iter()).collect()
    }
}

/// Whether `type_name` is registered.
pub fn exists(type_name: &str) -> bool {
    registry().get(type_name).is_some()
}

/// Whether an object of type `type_name` is a `target` (its class or an interface).
pub fn is_a(type_name: &str, target: &str) -> bool {
    type_name == target || registry().implements(type_name, target)
}

/// The properties of type `type_name`, parent's first; empty for an unknown type.
pub(crate) fn properties_of(type_name: &str) -> Vec<&'static PropDef> {
    registry().props(type_name)
}

/// `qom-list-types`: the types implementing `implements` (all if absent), abstract ones only
/// when `include_abstract`.
pub fn list_types(implements: Option<&str>, include_abstract: bool) -> Vec<ObjectTypeInfo> {
    let r = registry();
    r.listing
        .iter()
        .map(|&i| &r.types[i])
        .filter(|t| include_abstract || t.kind == Kind::Concrete)
        .filter(|t| implements.is_none_or(|target| r.implements(&t.name, target)))
        .map(|t| ObjectTypeInfo {
            name: t.name.clone(),
            r#abstract: (t.kind != Kind::Concrete).then_some(true),
            parent: t.parent.map(str::to_string),
        })
        .collect()
}

/// `qom-list-properties`.
pub fn list_properties(typename: &str) -> Result<Vec<ObjectPropertyInfo>, QapiError> {
    let r = registry();
    let t = r
        .get(typename)
        .ok_or_else(|| QomError::ClassNotFound(typename.to_string()))?;
    if t.kind == Kind::Interface {
        return Err(QomError::TypenameExpects("a QOM type").into());
    }
    Ok(r.props(typename).iter().map(|p| p.info()).collect())
}

/// `device-list-properties`: a concrete device type's properties, without those of every
/// object and device and without the `legacy-` string forms, as QEMU filters them.
pub fn device_list_properties(typename: &str) -> Result<Vec<ObjectPropertyInfo>, QapiError> {
    let r = registry();
    let t = r
        .get(typename)
        .ok_or_else(|| QomError::DeviceNotFound(typename.to_string()))?;
    if t.kind != Kind::Concrete || !r.implements(typename, "device") {
        return Err(QomError::TypenameExpects("a non-abstract device type").into());
    }
    const HIDDEN: &[&str] = &[
        "type",
        "realized",
        "hotpluggable",
        "hotplugged",
        "parent_bus",
    ];
    Ok(r.props(typename)
        .iter()
        .filter(|p| !HIDDEN.contains(&p.name) && !p.name.starts_with("legacy-"))
        .map(|p| p.info())
        .collect())
}

//! The objects of a `-device virtio-balloon-pci`: the PCI proxy (`/machine/peripheral/ID`, type
//! `virtio-balloon-pci`), its `virtio-bus` (`virtio-pci-bus`) and the device on that bus,
//! `virtio-backend` (`virtio-balloon-device`), with QEMU 10.0.2's property lists, listing order,
//! values and errors.
//!
//! ```text
//! let path = add_balloon_objects(&mut tree, Some("balloon0"), devfn,
//!     BalloonQomConfig::new(&balloon_config, &device_config.props), handle)?;
//! tree.get(&path, "guest-stats", &ctx)?;   // live, from the BalloonHandle
//! tree.set(&path, "guest-stats-polling-interval", json!(2), &ctx)?;
//! ```
//!
//! As in QEMU, the proxy's virtio properties are aliases of the backend's: they read the same
//! values and fail with the backend's wording (`virtio-balloon-device`, "anonymous device").
//! Everything but the polling interval (and the bus's `hotplug-handler` link) is frozen once
//! the device is realized.
//!
//! Values describe this device, which is modern-only: `disable-legacy` reads "on" (QEMU's
//! `disable-legacy=on`), and the properties in [`BALLOON_DIFFERS_FROM_QEMU`] read what this
//! device offers the guest rather than QEMU's defaults. Properties that change nothing here
//! (ROM, PCIe and migration knobs) read as given on the command line, else QEMU's default.
//! QEMU's memory-region children (`msix-table[0]`, `bus master[0]`, …) are not modelled, and
//! `realized=false` (which in QEMU unplugs the device) is refused.

use std::any::Any;

use devices::pci::PciDevfn;
use devices::virtio::balloon::{BalloonConfig, BalloonHandle, BalloonStats, STAT_NAMES};
use serde_json::{Map, Value};

use super::context::QomContext;
use super::error::QomError;
use super::object::{PropInfo, QomObject};
use super::tree::ObjectTree;
use super::types::{self, Lit, PropDef};
use super::value::{parse_bool, read, Props};

const PCI_TYPE: &str = "virtio-balloon-pci";
const DEVICE_TYPE: &str = "virtio-balloon-device";
const BUS_TYPE: &str = "virtio-pci-bus";
const BUS_NAME: &str = "virtio-bus";
const BACKEND_NAME: &str = "virtio-backend";
const POLL: &str = "guest-stats-polling-interval";
const STATS: &str = "guest-stats";

/// Properties whose value QEMU (10.0.2, `disable-legacy=on`) reports differently for the same
/// command line, because they describe what this device offers: its MSI-X table (one vector
/// per queue plus config), and the virtio features it does not offer (EVENT_IDX, RING_RESET,
/// PAGE_POISON).
pub const BALLOON_DIFFERS_FROM_QEMU: &[&str] =
    &["vectors", "event_idx", "queue_reset", "page-poison"];

/// What the objects show of a `-device virtio-balloon-pci`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalloonQomConfig {
    /// `deflate-on-oom` as the device was built.
    pub deflate_on_oom: bool,
    /// `free-page-reporting` as the device was built.
    pub free_page_reporting: bool,
    /// The `-device` properties as given (`key=value`, later ones winning). Only those this
    /// device accepts without acting on are shown from here; the rest show the device.
    pub props: Vec<(String, String)>,
}

impl BalloonQomConfig {
    /// The objects' view of a balloon built with `config` from a `-device` with `props`.
    pub fn new(config: &BalloonConfig, props: &[(String, String)]) -> Self {
        BalloonQomConfig {
            deflate_on_oom: config.deflate_on_oom,
            free_page_reporting: config.free_page_reporting,
            props: props.to_vec(),
        }
    }

    /// The device's MSI-X vectors, as `VirtioPciDevice` sizes its table: one per queue
    /// (inflate, deflate, stats, and reporting when offered) and one for configuration.
    fn vectors(&self) -> u32 {
        3 + u32::from(self.free_page_reporting) + 1
    }
}

/// The PCI root bus the proxy sits on, which QEMU names by board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootBus {
    /// `/machine/i440fx/pci.0`, which takes hot-plugged devices.
    I440fx,
    /// `/machine/q35/pcie.0`, which does not.
    Q35,
}

impl RootBus {
    fn of(tree: &ObjectTree) -> Self {
        let machine = tree
            .resolve("/machine")
            .and_then(|id| tree.get_object(id))
            .map(|o| o.type_name().to_string())
            .unwrap_or_default();
        if machine.contains("q35") {
            RootBus::Q35
        } else {
            RootBus::I440fx
        }
    }

    fn path(self) -> &'static str {
        match self {
            RootBus::I440fx => "/machine/i440fx/pci.0",
            RootBus::Q35 => "/machine/q35/pcie.0",
        }
    }

    fn hotpluggable(self) -> bool {
        self == RootBus::I440fx
    }
}

/// Adds the objects of a `-device virtio-balloon-pci` at PCI address `devfn`:
/// `/machine/peripheral/ID` (or `/machine/peripheral-anon/device[N]` without an id) with its
/// children `virtio-bus` and `virtio-backend`. Returns the proxy's path.
pub fn add_balloon_objects(
    tree: &mut ObjectTree,
    id: Option<&str>,
    devfn: PciDevfn,
    config: BalloonQomConfig,
    handle: BalloonHandle,
) -> Result<String, QomError> {
    let root_bus = RootBus::of(tree);
    let backend = Backend { config, handle };
    let proxy = BalloonPciObject {
        id: id.map(str::to_string),
        devfn,
        root_bus,
        backend: backend.clone(),
    };
    let path = tree.add_device(id, Box::new(proxy))?;
    let bus_path = format!("{path}/{BUS_NAME}");
    let backend_path = format!("{path}/{BACKEND_NAME}");
    let children = (|| {
        let parent = tree
            .resolve(&path)
            .ok_or_else(|| QomError::DeviceNotFound(path.clone()))?;
        // QEMU creates the bus at the proxy's init, then the backend, which plugs into it.
        tree.add_child(
            parent,
            BUS_NAME,
            Box::new(VirtioPciBusObject {
                child: backend_path,
                hotplug_handler: None,
            }),
        )?;
        tree.add_child(
            parent,
            BACKEND_NAME,
            Box::new(BalloonDeviceObject {
                backend,
                parent_bus: bus_path,
            }),
        )?;
        Ok(())
    })();
    if let Err(e) = children {
        let _ = tree.remove(&path);
        return Err(e);
    }
    Ok(path)
}

/// The proxy's own properties after the device's, PCI device's and virtio-pci's, in QEMU's
/// `qom-list` order: its class properties, then its instance properties (the aliases of the
/// backend's and its children) as QEMU's property table lists them, less the memory regions.
const PROXY_CLASS_TAIL: &[&str] = &["disable-legacy", "disable-modern"];
const PROXY_INSTANCE: &[&str] = &[
    "notify_on_empty",
    "page-poison",
    "legacy-iothread",
    "iothread",
    "qemu-4-0-config-size",
    BUS_NAME,
    "in_order",
    BACKEND_NAME,
    "packed",
    POLL,
    STATS,
    "use-started",
    "use-disabled-flag",
    "iommu_platform",
    "any_layout",
    "x-disable-legacy-check",
    "free-page-hint",
    "free-page-reporting",
    "queue_reset",
    "deflate-on-oom",
    "event_idx",
    "indirect_desc",
];

/// The properties of every device, which the proxy and the backend answer themselves.
const DEVICE_PROPS: &[&str] = &["parent_bus", "realized", "hotplugged", "hotpluggable"];

fn prop_def(type_name: &str, name: &str) -> Option<&'static PropDef> {
    types::properties_of(type_name)
        .into_iter()
        .find(|p| p.name == name)
}

/// Whether `name` is one of the backend's own properties (which the proxy aliases).
fn is_backend_prop(name: &str) -> bool {
    name != "type" && !DEVICE_PROPS.contains(&name) && prop_def(DEVICE_TYPE, name).is_some()
}

/// A property's value from the command line, else its default (QEMU's, from the measured
/// table); `None` when the property has neither.
fn configured(type_name: &str, name: &str, props: &[(String, String)]) -> Option<Value> {
    let def = prop_def(type_name, name)?;
    let given = Props(props)
        .str(name)
        .and_then(|text| parse_as(def.ty, text));
    given
        .or_else(|| def.default.map(Lit::to_json))
        .or_else(|| (def.ty == "str").then(|| Value::from("")))
}

/// Command-line text as a value of QOM type `ty`; `None` if it does not read as one.
fn parse_as(ty: &str, text: &str) -> Option<Value> {
    match ty {
        "bool" => parse_bool(text).map(Value::from),
        "str" => Some(Value::from(text)),
        "uint32" => parse_uint(text)
            .and_then(|v| u32::try_from(v).ok())
            .map(Value::from),
        "int32" => text.parse::<i32>().ok().map(Value::from),
        "size" => parse_size(text).map(Value::from),
        _ => None,
    }
}

/// An unsigned number in decimal or `0x` hexadecimal.
fn parse_uint(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A size as QEMU reads one: a number with an optional binary suffix (`4k`, `1M`, `2G`).
fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'B' => 0,
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'P' => 50,
                'E' => 60,
                _ => return None,
            };
            (&text[..i], shift)
        }
        _ => (text, 0),
    };
    let n = parse_uint(digits)?;
    n.checked_mul(1u64 << shift)
}

/// `guest-stats`: `{"last-update": N, "stats": {16 stats}}` built in the order QEMU's getter
/// visits the members (the monitor prints them in QEMU's hash order). Unreported stats are
/// u64::MAX.
pub(crate) fn guest_stats_value(stats: &BalloonStats) -> Value {
    let mut inner = Map::new();
    for (i, name) in STAT_NAMES.iter().enumerate() {
        inner.insert((*name).to_string(), Value::from(stats.qemu_value(i)));
    }
    let mut outer = Map::new();
    outer.insert("last-update".into(), Value::from(stats.last_update));
    outer.insert("stats".into(), Value::Object(inner));
    Value::Object(outer)
}

/// The backend's state, shared by the backend object and the proxy's aliases.
#[derive(Clone)]
struct Backend {
    config: BalloonQomConfig,
    handle: BalloonHandle,
}

impl Backend {
    fn get(&self, name: &str) -> Result<Value, QomError> {
        let c = &self.config;
        Ok(match name {
            POLL => Value::from(self.handle.polling_interval()),
            STATS => guest_stats_value(&self.handle.stats()),
            "legacy-iothread" => return Err(QomError::not_readable(DEVICE_TYPE, name)),
            "deflate-on-oom" => Value::from(c.deflate_on_oom),
            "free-page-reporting" => Value::from(c.free_page_reporting),
            // What this device offers: indirect descriptors, and none of these.
            "indirect_desc" => Value::from(true),
            "free-page-hint" | "page-poison" | "event_idx" | "queue_reset" | "packed"
            | "in_order" | "iommu_platform" => Value::from(false),
            _ => configured(DEVICE_TYPE, name, &c.props)
                .ok_or_else(|| QomError::not_found(DEVICE_TYPE, name))?,
        })
    }

    fn set(&mut self, name: &str, value: &Value) -> Result<(), QomError> {
        match name {
            POLL => {
                let secs: i64 = read(name, value)?;
                if secs < 0 {
                    return Err(QomError::Generic(
                        "timer value must be greater than zero".into(),
                    ));
                }
                let secs = u32::try_from(secs)
                    .map_err(|_| QomError::Generic("timer value is too big".into()))?;
                // QEMU leaves the timer alone when the value does not change.
                if secs != self.handle.polling_interval() {
                    self.handle.set_polling_interval(secs);
                }
                Ok(())
            }
            STATS | "legacy-iothread" => Err(QomError::not_writable(DEVICE_TYPE, name)),
            // The backend has no id.
            _ => Err(QomError::after_realize(name, None, DEVICE_TYPE)),
        }
    }

    fn set_link(&mut self, name: &str) -> Result<(), QomError> {
        Err(QomError::LinkAfterRealize {
            name: name.to_string(),
            id: "(null)".into(),
            type_name: DEVICE_TYPE.into(),
        })
    }
}

/// Refusing `realized=false`: this machine cannot unplug the balloon. Worded as QEMU words
/// the same refusal for `device_del`.
fn no_unplug(bus: Option<RootBus>) -> QomError {
    QomError::Generic(match bus {
        Some(RootBus::I440fx) => format!("Device '{PCI_TYPE}' does not support hotplugging"),
        Some(RootBus::Q35) => "Bus 'pcie.0' does not support hotplugging".into(),
        None => format!("Bus '{BUS_NAME}' does not support hotplugging"),
    })
}

fn set_realized(value: &Value, bus: Option<RootBus>) -> Result<(), QomError> {
    if read::<bool>("realized", value)? {
        Ok(())
    } else {
        Err(no_unplug(bus))
    }
}

/// `virtio-balloon-pci`: the PCI proxy, `/machine/peripheral/ID`.
pub struct BalloonPciObject {
    id: Option<String>,
    devfn: PciDevfn,
    root_bus: RootBus,
    backend: Backend,
}

impl BalloonPciObject {
    fn info(&self, name: &'static str, ty: &'static str) -> PropInfo {
        match name {
            "parent_bus" => PropInfo::link(name, ty, Some(self.root_bus.path().into()), false),
            // Writable, so the target is checked before the refusal, as in QEMU.
            "iothread" => PropInfo::link(name, ty, None, true),
            BUS_NAME | BACKEND_NAME => PropInfo::child(name),
            _ => PropInfo::value(name, ty),
        }
    }
}

impl QomObject for BalloonPciObject {
    fn type_name(&self) -> &str {
        PCI_TYPE
    }

    fn properties(&self) -> Vec<PropInfo> {
        let all = types::properties_of(PCI_TYPE);
        let ty = |name: &str| all.iter().find(|p| p.name == name).map_or("", |p| p.ty);
        // The inherited class properties come first, in the table's order.
        let class_end = all
            .iter()
            .position(|p| p.name == PROXY_CLASS_TAIL[0])
            .unwrap_or(all.len());
        let mut out: Vec<PropInfo> = all[..class_end]
            .iter()
            .filter(|p| p.name != "type")
            .map(|p| self.info(p.name, p.ty))
            .collect();
        out.extend(
            PROXY_CLASS_TAIL
                .iter()
                .chain(PROXY_INSTANCE)
                .map(|&name| self.info(name, ty(name))),
        );
        out
    }

    fn get(&self, name: &str, _ctx: &dyn QomContext) -> Result<Value, QomError> {
        let devfn = self.devfn;
        Ok(match name {
            "realized" => Value::from(true),
            "hotplugged" => Value::from(false),
            "hotpluggable" => Value::from(self.root_bus.hotpluggable()),
            // QEMU's `addr` getter gives the devfn as a number; `legacy-addr` the text.
            "addr" => Value::from(devfn.raw()),
            "legacy-addr" => Value::from(format!("{:02x}.{:x}", devfn.slot(), devfn.function())),
            "busnr" => Value::from(0),
            "multifunction" => Value::from(false),
            "vectors" => Value::from(self.backend.config.vectors()),
            "ioeventfd" => Value::from(true),
            "disable-legacy" => Value::from("on"),
            "disable-modern" => Value::from(false),
            _ if is_backend_prop(name) => return self.backend.get(name),
            _ => configured(PCI_TYPE, name, &self.backend.config.props)
                .ok_or_else(|| QomError::not_found(PCI_TYPE, name))?,
        })
    }

    fn set(&mut self, name: &str, value: &Value, _ctx: &dyn QomContext) -> Result<(), QomError> {
        match name {
            "realized" => set_realized(value, Some(self.root_bus)),
            "hotplugged" | "hotpluggable" | "busnr" | "legacy-addr" => {
                Err(QomError::not_writable(PCI_TYPE, name))
            }
            _ if is_backend_prop(name) => self.backend.set(name, value),
            _ if self.property(name).is_some() => {
                Err(QomError::after_realize(name, self.id.as_deref(), PCI_TYPE))
            }
            _ => Err(QomError::not_found(PCI_TYPE, name)),
        }
    }

    fn set_link(&mut self, name: &str, _target: Option<String>) -> Result<(), QomError> {
        match name {
            "iothread" => self.backend.set_link(name),
            _ => Err(QomError::not_writable(PCI_TYPE, name)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// `virtio-balloon-device`: the device on the proxy's virtio bus, `…/virtio-backend`.
pub struct BalloonDeviceObject {
    backend: Backend,
    parent_bus: String,
}

impl QomObject for BalloonDeviceObject {
    fn type_name(&self) -> &str {
        DEVICE_TYPE
    }

    fn properties(&self) -> Vec<PropInfo> {
        types::properties_of(DEVICE_TYPE)
            .into_iter()
            .filter(|p| p.name != "type")
            .map(|p| match p.name {
                "parent_bus" => PropInfo::link(p.name, p.ty, Some(self.parent_bus.clone()), false),
                "iothread" => PropInfo::link(p.name, p.ty, None, true),
                _ => PropInfo::value(p.name, p.ty),
            })
            .collect()
    }

    fn get(&self, name: &str, _ctx: &dyn QomContext) -> Result<Value, QomError> {
        match name {
            "realized" => Ok(Value::from(true)),
            "hotplugged" | "hotpluggable" => Ok(Value::from(false)),
            _ => self.backend.get(name),
        }
    }

    fn set(&mut self, name: &str, value: &Value, _ctx: &dyn QomContext) -> Result<(), QomError> {
        match name {
            "realized" => set_realized(value, None),
            "hotplugged" | "hotpluggable" => Err(QomError::not_writable(DEVICE_TYPE, name)),
            _ => self.backend.set(name, value),
        }
    }

    fn set_link(&mut self, name: &str, _target: Option<String>) -> Result<(), QomError> {
        match name {
            "iothread" => self.backend.set_link(name),
            _ => Err(QomError::not_writable(DEVICE_TYPE, name)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// `virtio-pci-bus`: the proxy's `virtio-bus`, holding the backend.
pub struct VirtioPciBusObject {
    child: String,
    hotplug_handler: Option<String>,
}

impl QomObject for VirtioPciBusObject {
    fn type_name(&self) -> &str {
        BUS_TYPE
    }

    fn properties(&self) -> Vec<PropInfo> {
        vec![
            PropInfo::value("realized", "bool"),
            PropInfo::link(
                "child[0]",
                "link<virtio-balloon-device>",
                Some(self.child.clone()),
                false,
            ),
            PropInfo::link(
                "hotplug-handler",
                "link<hotplug-handler>",
                self.hotplug_handler.clone(),
                true,
            ),
        ]
    }

    fn get(&self, name: &str, _ctx: &dyn QomContext) -> Result<Value, QomError> {
        match name {
            "realized" => Ok(Value::from(true)),
            _ => Err(QomError::not_found(BUS_TYPE, name)),
        }
    }

    fn set(&mut self, name: &str, value: &Value, _ctx: &dyn QomContext) -> Result<(), QomError> {
        match name {
            "realized" => set_realized(value, None),
            _ => Err(QomError::not_writable(BUS_TYPE, name)),
        }
    }

    fn set_link(&mut self, name: &str, target: Option<String>) -> Result<(), QomError> {
        match name {
            // QEMU lets any hotplug handler be set on a bus at any time.
            "hotplug-handler" => {
                self.hotplug_handler = target;
                Ok(())
            }
            _ => Err(QomError::not_writable(BUS_TYPE, name)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

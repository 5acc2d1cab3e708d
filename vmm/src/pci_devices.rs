//! The PCI bus and the devices `-device` puts on it, wired to KVM: MSI through
//! KVM_SIGNAL_MSI, queue notifications through ioeventfds that follow BAR moves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use devices::pci::{
    BarAllocator, BarMove, MsiInterrupt, PciBarEvents, PciBus, PciDevfn, PciDevice, PciFunctionInfo,
};
use devices::virtio::balloon::{Balloon, BalloonConfig, BalloonEvents, BalloonHandle};
use devices::virtio::pci::layout::BAR0_SIZE;
use devices::virtio::pci::VirtioPciDevice;
use kvm_bindings::kvm_msi;
use kvm_ioctls::{IoEventAddress, NoDatamatch, VmFd};
use thiserror::Error;
use vmm_sys_util::eventfd::EventFd;

use crate::arch::layout::{PCI_MMIO32_END, PCI_MMIO32_START};
use crate::config::{DeviceConfig, VmConfig};
use crate::machine_events::MachineEvents;
use crate::memory::GuestRam;
use crate::options::machine::Family;

/// A `-device` problem, printed as QEMU does: `-device TEXT: message`.
#[derive(Debug, Error)]
#[error("-device {text}: {message}")]
pub struct DeviceError {
    pub text: String,
    pub message: String,
}

/// The balloon, when `-device virtio-balloon-pci` is given.
#[derive(Clone)]
pub struct BalloonDevice {
    pub id: Option<String>,
    pub devfn: PciDevfn,
    pub handle: BalloonHandle,
    pub config: BalloonConfig,
}

pub struct PciSetup {
    pub bus: Arc<PciBus>,
    pub balloon: Option<BalloonDevice>,
}

/// Delivers MSI messages with KVM_SIGNAL_MSI (no GSI routing needed).
struct KvmMsi(Arc<VmFd>);

impl MsiInterrupt for KvmMsi {
    fn signal(&self, address: u64, data: u32) {
        let msi = kvm_msi {
            address_lo: address as u32,
            address_hi: (address >> 32) as u32,
            data,
            ..Default::default()
        };
        // A masked or rejected interrupt is the guest's configuration; nothing to recover.
        let _ = self.0.signal_msi(msi);
    }
}

/// The notify ioeventfds of each device, moved when the guest relocates a BAR.
struct IoEvents {
    vm: Arc<VmFd>,
    by_device: Mutex<BTreeMap<u8, Vec<(u64, EventFd)>>>,
}

impl PciBarEvents for IoEvents {
    fn bar_moved(&self, devfn: PciDevfn, moved: BarMove) {
        let mut map = self.by_device.lock().unwrap_or_else(|e| e.into_inner());
        let Some(events) = map.get_mut(&devfn.raw()) else {
            return;
        };
        for (gpa, evt) in events.iter_mut() {
            if *gpa < moved.old_base || *gpa >= moved.old_base + moved.size {
                continue;
            }
            let new = *gpa - moved.old_base + moved.new_base;
            let _ = self
                .vm
                .unregister_ioevent(evt, &IoEventAddress::Mmio(*gpa), NoDatamatch);
            // Unmapped (base 0) BARs get no ioeventfd; MMIO writes still reach the device.
            if new != 0 {
                let _ = self
                    .vm
                    .register_ioevent(evt, &IoEventAddress::Mmio(new), NoDatamatch);
            }
            *gpa = new;
        }
    }
}

/// Turns the balloon's `actual` updates into machine events (BALLOON_CHANGE).
struct BalloonToMachine(Arc<MachineEvents>);

impl BalloonEvents for BalloonToMachine {
    fn actual_changed(&self, actual_pages: u32) {
        self.0.balloon_actual(actual_pages);
    }
}

fn device_text(d: &DeviceConfig) -> String {
    let mut text = d.driver.clone();
    if let Some(id) = &d.id {
        text.push_str(&format!(",id={id}"));
    }
    for (k, v) in &d.props {
        text.push_str(&format!(",{k}={v}"));
    }
    text
}

fn parse_onoff(name: &str, value: &str) -> Result<bool, String> {
    crate::options::value::parse_bool(value)
        .ok_or_else(|| format!("Parameter '{name}' expects 'on' or 'off'"))
}

/// Properties of `-device virtio-balloon-pci`, with QEMU's checks and messages.
struct BalloonOptions {
    bus: Option<String>,
    addr: Option<PciDevfn>,
    config: BalloonConfig,
}

fn balloon_options(d: &DeviceConfig) -> Result<BalloonOptions, String> {
    let mut o = BalloonOptions {
        bus: None,
        addr: None,
        config: BalloonConfig::default(),
    };
    let known = crate::qom::list_properties("virtio-balloon-pci").unwrap_or_default();
    for (k, v) in &d.props {
        match k.as_str() {
            "bus" => o.bus = Some(v.clone()),
            "addr" => o.addr = Some(PciDevfn::parse_qemu(&d.driver, v).map_err(|e| e.to_string())?),
            "deflate-on-oom" => o.config.deflate_on_oom = parse_onoff(k, v)?,
            "free-page-reporting" => o.config.free_page_reporting = parse_onoff(k, v)?,
            "guest-stats-polling-interval" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| format!("Parameter '{k}' expects integer"))?;
                if n < 0 {
                    return Err("timer value must be greater than zero".into());
                }
                o.config.stats_polling_interval =
                    u32::try_from(n).map_err(|_| "timer value is too big".to_string())?;
            }
            // QEMU's other properties are accepted; this device's behaviour is fixed.
            other if known.iter().any(|p| p.name == other) => {}
            other => return Err(format!("Property '{}.{other}' not found", d.driver)),
        }
    }
    Ok(o)
}

/// Builds the PCI bus and its devices for `config`.
pub fn build(
    config: &VmConfig,
    mem: &GuestRam,
    vm: &Arc<VmFd>,
    events: &Arc<MachineEvents>,
) -> Result<PciSetup, DeviceError> {
    let family = config.machine.family();
    let mut bus = PciBus::new();
    if family == Family::I440fx {
        // QEMU pc's PIIX3 functions occupy slot 1, so the first free slot is 2 as in QEMU.
        for (slot, func, name, multi) in [
            (1, 0, "PIIX3", true),
            (1, 1, "piix3-ide", false),
            (1, 3, "PIIX4_PM", false),
        ] {
            if let Some(devfn) = PciDevfn::new(slot, func) {
                let info = PciFunctionInfo {
                    type_name: name,
                    id: None,
                    multifunction: multi,
                };
                let _ = bus.add_placeholder(devfn, info);
            }
        }
    }
    let io_events = Arc::new(IoEvents {
        vm: vm.clone(),
        by_device: Mutex::new(BTreeMap::new()),
    });
    bus.set_bar_events(io_events.clone());
    let mut bars = BarAllocator::new(PCI_MMIO32_START, PCI_MMIO32_END);
    let mut balloon: Option<BalloonDevice> = None;
    let root_bus = if family == Family::Q35 {
        "pcie.0"
    } else {
        "pci.0"
    };

    for d in &config.devices {
        let text = device_text(d);
        let err = |message: String| DeviceError {
            text: text.clone(),
            message,
        };
        if d.driver != "virtio-balloon-pci" {
            return Err(err(format!(
                "'{}' is not a valid device model name",
                d.driver
            )));
        }
        if matches!(family, Family::Microvm | Family::None) {
            return Err(err(format!("No 'PCI' bus found for device '{}'", d.driver)));
        }
        let opts = balloon_options(d).map_err(err)?;
        if let Some(b) = &opts.bus {
            if b != root_bus {
                return Err(err(format!("Bus '{b}' not found")));
            }
        }
        let bar0 = bars
            .allocate(BAR0_SIZE)
            .ok_or_else(|| err("PCI MMIO space exhausted".into()))?;
        let dev = Balloon::new(
            opts.config,
            mem.clone(),
            Arc::new(BalloonToMachine(events.clone())),
        )
        .map_err(|e| err(e.to_string()))?;
        let handle = dev.handle();
        let pci = VirtioPciDevice::new(
            Box::new(dev),
            mem.clone(),
            bar0,
            Arc::new(KvmMsi(vm.clone())),
        )
        .map_err(|e| err(e.to_string()))?;
        let notify: Vec<(u64, EventFd)> = pci
            .notify_addresses()
            .into_iter()
            .filter_map(|(gpa, q)| Some((gpa, pci.queue_event(q)?.try_clone().ok()?)))
            .collect();
        let pci: Arc<Mutex<dyn PciDevice>> = Arc::new(Mutex::new(pci));
        let info = PciFunctionInfo {
            type_name: &d.driver,
            id: d.id.as_deref(),
            multifunction: false,
        };
        let devfn = bus
            .add_device(opts.addr, info, pci)
            .map_err(|e| err(e.to_string()))?;
        if balloon.is_some() {
            return Err(err("Only one balloon device is supported".into()));
        }
        for (gpa, evt) in &notify {
            vm.register_ioevent(evt, &IoEventAddress::Mmio(*gpa), NoDatamatch)
                .map_err(|e| err(format!("ioeventfd: {e}")))?;
        }
        io_events
            .by_device
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(devfn.raw(), notify);
        balloon = Some(BalloonDevice {
            id: d.id.clone(),
            devfn,
            handle,
            config: opts.config,
        });
    }
    Ok(PciSetup {
        bus: Arc::new(bus),
        balloon,
    })
}

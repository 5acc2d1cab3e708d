//! PCI bus 0: which function sits at which device/function number, configuration access
//! routing, and BAR decoding for the MMIO window.
//!
//! Slot allocation and its errors follow QEMU's `do_pci_register_device` and
//! `pci_init_multifunction`, so `-device ...,addr=` behaves (and fails) as QEMU's does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use thiserror::Error;

use super::address::{PciDevfn, SLOTS};
use super::bar::BarMove;
use super::device::PciDevice;
use super::host_bridge::{HostBridge, HOST_BRIDGE_TYPE};
use crate::bus::lock;

/// Told when a BAR changes its decode address, so the VMM can move what it attached to the
/// old range (ioeventfds). Called on the vCPU thread doing the config write, with no device
/// lock held.
pub trait PciBarEvents: Send + Sync {
    fn bar_moved(&self, devfn: PciDevfn, moved: BarMove);
}

/// What QEMU's slot errors name: the device's type and its `id=`.
#[derive(Debug, Clone, Copy)]
pub struct PciFunctionInfo<'a> {
    pub type_name: &'a str,
    pub id: Option<&'a str>,
    /// QEMU's `multifunction=on`: function 0 announces more functions in its slot.
    pub multifunction: bool,
}

/// QEMU 10's errors for a function that cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PciSlotError {
    #[error("PCI: no slot/function available for {name}, all in use or reserved")]
    NoneFree { name: String },
    #[error(
        "PCI: slot {slot} function {function} not available for {name}, in use by {owner},id={owner_id}"
    )]
    InUse {
        slot: u8,
        function: u8,
        name: String,
        owner: String,
        /// QEMU prints a missing id as `(null)`.
        owner_id: String,
    },
    #[error("PCI: single function device can't be populated in function {slot:x}.{function:x}")]
    SlotIsSingleFunction { slot: u8, function: u8 },
    #[error("PCI: {slot:x}.0 indicates single function, but {slot:x}.{function:x} is already populated.")]
    FunctionsPopulated { slot: u8, function: u8 },
}

struct Function {
    type_name: String,
    id: Option<String>,
    multifunction: bool,
    /// None for a placeholder: occupies the address, invisible to the guest.
    device: Option<Arc<Mutex<dyn PciDevice>>>,
}

/// A decoded memory BAR.
#[derive(Clone, Copy)]
struct Window {
    base: u64,
    size: u64,
    devfn: u8,
    bar: usize,
}

/// A shared PCI function.
pub type SharedPciDevice = Arc<Mutex<dyn PciDevice>>;

/// One placed function, as listed by [`PciBus::functions`].
pub struct PciFunctionEntry {
    pub devfn: PciDevfn,
    pub type_name: String,
    pub id: Option<String>,
    pub device: Option<Arc<Mutex<dyn PciDevice>>>,
}

/// Bus 0. Built (functions added) before the vCPUs start, then shared read-only.
pub struct PciBus {
    functions: BTreeMap<u8, Function>,
    windows: RwLock<Vec<Window>>,
    events: Option<Arc<dyn PciBarEvents>>,
}

impl PciBus {
    /// A bus with the i440FX host bridge at 00:00.0.
    pub fn new() -> Self {
        let mut bus = PciBus {
            functions: BTreeMap::new(),
            windows: RwLock::new(Vec::new()),
            events: None,
        };
        let bridge: Arc<Mutex<dyn PciDevice>> = Arc::new(Mutex::new(HostBridge::new()));
        bus.functions.insert(
            0,
            Function {
                type_name: HOST_BRIDGE_TYPE.to_string(),
                id: None,
                multifunction: false,
                device: Some(bridge),
            },
        );
        bus
    }

    pub fn set_bar_events(&mut self, events: Arc<dyn PciBarEvents>) {
        self.events = Some(events);
    }

    /// Places `device` at `request` (QEMU's `addr=`), or in the first slot whose function 0
    /// is free. Returns where it went.
    pub fn add_device(
        &mut self,
        request: Option<PciDevfn>,
        info: PciFunctionInfo<'_>,
        device: Arc<Mutex<dyn PciDevice>>,
    ) -> Result<PciDevfn, PciSlotError> {
        let devfn = self.place(request, info)?;
        self.refresh_windows(devfn.raw(), &device);
        self.functions
            .insert(devfn.raw(), function(info, Some(device)));
        Ok(devfn)
    }

    /// Occupies `devfn` without a guest-visible function (config reads there stay all-ones),
    /// so addresses and errors match a QEMU machine that has a built-in device there; e.g.
    /// QEMU `pc` has PIIX3 at 1.0, piix3-ide at 1.1 and PIIX4_PM at 1.3, which makes 00:02.0
    /// the first free slot.
    pub fn add_placeholder(
        &mut self,
        devfn: PciDevfn,
        info: PciFunctionInfo<'_>,
    ) -> Result<(), PciSlotError> {
        let devfn = self.place(Some(devfn), info)?;
        self.functions.insert(devfn.raw(), function(info, None));
        Ok(())
    }

    fn place(
        &self,
        request: Option<PciDevfn>,
        info: PciFunctionInfo<'_>,
    ) -> Result<PciDevfn, PciSlotError> {
        let devfn = match request {
            None => (0..SLOTS)
                .filter_map(|s| PciDevfn::new(s, 0))
                .find(|d| !self.functions.contains_key(&d.raw()))
                .ok_or_else(|| PciSlotError::NoneFree {
                    name: info.type_name.to_string(),
                })?,
            Some(d) => {
                if let Some(owner) = self.functions.get(&d.raw()) {
                    return Err(PciSlotError::InUse {
                        slot: d.slot(),
                        function: d.function(),
                        name: info.type_name.to_string(),
                        owner: owner.type_name.clone(),
                        owner_id: owner.id.clone().unwrap_or_else(|| "(null)".to_string()),
                    });
                }
                d
            }
        };
        let slot = devfn.slot();
        if devfn.function() != 0 {
            let f0 = PciDevfn::new(slot, 0).and_then(|d| self.functions.get(&d.raw()));
            if f0.is_some_and(|f| !f.multifunction) {
                return Err(PciSlotError::SlotIsSingleFunction {
                    slot,
                    function: devfn.function(),
                });
            }
        } else if !info.multifunction {
            if let Some(f) = (1..8).find(|&f| {
                PciDevfn::new(slot, f).is_some_and(|d| self.functions.contains_key(&d.raw()))
            }) {
                return Err(PciSlotError::FunctionsPopulated { slot, function: f });
            }
        }
        Ok(devfn)
    }

    /// Every placed function, in devfn order.
    pub fn functions(&self) -> Vec<PciFunctionEntry> {
        self.functions
            .iter()
            .map(|(&devfn, f)| PciFunctionEntry {
                devfn: PciDevfn::from_raw(devfn),
                type_name: f.type_name.clone(),
                id: f.id.clone(),
                device: f.device.clone(),
            })
            .collect()
    }

    fn device(&self, bus: u8, devfn: u8) -> Option<&Arc<Mutex<dyn PciDevice>>> {
        if bus != 0 {
            return None;
        }
        self.functions.get(&devfn)?.device.as_ref()
    }

    /// A configuration read; absent functions and bytes past 256 read as all-ones.
    pub fn config_read(&self, bus: u8, devfn: u8, offset: usize, data: &mut [u8]) {
        data.fill(0xff);
        let Some(device) = self.device(bus, devfn) else {
            return;
        };
        let len = data.len().min(256usize.saturating_sub(offset));
        if len > 0 {
            lock(device).config_read(offset, &mut data[..len]);
        }
    }

    /// A configuration write; absent functions ignore it.
    pub fn config_write(&self, bus: u8, devfn: u8, offset: usize, data: &[u8]) {
        let Some(device) = self.device(bus, devfn) else {
            return;
        };
        let len = data.len().min(256usize.saturating_sub(offset));
        if len == 0 {
            return;
        }
        let moved = lock(device).config_write(offset, &data[..len]);
        // Command and BAR writes change decoding; re-read it after every write (cheap).
        self.refresh_windows(devfn, device);
        if let (Some(m), Some(events)) = (moved, &self.events) {
            events.bar_moved(PciDevfn::from_raw(devfn), m);
        }
    }

    /// Machine reset: every function back to power-on state.
    pub fn reset(&self) {
        for (&devfn, f) in &self.functions {
            let Some(device) = &f.device else { continue };
            let moves = lock(device).reset();
            self.refresh_windows(devfn, device);
            if let Some(events) = &self.events {
                for m in moves {
                    events.bar_moved(PciDevfn::from_raw(devfn), m);
                }
            }
        }
    }

    fn refresh_windows(&self, devfn: u8, device: &Arc<Mutex<dyn PciDevice>>) {
        let mine = lock(device).memory_windows();
        let mut windows = self.windows.write().unwrap_or_else(|e| e.into_inner());
        windows.retain(|w| w.devfn != devfn);
        windows.extend(mine.into_iter().map(|(bar, base, size)| Window {
            base,
            size,
            devfn,
            bar,
        }));
        windows.sort_by_key(|w| w.base);
    }

    /// The function and BAR decoding `addr..addr+len`, with the offset into the BAR.
    fn decode(&self, addr: u64, len: usize) -> Option<(SharedPciDevice, usize, u64)> {
        let windows = self.windows.read().unwrap_or_else(|e| e.into_inner());
        let w = windows.iter().find(|w| {
            addr >= w.base
                && addr
                    .checked_add(len as u64)
                    .is_some_and(|end| end - w.base <= w.size)
        })?;
        let device = self.functions.get(&w.devfn)?.device.clone()?;
        Some((device, w.bar, addr - w.base))
    }

    /// An MMIO read in the PCI window; returns false (data all-ones) if no BAR decodes it.
    pub fn mmio_read(&self, addr: u64, data: &mut [u8]) -> bool {
        match self.decode(addr, data.len()) {
            Some((device, bar, offset)) => {
                lock(&device).bar_read(bar, offset, data);
                true
            }
            None => {
                data.fill(0xff);
                false
            }
        }
    }

    /// An MMIO write in the PCI window; returns false if no BAR decodes it.
    pub fn mmio_write(&self, addr: u64, data: &[u8]) -> bool {
        match self.decode(addr, data.len()) {
            Some((device, bar, offset)) => {
                lock(&device).bar_write(bar, offset, data);
                true
            }
            None => false,
        }
    }
}

impl Default for PciBus {
    fn default() -> Self {
        Self::new()
    }
}

fn function(info: PciFunctionInfo<'_>, device: Option<Arc<Mutex<dyn PciDevice>>>) -> Function {
    Function {
        type_name: info.type_name.to_string(),
        id: info.id.map(str::to_string),
        multifunction: info.multifunction,
        device,
    }
}

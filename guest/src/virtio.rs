//! virtio over PCI, modern interface (virtio 1.x, section 4.1): the vendor
//! capabilities, the common configuration structure, MSI-X, and split
//! virtqueues. Everything the device says is checked before it is used: a bad
//! device makes the probe fail or a queue "broken" (no further use), never a
//! guest crash.

use crate::pci::{self, Bar, Function};
use crate::x86::{mb, rdtsc};
use core::sync::atomic::{compiler_fence, Ordering};

// Device status bits.
pub const STATUS_ACKNOWLEDGE: u8 = 1;
pub const STATUS_DRIVER: u8 = 2;
pub const STATUS_DRIVER_OK: u8 = 4;
pub const STATUS_FEATURES_OK: u8 = 8;
pub const STATUS_NEEDS_RESET: u8 = 0x40;
pub const STATUS_FAILED: u8 = 0x80;

pub const NO_VECTOR: u16 = 0xffff;

// struct virtio_pci_common_cfg.
const DEVICE_FEATURE_SELECT: u64 = 0x00;
const DEVICE_FEATURE: u64 = 0x04;
const DRIVER_FEATURE_SELECT: u64 = 0x08;
const DRIVER_FEATURE: u64 = 0x0c;
const MSIX_CONFIG: u64 = 0x10;
const NUM_QUEUES: u64 = 0x12;
const DEVICE_STATUS: u64 = 0x14;
const QUEUE_SELECT: u64 = 0x16;
const QUEUE_SIZE: u64 = 0x18;
const QUEUE_MSIX_VECTOR: u64 = 0x1a;
const QUEUE_ENABLE: u64 = 0x1c;
const QUEUE_NOTIFY_OFF: u64 = 0x1e;
const QUEUE_DESC: u64 = 0x20;
const QUEUE_DRIVER: u64 = 0x28;
const QUEUE_DEVICE: u64 = 0x30;
/// Up to queue_device: what Linux requires of the common structure.
const COMMON_MIN_LEN: u32 = 0x38;

// virtio_pci_cap cfg_type.
const CAP_COMMON: u8 = 1;
const CAP_NOTIFY: u8 = 2;
const CAP_ISR: u8 = 3;
const CAP_DEVICE: u8 = 4;

// Register access to a mapped structure (uncached MMIO).
pub fn r8(addr: u64) -> u8 {
    // SAFETY: addr is inside a mapped BAR (checked against the BAR's size).
    unsafe { (addr as *const u8).read_volatile() }
}
pub fn r16(addr: u64) -> u16 {
    // SAFETY: as r8.
    unsafe { (addr as *const u16).read_volatile() }
}
pub fn r32(addr: u64) -> u32 {
    // SAFETY: as r8.
    unsafe { (addr as *const u32).read_volatile() }
}
pub fn w8(addr: u64, v: u8) {
    // SAFETY: as r8.
    unsafe { (addr as *mut u8).write_volatile(v) }
}
pub fn w16(addr: u64, v: u16) {
    // SAFETY: as r8.
    unsafe { (addr as *mut u16).write_volatile(v) }
}
pub fn w32(addr: u64, v: u32) {
    // SAFETY: as r8.
    unsafe { (addr as *mut u32).write_volatile(v) }
}
/// A 64-bit register as two 32-bit writes, low half first (as Linux does).
fn w64(addr: u64, v: u64) {
    w32(addr, v as u32);
    w32(addr + 4, (v >> 32) as u32);
}

/// One virtio structure: where its capability says it is.
#[derive(Clone, Copy, Default)]
struct Cap {
    bar: u8,
    offset: u32,
    length: u32,
}

/// The mapped structures of a modern virtio-pci function.
pub struct Transport {
    pub function: Function,
    common: u64,
    notify: u64,
    notify_len: u64,
    notify_multiplier: u32,
    pub device_cfg: u64,
    pub device_cfg_len: u32,
    msix_cap: u8,
    msix_table: u64,
    pub msix_size: u16,
}

type Result<T> = core::result::Result<T, &'static str>;

/// The BARs of one function, read (and placed if unassigned) on first use.
struct Bars {
    function: Function,
    bars: [Option<Bar>; 6],
    read: u8,
}

impl Bars {
    fn get(&mut self, index: u8) -> Result<Bar> {
        let i = usize::from(index);
        if i >= 6 {
            return Err("capability names a BAR above 5");
        }
        if self.read & (1 << i) == 0 {
            self.read |= 1 << i;
            let mut bar = pci::read_bar(self.function, index);
            if let Some(b) = bar.as_mut() {
                if b.addr == 0 && pci::assign_bar(self.function, index, b).is_none() {
                    return Err("no room in the PCI hole for an unassigned BAR");
                }
            }
            self.bars[i] = bar;
        }
        self.bars[i].ok_or("capability in an I/O or unimplemented BAR")
    }

    /// Maps `len` bytes at `offset` of BAR `index` (which must contain them).
    fn map(&mut self, index: u8, offset: u64, len: u64) -> Result<u64> {
        let bar = self.get(index)?;
        if len > bar.size || offset > bar.size - len {
            return Err("capability outside its BAR");
        }
        crate::paging::map_mmio(bar.addr + offset, len).ok_or("MMIO window full")
    }
}

impl Transport {
    /// Finds and maps the common, notify, ISR and device structures (the first
    /// of each type in a memory BAR, as Linux) and the MSI-X table, assigning
    /// BARs firmware left at 0, then enables memory decoding and bus mastering.
    pub fn probe(function: Function) -> Result<Transport> {
        let f = function;
        let mut found: [Option<(Cap, u32)>; 5] = [None; 5];
        let mut bars = Bars {
            function,
            bars: [None; 6],
            read: 0,
        };
        for pos in f.capabilities(pci::CAP_VENDOR) {
            let cap_len = f.read8(pos + 2);
            let cfg_type = f.read8(pos + 3);
            let bar = f.read8(pos + 4);
            if cap_len < 16 || !(CAP_COMMON..=CAP_DEVICE).contains(&cfg_type) || bar > 5 {
                continue;
            }
            let slot = &mut found[usize::from(cfg_type)];
            if slot.is_some() || bars.get(bar).is_err() {
                continue; // not the first, or not a memory BAR: skipped like Linux
            }
            let cap = Cap {
                bar,
                offset: f.read32(pos + 8),
                length: f.read32(pos + 12),
            };
            let multiplier = if cfg_type == CAP_NOTIFY {
                if cap_len < 20 {
                    continue;
                }
                f.read32(pos + 16)
            } else {
                0
            };
            *slot = Some((cap, multiplier));
        }
        let (Some((common, _)), Some((notify, multiplier)), Some((isr, _))) = (
            found[usize::from(CAP_COMMON)],
            found[usize::from(CAP_NOTIFY)],
            found[usize::from(CAP_ISR)],
        ) else {
            return Err("missing virtio common, notify or ISR capability");
        };
        let Some((device, _)) = found[usize::from(CAP_DEVICE)] else {
            return Err("no device configuration capability");
        };
        // Minimum lengths and alignments (vp_modern_map_capability).
        if common.length < COMMON_MIN_LEN || common.offset % 4 != 0 {
            return Err("bad common configuration capability");
        }
        if notify.length < 2 || notify.offset % 2 != 0 || isr.length < 1 {
            return Err("bad notify or ISR capability");
        }
        if device.offset % 4 != 0 {
            return Err("misaligned device configuration capability");
        }
        let map = |bars: &mut Bars, c: Cap| bars.map(c.bar, c.offset.into(), c.length.into());
        let common_va = map(&mut bars, common)?;
        let notify_va = map(&mut bars, notify)?;
        let _isr_va = map(&mut bars, isr)?;
        let device_va = map(&mut bars, device)?;

        let msix_cap = f
            .capabilities(pci::CAP_MSIX)
            .next()
            .ok_or("no MSI-X capability")?;
        let msix_size = (f.read16(msix_cap + 2) & 0x7ff) + 1;
        let table = f.read32(msix_cap + 4);
        let msix_table = bars.map(
            (table & 7) as u8,
            u64::from(table & !7),
            16 * u64::from(msix_size),
        )?;

        let command = f.read16(pci::COMMAND);
        f.write16(
            pci::COMMAND,
            command | pci::COMMAND_MEMORY | pci::COMMAND_BUS_MASTER,
        );
        Ok(Transport {
            function,
            common: common_va,
            notify: notify_va,
            notify_len: notify.length.into(),
            notify_multiplier: multiplier,
            device_cfg: device_va,
            device_cfg_len: device.length,
            msix_cap,
            msix_table,
            msix_size,
        })
    }

    pub fn status(&self) -> u8 {
        r8(self.status_register())
    }

    /// The device_status register (kept by the driver to look at later).
    pub fn status_register(&self) -> u64 {
        self.common + DEVICE_STATUS
    }

    pub fn set_status(&self, status: u8) {
        w8(self.common + DEVICE_STATUS, status);
    }

    pub fn add_status(&self, bits: u8) {
        self.set_status(self.status() | bits);
    }

    /// Writes 0 and waits (about a second at most) for the status to read 0.
    pub fn reset(&self) -> Result<()> {
        self.set_status(0);
        let start = rdtsc();
        while self.status() != 0 {
            if rdtsc().wrapping_sub(start) > 1 << 30 {
                return Err("device status does not read 0 after reset");
            }
        }
        Ok(())
    }

    pub fn device_features(&self) -> u64 {
        w32(self.common + DEVICE_FEATURE_SELECT, 0);
        let low = r32(self.common + DEVICE_FEATURE);
        w32(self.common + DEVICE_FEATURE_SELECT, 1);
        let high = r32(self.common + DEVICE_FEATURE);
        (u64::from(high) << 32) | u64::from(low)
    }

    pub fn set_driver_features(&self, features: u64) {
        w32(self.common + DRIVER_FEATURE_SELECT, 0);
        w32(self.common + DRIVER_FEATURE, features as u32);
        w32(self.common + DRIVER_FEATURE_SELECT, 1);
        w32(self.common + DRIVER_FEATURE, (features >> 32) as u32);
    }

    pub fn num_queues(&self) -> u16 {
        r16(self.common + NUM_QUEUES)
    }

    /// Writes msix_config and returns what reads back.
    pub fn set_config_vector(&self, vector: u16) -> u16 {
        w16(self.common + MSIX_CONFIG, vector);
        r16(self.common + MSIX_CONFIG)
    }

    /// Sets up queue `index` in the 4 KiB at `memory` (setup_vq in Linux's
    /// virtio_pci_modern.c): its size (that of the device, at most `max`), the
    /// ring addresses, the notify address. The queue is not enabled yet.
    pub fn setup_queue(&self, index: u16, memory: u64, max: u16) -> Result<Queue> {
        if index >= self.num_queues() {
            return Err("device has too few queues");
        }
        w16(self.common + QUEUE_SELECT, index);
        let device_size = r16(self.common + QUEUE_SIZE);
        if device_size == 0 || r16(self.common + QUEUE_ENABLE) != 0 {
            return Err("queue unavailable (size 0 or already enabled)");
        }
        if !device_size.is_power_of_two() {
            return Err("queue size not a power of two");
        }
        let size = device_size.min(max);
        let q = Queue::new(index, size, memory);
        w16(self.common + QUEUE_SIZE, size);
        w64(self.common + QUEUE_DESC, q.desc);
        w64(self.common + QUEUE_DRIVER, q.avail);
        w64(self.common + QUEUE_DEVICE, q.used);
        let off = u64::from(r16(self.common + QUEUE_NOTIFY_OFF));
        let at = off * u64::from(self.notify_multiplier);
        if at + 2 > self.notify_len {
            return Err("queue notify address outside the notify structure");
        }
        Ok(Queue {
            notify: self.notify + at,
            ..q
        })
    }

    /// Writes queue `index`'s MSI-X vector and returns what reads back.
    pub fn set_queue_vector(&self, index: u16, vector: u16) -> u16 {
        w16(self.common + QUEUE_SELECT, index);
        w16(self.common + QUEUE_MSIX_VECTOR, vector);
        r16(self.common + QUEUE_MSIX_VECTOR)
    }

    /// Rewrites queue `index`'s ring addresses (`vq-abuse ring-outside`: the
    /// driver may do so until the queue is enabled).
    pub fn set_queue_rings(&self, index: u16, desc: u64, driver: u64, device: u64) {
        w16(self.common + QUEUE_SELECT, index);
        w64(self.common + QUEUE_DESC, desc);
        w64(self.common + QUEUE_DRIVER, driver);
        w64(self.common + QUEUE_DEVICE, device);
    }

    pub fn enable_queue(&self, index: u16) {
        w16(self.common + QUEUE_SELECT, index);
        w16(self.common + QUEUE_ENABLE, 1);
    }

    /// MSI-X on, as Linux's msix_capability_init: enable with the function
    /// masked, program `vectors` (entry i → CPU vector vectors[i], to APIC id
    /// `apic_id`, fixed, edge), INTx off, unmask. Entries not listed are masked.
    pub fn enable_msix(&self, apic_id: u8, vectors: &[u8]) {
        const ENABLE: u16 = 1 << 15;
        const MASK_ALL: u16 = 1 << 14;
        let f = self.function;
        let control = self.msix_cap + 2;
        f.write16(control, ENABLE | MASK_ALL);
        for i in 0..self.msix_size {
            let entry = self.msix_table + 16 * u64::from(i);
            match vectors.get(usize::from(i)) {
                Some(&vector) => {
                    w32(entry, 0xfee0_0000 | (u32::from(apic_id) << 12));
                    w32(entry + 4, 0);
                    w32(entry + 8, u32::from(vector));
                    w32(entry + 12, 0);
                }
                None => w32(entry + 12, 1),
            }
        }
        let command = f.read16(pci::COMMAND);
        f.write16(pci::COMMAND, command | pci::COMMAND_INTX_DISABLE);
        f.write16(control, ENABLE);
    }
}

// Descriptor flags.
pub const DESC_NEXT: u16 = 1;
pub const DESC_WRITE: u16 = 2;
/// used.flags: the device does not want notifications.
const USED_NO_NOTIFY: u16 = 1;

/// A split virtqueue in 4 KiB of driver memory: descriptors at 0, the available
/// ring at 2 KiB, the used ring at 2.5 KiB (room for 128 entries). One request
/// (a chain from descriptor 0) is in flight at a time, as in Linux's balloon.
#[derive(Clone, Copy)]
pub struct Queue {
    pub index: u16,
    size: u16,
    desc: u64,
    avail: u64,
    used: u64,
    notify: u64,
    next_avail: u16,
    last_used: u16,
    pub in_flight: bool,
    pub broken: bool,
}

pub const QUEUE_MEMORY: u64 = 4096;

impl Queue {
    pub const ABSENT: Queue = Queue {
        index: 0,
        size: 0,
        desc: 0,
        avail: 0,
        used: 0,
        notify: 0,
        next_avail: 0,
        last_used: 0,
        in_flight: false,
        broken: true,
    };

    fn new(index: u16, size: u16, memory: u64) -> Queue {
        // SAFETY: the queue's own 4 KiB of driver memory.
        unsafe { core::ptr::write_bytes(memory as *mut u64, 0, (QUEUE_MEMORY / 8) as usize) };
        Queue {
            index,
            size,
            desc: memory,
            avail: memory + 2048,
            used: memory + 2560,
            notify: 0,
            next_avail: 0,
            last_used: 0,
            in_flight: false,
            broken: false,
        }
    }

    pub fn usable(&self) -> bool {
        self.size != 0 && !self.broken
    }

    pub fn size(&self) -> u16 {
        self.size
    }

    /// Makes a chain of `n` buffers available, buffer i = `buf(i)` = (address,
    /// length, device-writable), without notifying. False if the queue cannot
    /// take it.
    pub fn post(&mut self, n: usize, buf: impl Fn(usize) -> (u64, u32, bool)) -> bool {
        if !self.usable() || self.in_flight || n == 0 || n > self.size.into() {
            return false;
        }
        for i in 0..n {
            let (addr, len, writable) = buf(i);
            let d = self.desc + 16 * i as u64;
            let last = i + 1 == n;
            let flags = if last { 0 } else { DESC_NEXT } | if writable { DESC_WRITE } else { 0 };
            // SAFETY: descriptor i of this queue's table (i < size).
            unsafe {
                (d as *mut u64).write_volatile(addr);
                ((d + 8) as *mut u32).write_volatile(len);
                ((d + 12) as *mut u16).write_volatile(flags);
                ((d + 14) as *mut u16).write_volatile(if last { 0 } else { i as u16 + 1 });
            }
        }
        let slot = self.avail + 4 + 2 * u64::from(self.next_avail % self.size);
        self.next_avail = self.next_avail.wrapping_add(1);
        // SAFETY: the ring entry, then (ordered after it and the descriptors:
        // x86 keeps stores in order, the fence keeps the compiler from moving
        // them) the index the device reads.
        unsafe {
            (slot as *mut u16).write_volatile(0);
            compiler_fence(Ordering::Release);
            ((self.avail + 2) as *mut u16).write_volatile(self.next_avail);
        }
        self.in_flight = true;
        true
    }

    /// Notifies the device (unless it set VRING_USED_F_NO_NOTIFY).
    pub fn kick(&self) {
        if !self.usable() {
            return;
        }
        mb(); // the index store before the flags load
              // SAFETY: used.flags of this queue.
        let flags = unsafe { (self.used as *const u16).read_volatile() };
        if flags & USED_NO_NOTIFY == 0 {
            w16(self.notify, self.index);
        }
    }

    /// Takes the device's used entries: Ok(true) when the request in flight
    /// came back, Ok(false) if nothing new. A used index that moves by more than
    /// was in flight, or an id that is not the head we posted, breaks the queue.
    pub fn reap(&mut self) -> Result<bool> {
        if !self.usable() {
            return Ok(false);
        }
        // SAFETY: used.idx of this queue.
        let used_idx = unsafe { ((self.used + 2) as *const u16).read_volatile() };
        let new = used_idx.wrapping_sub(self.last_used);
        if new == 0 {
            return Ok(false);
        }
        if new > 1 || !self.in_flight {
            self.broken = true;
            return Err("used index moved past the buffers in flight");
        }
        compiler_fence(Ordering::Acquire);
        let entry = self.used + 4 + 8 * u64::from(self.last_used % self.size);
        // SAFETY: the used ring entry (the length is not needed).
        let id = unsafe { (entry as *const u32).read_volatile() };
        self.last_used = used_idx;
        if id != 0 {
            self.broken = true;
            return Err("used id is not the head of the buffer in flight");
        }
        self.in_flight = false;
        Ok(true)
    }
}

/// Raw ring access for `vq-abuse` (src/balloon/abuse.rs): what a misbehaving
/// driver does. The caller keeps the queue's bookkeeping consistent with
/// `sync_used`/`set_in_flight` afterwards.
impl Queue {
    /// Descriptor `i` (masked to the table) = (addr, len, flags, next).
    pub fn write_desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let d = self.desc + 16 * u64::from(i % self.size.max(1));
        // SAFETY: a descriptor of this queue's table.
        unsafe {
            (d as *mut u64).write_volatile(addr);
            ((d + 8) as *mut u32).write_volatile(len);
            ((d + 12) as *mut u16).write_volatile(flags);
            ((d + 14) as *mut u16).write_volatile(next);
        }
    }

    /// Puts `head` (unchecked) in the next available slot and publishes it.
    pub fn push_head(&mut self, head: u16) {
        let slot = self.avail + 4 + 2 * u64::from(self.next_avail % self.size.max(1));
        self.next_avail = self.next_avail.wrapping_add(1);
        // SAFETY: the ring entry, then the index (as in `post`).
        unsafe {
            (slot as *mut u16).write_volatile(head);
            compiler_fence(Ordering::Release);
            ((self.avail + 2) as *mut u16).write_volatile(self.next_avail);
        }
    }

    /// Writes avail.idx = `idx` without ring entries (the driver's own index is
    /// kept: a reset follows).
    pub fn write_avail_idx(&self, idx: u16) {
        // SAFETY: avail.idx of this queue.
        unsafe { ((self.avail + 2) as *mut u16).write_volatile(idx) };
    }

    /// (descriptor table, available ring, used ring).
    pub fn rings(&self) -> (u64, u64, u64) {
        (self.desc, self.avail, self.used)
    }

    pub fn next_avail(&self) -> u16 {
        self.next_avail
    }

    pub fn used_idx(&self) -> u16 {
        // SAFETY: used.idx of this queue.
        unsafe { ((self.used + 2) as *const u16).read_volatile() }
    }

    /// The id of used ring entry `n` (position n mod size).
    pub fn used_id(&self, n: u16) -> u32 {
        let entry = self.used + 4 + 8 * u64::from(n % self.size.max(1));
        // SAFETY: a used ring entry of this queue.
        unsafe { (entry as *const u32).read_volatile() }
    }

    /// Takes every used entry as seen (after a raw request came back).
    pub fn sync_used(&mut self) {
        self.last_used = self.used_idx();
    }

    pub fn last_used(&self) -> u16 {
        self.last_used
    }

    pub fn set_in_flight(&mut self, in_flight: bool) {
        self.in_flight = in_flight;
    }

    /// Notifies whatever the device's flags say.
    pub fn notify_now(&self) {
        if self.notify == 0 {
            return;
        }
        mb();
        w16(self.notify, self.index);
    }
}

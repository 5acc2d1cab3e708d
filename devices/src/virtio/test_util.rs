//! Test helpers: a driver-side split virtqueue built by hand in guest memory, an MSI sink
//! that records messages, and a minimal virtio-pci driver that programs the transport the
//! way Linux's virtio_pci_modern does.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::pci::device::PciDevice;
use crate::pci::msi::MsiInterrupt;
use crate::virtio::pci::layout::*;
use crate::virtio::pci::VirtioPciDevice;
use crate::virtio::status;

pub const F_NEXT: u16 = 1;
pub const F_WRITE: u16 = 2;
pub const F_INDIRECT: u16 = 4;

pub type Mem = GuestMemoryMmap<()>;

pub fn guest_memory(size: usize) -> Mem {
    GuestMemoryMmap::from_ranges(&[(GuestAddress(0), size)]).unwrap()
}

/// Polls `cond` for up to 5 s.
pub fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

/// Records every MSI message.
#[derive(Default)]
pub struct MsiLog(pub Mutex<Vec<(u64, u32)>>);

impl MsiLog {
    pub fn count_data(&self, data: u32) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.1 == data)
            .count()
    }
}

impl MsiInterrupt for MsiLog {
    fn signal(&self, address: u64, data: u32) {
        self.0.lock().unwrap().push((address, data));
    }
}

/// The driver side of a split virtqueue.
pub struct TestRing {
    pub size: u16,
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    next_desc: u16,
    avail_idx: u16,
}

impl TestRing {
    /// Lays out the rings from `base` (4 KiB aligned).
    pub fn new(base: u64, size: u16) -> Self {
        let desc = base;
        let avail = desc + 16 * u64::from(size);
        let used = (avail + 6 + 2 * u64::from(size) + 0xfff) & !0xfff;
        TestRing {
            size,
            desc,
            avail,
            used,
            next_desc: 0,
            avail_idx: 0,
        }
    }

    pub fn write_desc(&self, mem: &Mem, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let at = self.desc + 16 * u64::from(i);
        mem.write_obj(addr, GuestAddress(at)).unwrap();
        mem.write_obj(len, GuestAddress(at + 8)).unwrap();
        mem.write_obj(flags, GuestAddress(at + 12)).unwrap();
        mem.write_obj(next, GuestAddress(at + 14)).unwrap();
    }

    /// Publishes `head` in the available ring.
    pub fn push_head(&mut self, mem: &Mem, head: u16) {
        let slot = self.avail + 4 + 2 * u64::from(self.avail_idx % self.size);
        mem.write_obj(head, GuestAddress(slot)).unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        mem.write_obj(self.avail_idx, GuestAddress(self.avail + 2))
            .unwrap();
    }

    pub fn set_avail_idx(&mut self, mem: &Mem, idx: u16) {
        self.avail_idx = idx;
        mem.write_obj(idx, GuestAddress(self.avail + 2)).unwrap();
    }

    /// Adds a chain of (address, length, device-writable) buffers and publishes it.
    pub fn add_chain(&mut self, mem: &Mem, bufs: &[(u64, u32, bool)]) -> u16 {
        let head = self.next_desc;
        for (k, &(addr, len, writable)) in bufs.iter().enumerate() {
            let i = (head + k as u16) % self.size;
            let last = k + 1 == bufs.len();
            let flags = if writable { F_WRITE } else { 0 } | if last { 0 } else { F_NEXT };
            self.write_desc(mem, i, addr, len, flags, (i + 1) % self.size);
        }
        self.next_desc = (head + bufs.len() as u16) % self.size;
        self.push_head(mem, head);
        head
    }

    pub fn used_idx(&self, mem: &Mem) -> u16 {
        mem.read_obj(GuestAddress(self.used + 2)).unwrap()
    }

    /// (id, len) of used element `i`.
    pub fn used_elem(&self, mem: &Mem, i: u16) -> (u32, u32) {
        let at = self.used + 4 + 8 * u64::from(i % self.size);
        (
            mem.read_obj(GuestAddress(at)).unwrap(),
            mem.read_obj(GuestAddress(at + 4)).unwrap(),
        )
    }
}

/// A virtio-pci driver speaking to the transport through config space and BAR0 accesses.
pub struct Driver<'a> {
    pub dev: &'a Mutex<VirtioPciDevice>,
}

impl<'a> Driver<'a> {
    pub fn new(dev: &'a Mutex<VirtioPciDevice>) -> Self {
        Driver { dev }
    }

    pub fn read(&self, offset: u64, len: usize) -> u64 {
        let mut b = [0u8; 8];
        self.dev.lock().unwrap().bar_read(0, offset, &mut b[..len]);
        u64::from_le_bytes(b)
    }

    pub fn write(&self, offset: u64, len: usize, value: u64) {
        let b = value.to_le_bytes();
        self.dev.lock().unwrap().bar_write(0, offset, &b[..len]);
    }

    pub fn cfg_read(&self, offset: usize, len: usize) -> u32 {
        let mut b = [0u8; 4];
        self.dev.lock().unwrap().config_read(offset, &mut b[..len]);
        u32::from_le_bytes(b)
    }

    pub fn cfg_write(&self, offset: usize, len: usize, value: u32) {
        let b = value.to_le_bytes();
        self.dev.lock().unwrap().config_write(offset, &b[..len]);
    }

    pub fn status(&self) -> u8 {
        self.read(COMMON_CFG_OFFSET + 0x14, 1) as u8
    }

    pub fn set_status(&self, s: u8) {
        self.write(COMMON_CFG_OFFSET + 0x14, 1, u64::from(s));
    }

    pub fn device_features(&self) -> u64 {
        self.write(0x00, 4, 0);
        let lo = self.read(0x04, 4);
        self.write(0x00, 4, 1);
        let hi = self.read(0x04, 4);
        hi << 32 | lo
    }

    pub fn write_driver_features(&self, f: u64) {
        self.write(0x08, 4, 0);
        self.write(0x0c, 4, f & 0xffff_ffff);
        self.write(0x08, 4, 1);
        self.write(0x0c, 4, f >> 32);
    }

    /// Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. Returns whether FEATURES_OK stuck.
    pub fn negotiate(&self, features: u64) -> bool {
        self.set_status(0);
        assert_eq!(self.status(), 0);
        self.set_status(status::ACKNOWLEDGE);
        self.set_status(status::ACKNOWLEDGE | status::DRIVER);
        self.write_driver_features(features);
        self.set_status(status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
        self.status() & status::FEATURES_OK != 0
    }

    /// Programs queue `q` with `ring` and `vector`, then enables it.
    pub fn setup_queue(&self, q: u16, ring: &TestRing, vector: u16) {
        self.write(0x16, 2, u64::from(q));
        self.write(0x18, 2, u64::from(ring.size));
        self.write(0x1a, 2, u64::from(vector));
        for (off, addr) in [(0x20, ring.desc), (0x28, ring.avail), (0x30, ring.used)] {
            self.write(off, 4, addr & 0xffff_ffff);
            self.write(off + 4, 4, addr >> 32);
        }
        self.write(0x1c, 2, 1);
    }

    pub fn driver_ok(&self) {
        let s = self.status();
        self.set_status(s | status::DRIVER_OK);
    }

    /// Enables MSI-X and programs vector `v` with data `0x40 + v`, unmasked.
    pub fn enable_msix(&self, msix_cap: usize, vectors: u16) {
        for v in 0..u64::from(vectors) {
            let e = MSIX_TABLE_OFFSET + 16 * v;
            self.write(e, 4, 0xfee0_0000);
            self.write(e + 4, 4, 0);
            self.write(e + 8, 4, 0x40 + v);
            self.write(e + 12, 4, 0);
        }
        // Memory decoding and bus mastering, as Linux's pci_enable_device + set_master.
        self.cfg_write(0x04, 2, 0x6);
        self.cfg_write(msix_cap + 2, 2, 0x8000);
    }

    /// Kicks queue `q` through the notify area.
    pub fn notify(&self, q: u16) {
        self.write(
            NOTIFY_OFFSET + u64::from(q) * u64::from(NOTIFY_OFF_MULTIPLIER),
            2,
            u64::from(q),
        );
    }

    /// Walks the capability list as Linux does; returns (offset, id, cfg_type or 0).
    pub fn capabilities(&self) -> Vec<(usize, u8, u8)> {
        let mut out = Vec::new();
        let mut pos = self.cfg_read(0x34, 1) as usize;
        let mut ttl = 48;
        while pos >= 0x40 && ttl > 0 {
            pos &= !3;
            let id = self.cfg_read(pos, 1) as u8;
            let cfg_type = if id == 0x09 {
                self.cfg_read(pos + 3, 1) as u8
            } else {
                0
            };
            out.push((pos, id, cfg_type));
            pos = self.cfg_read(pos + 1, 1) as usize;
            ttl -= 1;
        }
        out
    }

    pub fn msix_cap(&self) -> usize {
        self.capabilities()
            .into_iter()
            .find(|c| c.1 == 0x11)
            .map(|c| c.0)
            .unwrap()
    }
}

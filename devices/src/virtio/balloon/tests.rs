//! Balloon tests: real reclaim (mincore), the stats protocol, queue roles, reset and
//! re-activation through the transport, and hostile drivers against the queue code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use virtio_queue::{Queue, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend};

use super::queues::{self, DriverBug};
use super::*;
use crate::virtio::features::VIRTIO_F_VERSION_1;
use crate::virtio::pci::VirtioPciDevice;
use crate::virtio::status::*;
use crate::virtio::test_util::*;

const BAR0: u64 = 0xc000_0000;
const MIB: u64 = 1 << 20;

#[derive(Default)]
struct Actuals(Mutex<Vec<u32>>);
impl BalloonEvents for Actuals {
    fn actual_changed(&self, actual_pages: u32) {
        self.0.lock().unwrap().push(actual_pages);
    }
}

/// Pages of `[gpa, gpa + len)` resident in the host, by mincore.
fn resident_pages(mem: &Mem, gpa: u64, len: u64) -> usize {
    let host = mem.get_host_address(GuestAddress(gpa)).unwrap();
    let pages = (len / 4096) as usize;
    let mut vec = vec![0u8; pages];
    // SAFETY: the range is inside one live mapping of `mem`; mincore only reports on it.
    let ret = unsafe { libc::mincore(host.cast(), len as usize, vec.as_mut_ptr()) };
    assert_eq!(ret, 0);
    vec.iter().filter(|b| *b & 1 != 0).count()
}

fn fill(mem: &Mem, gpa: u64, len: u64, byte: u8) {
    mem.write_slice(&vec![byte; len as usize], GuestAddress(gpa))
        .unwrap();
}

/// Writes the PFNs of `[gpa, gpa + len)` as le32 at `buf`; returns the byte length.
fn write_pfns(mem: &Mem, buf: u64, gpa: u64, len: u64) -> u32 {
    let pfns: Vec<u8> = (gpa / 4096..(gpa + len) / 4096)
        .flat_map(|p| (p as u32).to_le_bytes())
        .collect();
    mem.write_slice(&pfns, GuestAddress(buf)).unwrap();
    pfns.len() as u32
}

struct Running {
    mem: Mem,
    msi: Arc<MsiLog>,
    dev: Mutex<VirtioPciDevice>,
    handle: BalloonHandle,
    actuals: Arc<Actuals>,
    rings: Vec<TestRing>,
}

const RING_BASES: [u64; 4] = [0x10000, 0x20000, 0x30000, 0x40000];

/// A balloon on the transport, driven to DRIVER_OK with `features` and every queue set up,
/// MSI-X vectors 1.. for the queues and 0 for config.
fn running(config: BalloonConfig, features: u64, mem_size: u64) -> Running {
    let mem = guest_memory(mem_size as usize);
    let msi = Arc::new(MsiLog::default());
    let actuals = Arc::new(Actuals::default());
    let balloon = Balloon::new(config, mem.clone(), actuals.clone()).unwrap();
    let handle = balloon.handle();
    let dev = Mutex::new(
        VirtioPciDevice::new(Box::new(balloon), mem.clone(), BAR0, msi.clone()).unwrap(),
    );
    let mut r = Running {
        mem,
        msi,
        dev,
        handle,
        actuals,
        rings: Vec::new(),
    };
    r.start(features);
    r
}

impl Running {
    fn driver(&self) -> Driver<'_> {
        Driver::new(&self.dev)
    }

    /// (Re)initialises the device as Linux does after a reset.
    fn start(&mut self, features: u64) {
        let d = Driver::new(&self.dev);
        assert!(d.negotiate(features));
        d.enable_msix(d.msix_cap(), d.read(0x12, 2) as u16 + 1);
        d.write(0x10, 2, 0);
        let n = d.read(0x12, 2) as u16;
        let mut rings = Vec::new();
        for q in 0..n {
            d.write(0x16, 2, u64::from(q));
            let size = d.read(0x18, 2) as u16;
            let ring = TestRing::new(RING_BASES[usize::from(q)], size);
            d.setup_queue(q, &ring, q + 1);
            rings.push(ring);
        }
        d.driver_ok();
        assert_eq!(d.status() & DRIVER_OK, DRIVER_OK);
        self.rings = rings;
    }

    fn kick_and_wait(&mut self, q: usize, want_used: u16) {
        self.driver().notify(q as u16);
        let (mem, ring) = (&self.mem, &self.rings[q]);
        assert!(
            wait_for(|| ring.used_idx(mem) == want_used),
            "queue {q}: used {} want {want_used}",
            ring.used_idx(mem)
        );
    }
}

const FEATURES: u64 = VIRTIO_F_VERSION_1 | VIRTIO_BALLOON_F_STATS_VQ;

#[test]
fn inflate_gives_memory_back_and_deflate_makes_it_usable() {
    let mut r = running(BalloonConfig::default(), FEATURES, 64 * MIB);
    let (start, len) = (16 * MIB, 8 * MIB);
    fill(&r.mem, start, len, 0xaa);
    assert_eq!(resident_pages(&r.mem, start, len), (len / 4096) as usize);
    // 2048 PFNs in 8 buffers of 256, as Linux's driver sends them.
    for k in 0..8 {
        let chunk = len / 8;
        let buf = 0x100000 + k * 0x1000;
        let n = write_pfns(&r.mem, buf, start + k * chunk, chunk);
        r.rings[0].add_chain(&r.mem, &[(buf, n, false)]);
    }
    r.kick_and_wait(0, 8);
    assert_eq!(resident_pages(&r.mem, start, len), 0);
    let mut back = vec![0xffu8; 4096];
    r.mem
        .read_slice(&mut back, GuestAddress(start + 4096))
        .unwrap();
    assert!(back.iter().all(|&b| b == 0));
    assert_eq!(r.rings[0].used_elem(&r.mem, 0), (0, 0));
    assert!(r.msi.count_data(0x41) >= 1, "inflate queue vector");
    // The guest reports its new size.
    r.driver().write(0x2004, 4, 2048);
    assert_eq!(*r.actuals.0.lock().unwrap(), vec![2048]);
    // Deflate: acknowledged; the pages are usable again.
    let n = write_pfns(&r.mem, 0x200000, start, len);
    let half = n / 2;
    r.rings[1].add_chain(&r.mem, &[(0x200000, 1024, false)]);
    r.rings[1].add_chain(&r.mem, &[(0x200000 + 1024, half - 1024, false)]);
    r.kick_and_wait(1, 2);
    fill(&r.mem, start, MIB, 0x55);
    let mut b = [0u8; 1];
    r.mem
        .read_slice(&mut b, GuestAddress(start + MIB - 1))
        .unwrap();
    assert_eq!(b[0], 0x55);
    // Pages outside the inflated range were not touched.
    fill(&r.mem, 40 * MIB, MIB, 0x11);
    assert_eq!(resident_pages(&r.mem, 40 * MIB, MIB), 256);
}

/// A queue over `mem` with its ring at `base`, as the transport would build it.
fn raw_queue(mem: &Mem, ring: &TestRing) -> Queue {
    let mut q = Queue::new(ring.size).unwrap();
    q.set_desc_table_address(Some(ring.desc as u32), Some(0));
    q.set_avail_ring_address(Some(ring.avail as u32), Some(0));
    q.set_used_ring_address(Some(ring.used as u32), Some(0));
    q.set_ready(true);
    assert!(q.is_valid(mem));
    q
}

struct CountingReclaimer(Mutex<Vec<(u64, u64)>>, MadviseReclaimer);
impl MemoryReclaimer for CountingReclaimer {
    fn discard(&self, gpa: u64, len: u64) -> Result<u64, ReclaimError> {
        self.0.lock().unwrap().push((gpa, len));
        self.1.discard(gpa, len)
    }
}

#[test]
fn hostile_inflate_buffers_are_skipped_not_fatal() {
    let mem = guest_memory(8 * MIB as usize);
    let mut ring = TestRing::new(0x1000, 16);
    let mut q = raw_queue(&mem, &ring);
    let reclaimer = CountingReclaimer(Mutex::new(Vec::new()), MadviseReclaimer::new(mem.clone()));
    let page = |pfn: u32| {
        let buf = 0x10000 + u64::from(pfn % 16) * 16;
        mem.write_obj(pfn, GuestAddress(buf)).unwrap();
        buf
    };
    fill(&mem, 0x400000, 0x10000, 0xaa);
    // Device-writable: skipped.
    ring.add_chain(&mem, &[(page(0x400), 4, true)]);
    // Length not a multiple of 4: skipped.
    ring.add_chain(&mem, &[(page(0x401), 6, false)]);
    // More than 256 PFNs: skipped.
    ring.add_chain(&mem, &[(0x20000, 257 * 4, false)]);
    // Buffer outside RAM: skipped.
    ring.add_chain(&mem, &[(0x1_0000_0000, 4, false)]);
    // Buffer straddling the end of RAM: skipped.
    ring.add_chain(&mem, &[(8 * MIB - 2, 4, false)]);
    // PFNs beyond RAM (and the largest PFN): ignored by the reclaimer, not an error.
    mem.write_obj([0x10_0000u32, u32::MAX], GuestAddress(0x30000))
        .unwrap();
    ring.add_chain(&mem, &[(0x30000, 8, false)]);
    // A valid one after all that still works.
    ring.add_chain(&mem, &[(page(0x402), 4, false)]);
    let p = queues::process_pfn_queue(&mut q, &mem, Some(&reclaimer)).unwrap();
    assert!(p.used && !p.more);
    assert_eq!(ring.used_idx(&mem), 7, "every buffer is returned");
    assert_eq!(
        *reclaimer.0.lock().unwrap(),
        vec![
            (0x1_0000_0000, 4096),
            (0xfff_ffff_f000, 4096),
            (0x402000, 4096)
        ]
    );
    assert_eq!(resident_pages(&mem, 0x400000, 0x3000), 2);
}

#[test]
fn descriptor_loops_and_indirect_tables_terminate() {
    let mem = guest_memory(8 * MIB as usize);
    let mut ring = TestRing::new(0x1000, 8);
    let mut q = raw_queue(&mem, &ring);
    mem.write_obj(0x500u32, GuestAddress(0x20000)).unwrap();
    // 0 -> 1 -> 0 -> ...: virtio-queue stops after a queue's worth of descriptors.
    ring.write_desc(&mem, 0, 0x20000, 4, F_NEXT, 1);
    ring.write_desc(&mem, 1, 0x20000, 4, F_NEXT, 0);
    ring.push_head(&mem, 0);
    // A next index beyond the table ends the chain.
    ring.write_desc(&mem, 2, 0x20000, 4, F_NEXT, 200);
    ring.push_head(&mem, 2);
    // An indirect table outside RAM, and one nested inside another: ignored.
    ring.write_desc(&mem, 3, 0x1_0000_0000, 64, F_INDIRECT, 0);
    ring.push_head(&mem, 3);
    ring.write_desc(&mem, 4, 0x30000, 32, F_INDIRECT, 0);
    mem.write_obj(0x30000u64, GuestAddress(0x30000)).unwrap();
    mem.write_obj(16u32, GuestAddress(0x30008)).unwrap();
    mem.write_obj(F_INDIRECT, GuestAddress(0x3000c)).unwrap();
    ring.push_head(&mem, 4);
    let reclaimer = CountingReclaimer(Mutex::new(Vec::new()), MadviseReclaimer::new(mem.clone()));
    queues::process_pfn_queue(&mut q, &mem, Some(&reclaimer)).unwrap();
    assert_eq!(ring.used_idx(&mem), 4);
    // The looping chain's PFNs were de-duplicated into one range.
    assert_eq!(reclaimer.0.lock().unwrap()[0], (0x500000, 4096));
}

#[test]
fn ring_level_driver_bugs_are_reported() {
    let mem = guest_memory(MIB as usize);
    // A head index beyond the queue.
    let mut ring = TestRing::new(0x1000, 8);
    let mut q = raw_queue(&mem, &ring);
    ring.push_head(&mem, 9);
    assert!(matches!(
        queues::process_pfn_queue(&mut q, &mem, None),
        Err(DriverBug::HeadOutOfRange { head: 9, size: 8 })
    ));
    // The available index jumping more than a queue ahead.
    let mut ring = TestRing::new(0x1000, 8);
    let mut q = raw_queue(&mem, &ring);
    ring.set_avail_idx(&mem, 100);
    assert!(matches!(
        queues::process_pfn_queue(&mut q, &mem, None),
        Err(DriverBug::AvailRing(_))
    ));
    assert!(matches!(
        queues::pop_stats(&mut q, &mem),
        Err(DriverBug::AvailRing(_))
    ));
}

#[test]
fn a_driver_that_keeps_posting_cannot_monopolise_a_pass() {
    let mem = guest_memory(MIB as usize);
    let mut ring = TestRing::new(0x1000, 4);
    let mut q = raw_queue(&mem, &ring);
    for _ in 0..4 {
        ring.add_chain(&mem, &[(0x20000, 4, false)]);
    }
    let p = queues::process_pfn_queue(&mut q, &mem, None).unwrap();
    assert!(p.more, "a full pass asks to be scheduled again");
    ring.add_chain(&mem, &[(0x20000, 4, false)]);
    let p = queues::process_pfn_queue(&mut q, &mem, None).unwrap();
    assert!(p.used && !p.more);
}

fn stats_record(tag: u16, val: u64) -> Vec<u8> {
    let mut r = tag.to_le_bytes().to_vec();
    r.extend_from_slice(&val.to_le_bytes());
    r
}

#[test]
fn stats_hold_one_buffer_protocol() {
    let config = BalloonConfig {
        stats_polling_interval: 1,
        ..Default::default()
    };
    let mut r = running(config, FEATURES, 16 * MIB);
    assert_eq!(r.handle.stats(), BalloonStats::default());
    let buf = 0x80000;
    let mut bytes = stats_record(4, 1000);
    bytes.extend(stats_record(5, 2000));
    bytes.extend(stats_record(42, 7));
    r.mem.write_slice(&bytes, GuestAddress(buf)).unwrap();
    // The driver primes the queue at probe: the device keeps the buffer.
    r.rings[2].add_chain(&r.mem, &[(buf, bytes.len() as u32, false)]);
    r.driver().notify(2);
    assert!(wait_for(|| r.handle.stats().last_update != 0));
    let s = r.handle.stats();
    assert_eq!(s.values[4], Some(1000));
    assert_eq!(s.values[5], Some(2000));
    assert_eq!(s.qemu_value(0), u64::MAX);
    assert_eq!(r.rings[2].used_idx(&r.mem), 0, "held, not returned");
    // A period later it goes back to the guest with an interrupt.
    assert!(wait_for(|| r.rings[2].used_idx(&r.mem) == 1));
    assert!(r.msi.count_data(0x43) >= 1);
    // The guest refills it (with fewer tags and a short tail): values are replaced as QEMU
    // does, the partial record ignored.
    let mut bytes = stats_record(4, 3000);
    bytes.extend([1, 2, 3]);
    r.mem.write_slice(&bytes, GuestAddress(buf)).unwrap();
    let head = r.rings[2].add_chain(&r.mem, &[(buf, bytes.len() as u32, false)]);
    r.driver().notify(2);
    assert!(wait_for(|| r.handle.stats().values[4] == Some(3000)));
    assert_eq!(r.handle.stats().values[5], None);
    // A second buffer while one is held: the old one is returned at once.
    let used = r.rings[2].used_idx(&r.mem);
    r.rings[2].add_chain(&r.mem, &[(buf, 10, false)]);
    r.driver().notify(2);
    assert!(wait_for(|| r.rings[2].used_idx(&r.mem) == used + 1));
    assert_eq!(r.rings[2].used_elem(&r.mem, used).0, u32::from(head));
    // Polling off: the held buffer stays.
    r.handle.set_polling_interval(0);
    assert_eq!(r.handle.polling_interval(), 0);
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(r.rings[2].used_idx(&r.mem), used + 1);
    // Back on: polls at once.
    r.handle.set_polling_interval(5);
    assert!(wait_for(|| r.rings[2].used_idx(&r.mem) == used + 2));
}

#[test]
fn hostile_stats_buffers() {
    let mem = guest_memory(MIB as usize);
    let mut ring = TestRing::new(0x1000, 8);
    let mut q = raw_queue(&mem, &ring);
    mem.write_slice(&stats_record(4, 9), GuestAddress(0x20000))
        .unwrap();
    // Outside RAM, device-writable, huge, mixed: no panic; only readable bytes in RAM count.
    ring.add_chain(&mem, &[(0x1_0000_0000, 10, false)]);
    ring.add_chain(&mem, &[(0x20000, 10, true)]);
    ring.add_chain(&mem, &[(0x20000, u32::MAX, false)]);
    ring.add_chain(&mem, &[(0x20000, 10, true), (0x20000, 10, false)]);
    let mut got = Vec::new();
    while let Some(b) = queues::pop_stats(&mut q, &mem).unwrap() {
        got.push(b.values[4]);
        queues::return_buffer(&mut q, &mem, b.head).unwrap();
    }
    // The huge one is read only up to the bound (256 records), which is inside RAM here.
    assert_eq!(got, vec![None, None, Some(9), Some(9)]);
    assert_eq!(ring.used_idx(&mem), 4);
}

#[test]
fn queue_roles_follow_negotiated_features() {
    // Reporting offered, stats not acked: reporting is queue 2, as Linux numbers it.
    let config = BalloonConfig {
        free_page_reporting: true,
        ..Default::default()
    };
    let mut r = running(
        config,
        VIRTIO_F_VERSION_1 | VIRTIO_BALLOON_F_REPORTING,
        32 * MIB,
    );
    assert_eq!(r.driver().read(0x12, 2), 4);
    fill(&r.mem, 8 * MIB, 2 * MIB, 0xcc);
    // A reported free range (device-writable), unaligned edges trimmed to whole pages.
    r.rings[2].add_chain(&r.mem, &[(8 * MIB - 100, (2 * MIB + 200) as u32, true)]);
    r.kick_and_wait(2, 1);
    assert_eq!(resident_pages(&r.mem, 8 * MIB, 2 * MIB), 0);
    assert_eq!(
        Balloon::roles(VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_REPORTING).len(),
        4
    );
    assert_eq!(
        Balloon::roles(0),
        vec![worker::Role::Inflate, worker::Role::Deflate]
    );
}

#[test]
fn reset_stops_the_worker_and_reactivation_works() {
    let mut r = running(BalloonConfig::default(), FEATURES, 16 * MIB);
    fill(&r.mem, 4 * MIB, MIB, 0xaa);
    r.driver().set_status(0);
    assert_eq!(r.driver().status(), 0);
    // Old rings are dead: a buffer posted there is never processed.
    let n = write_pfns(&r.mem, 0x100000, 4 * MIB, MIB);
    r.rings[0].add_chain(&r.mem, &[(0x100000, n, false)]);
    r.driver().notify(0);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(r.rings[0].used_idx(&r.mem), 0);
    // Host-side state survives the reset.
    r.handle.set_target_pages(77);
    // A fresh driver (new rings, zeroed) brings it back.
    for base in RING_BASES {
        fill(&r.mem, base, 0x10000, 0);
    }
    r.start(FEATURES);
    assert_eq!(r.driver().read(0x2000, 4), 77);
    r.rings[0].add_chain(&r.mem, &[(0x100000, n, false)]);
    r.kick_and_wait(0, 1);
    assert_eq!(resident_pages(&r.mem, 4 * MIB, MIB), 0);
    // Setting DRIVER_OK again while running does not start a second worker.
    r.driver().driver_ok();
    r.rings[0].add_chain(&r.mem, &[(0x100000, 4, false)]);
    r.kick_and_wait(0, 2);
    // Machine reset through the PCI function, then drop: the worker is joined.
    let moves = crate::pci::PciDevice::reset(&mut *r.dev.lock().unwrap());
    assert!(moves.is_empty());
    assert_eq!(r.driver().status(), 0);
}

#[test]
fn driver_bug_on_a_running_device_sets_needs_reset() {
    let mut r = running(BalloonConfig::default(), FEATURES, 16 * MIB);
    r.rings[0].push_head(&r.mem, 1000);
    r.driver().notify(0);
    assert!(wait_for(|| r.driver().status() & DEVICE_NEEDS_RESET != 0));
    assert!(wait_for(|| r.msi.count_data(0x40) == 1), "config interrupt");
    // The device stays quiet afterwards, and a reset recovers it.
    r.rings[1].add_chain(&r.mem, &[(0x100000, 4, false)]);
    r.driver().notify(1);
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(r.rings[1].used_idx(&r.mem), 0);
    for base in RING_BASES {
        fill(&r.mem, base, 0x10000, 0);
    }
    r.start(FEATURES);
    assert_eq!(r.driver().status() & DEVICE_NEEDS_RESET, 0);
}

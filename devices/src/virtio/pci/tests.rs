//! Transport tests: IDs and capabilities as Linux's virtio_pci_modern probes them, feature
//! negotiation, the status machine, the queue setup window, MSI-X and the PCI_CFG window.

use std::sync::{Arc, Mutex};

use vm_memory::Bytes;

use super::layout::*;
use super::*;
use crate::pci::device::PciDevice;
use crate::virtio::balloon::{Balloon, BalloonConfig, BalloonEvents, BalloonHandle};
use crate::virtio::features::VIRTIO_F_VERSION_1;
use crate::virtio::status::*;
use crate::virtio::test_util::*;

const BAR0: u64 = 0xc000_0000;
const STATS: u64 = 1 << 1;

#[derive(Default)]
struct Actuals(Mutex<Vec<u32>>);
impl BalloonEvents for Actuals {
    fn actual_changed(&self, actual_pages: u32) {
        self.0.lock().unwrap().push(actual_pages);
    }
}

struct Env {
    mem: Mem,
    msi: Arc<MsiLog>,
    dev: Mutex<VirtioPciDevice>,
    handle: BalloonHandle,
    actuals: Arc<Actuals>,
}

fn env_with(config: BalloonConfig) -> Env {
    let mem = guest_memory(16 << 20);
    let msi = Arc::new(MsiLog::default());
    let actuals = Arc::new(Actuals::default());
    let balloon = Balloon::new(config, mem.clone(), actuals.clone()).unwrap();
    let handle = balloon.handle();
    let dev = VirtioPciDevice::new(Box::new(balloon), mem.clone(), BAR0, msi.clone()).unwrap();
    Env {
        mem,
        msi,
        dev: Mutex::new(dev),
        handle,
        actuals,
    }
}

fn env() -> Env {
    env_with(BalloonConfig::default())
}

#[test]
fn ids_class_bar_and_capabilities() {
    let e = env();
    let d = Driver::new(&e.dev);
    assert_eq!(d.cfg_read(0x00, 4), 0x1045_1af4);
    // Revision 1, class 0x00ff00 as QEMU's virtio-balloon-pci (disable-legacy=on).
    assert_eq!(d.cfg_read(0x08, 4), 0x00ff_0001);
    assert_eq!(d.cfg_read(0x2c, 4), 0x1100_1af4);
    assert_eq!(d.cfg_read(0x3d, 1), 0, "no INTx");
    assert_eq!(d.cfg_read(0x0e, 1), 0);
    // BAR0: 32-bit, non-prefetchable, 32 KiB.
    assert_eq!(d.cfg_read(0x10, 4), BAR0 as u32);
    d.cfg_write(0x10, 4, 0xffff_ffff);
    assert_eq!(d.cfg_read(0x10, 4), !(BAR0_SIZE as u32 - 1));
    d.cfg_write(0x10, 4, BAR0 as u32);
    for bar in 1..6 {
        d.cfg_write(0x10 + 4 * bar, 4, 0xffff_ffff);
        assert_eq!(d.cfg_read(0x10 + 4 * bar, 4), 0, "BAR{bar} absent");
    }
    let caps = d.capabilities();
    let types: Vec<u8> = caps.iter().filter(|c| c.1 == 9).map(|c| c.2).collect();
    assert_eq!(types, vec![1, 2, 3, 4, 5]);
    assert!(caps.iter().all(|c| c.0 + 20 <= 256));
    // Every vendor capability points into BAR0 (vp_modern_map_capability's checks).
    for &(pos, id, cfg_type) in &caps {
        if id != 9 || cfg_type == 5 {
            continue;
        }
        assert_eq!(d.cfg_read(pos + 4, 1), 0, "bar");
        let off = u64::from(d.cfg_read(pos + 8, 4));
        let len = u64::from(d.cfg_read(pos + 12, 4));
        assert!(len > 0 && off + len <= BAR0_SIZE);
        if cfg_type == 2 {
            assert_eq!(d.cfg_read(pos + 2, 1), 20);
            assert_eq!(d.cfg_read(pos + 16, 4), NOTIFY_OFF_MULTIPLIER);
            assert_eq!(len, 3 * 4);
        }
    }
    // MSI-X: 3 queues + config = 4 vectors; table and PBA in BAR0.
    let m = d.msix_cap();
    assert_eq!(d.cfg_read(m + 2, 2), 3);
    assert_eq!(d.cfg_read(m + 4, 4), MSIX_TABLE_OFFSET as u32);
    assert_eq!(d.cfg_read(m + 8, 4), MSIX_PBA_OFFSET as u32);
}

#[test]
fn feature_negotiation() {
    let e = env();
    let d = Driver::new(&e.dev);
    let offered = d.device_features();
    assert_ne!(offered & VIRTIO_F_VERSION_1, 0);
    assert_ne!(offered & STATS, 0);
    assert_eq!(
        offered & (1 << 2 | 1 << 4 | 1 << 5 | 1 << 3),
        0,
        "QEMU defaults: off"
    );
    // Legacy (no VERSION_1) and unoffered bits are refused: FEATURES_OK does not stick.
    assert!(!d.negotiate(STATS));
    assert!(!d.negotiate(VIRTIO_F_VERSION_1 | 1 << 5));
    assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
    assert_eq!(
        e.dev.lock().unwrap().driver_features(),
        VIRTIO_F_VERSION_1 | STATS
    );
    // Features are frozen after FEATURES_OK.
    d.write_driver_features(VIRTIO_F_VERSION_1);
    assert_eq!(
        e.dev.lock().unwrap().driver_features(),
        VIRTIO_F_VERSION_1 | STATS
    );
    // Unknown selects read 0.
    d.write(0x00, 4, 7);
    assert_eq!(d.read(0x04, 4), 0);
    // Optional features appear when configured.
    let e2 = env_with(BalloonConfig {
        deflate_on_oom: true,
        free_page_reporting: true,
        stats_polling_interval: 0,
    });
    let d2 = Driver::new(&e2.dev);
    assert_eq!(d2.device_features() & (1 << 2 | 1 << 5), 1 << 2 | 1 << 5);
    assert_eq!(d2.read(0x12, 2), 4, "reporting adds a queue");
}

#[test]
fn status_machine_and_synchronous_reset() {
    let e = env();
    let d = Driver::new(&e.dev);
    // DRIVER before ACKNOWLEDGE, DRIVER_OK before FEATURES_OK: those bits do not stick.
    d.set_status(DRIVER);
    assert_eq!(d.status(), 0);
    d.set_status(ACKNOWLEDGE | DRIVER | DRIVER_OK);
    assert_eq!(d.status(), ACKNOWLEDGE | DRIVER);
    // Clearing a bit other than by reset is ignored.
    d.set_status(ACKNOWLEDGE);
    assert_eq!(d.status(), ACKNOWLEDGE | DRIVER);
    assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
    d.write(0x10, 2, 0);
    let ring = TestRing::new(0x10000, 128);
    d.setup_queue(0, &ring, 1);
    d.setup_queue(1, &TestRing::new(0x20000, 128), 2);
    d.driver_ok();
    assert_eq!(d.status(), ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    // Reset: status reads 0 at once and everything the driver programmed is gone.
    d.set_status(0);
    assert_eq!(d.status(), 0);
    d.write(0x16, 2, 0);
    assert_eq!(d.read(0x1c, 2), 0, "queue_enable");
    assert_eq!(d.read(0x20, 4), 0, "queue_desc");
    assert_eq!(d.read(0x18, 2), 128, "queue_size back to max");
    assert_eq!(d.read(0x1a, 2), u64::from(NO_VECTOR));
    assert_eq!(d.read(0x10, 2), u64::from(NO_VECTOR));
    assert_eq!(e.dev.lock().unwrap().driver_features(), 0);
    // FAILED is accepted from any state.
    d.set_status(ACKNOWLEDGE);
    d.set_status(ACKNOWLEDGE | FAILED);
    assert_eq!(d.status(), ACKNOWLEDGE | FAILED);
}

#[test]
fn queue_setup_only_between_features_ok_and_driver_ok() {
    let e = env();
    let d = Driver::new(&e.dev);
    d.set_status(ACKNOWLEDGE | DRIVER);
    d.write(0x16, 2, 0);
    d.write(0x18, 2, 64);
    d.write(0x20, 4, 0x1000);
    d.write(0x1a, 2, 1);
    assert_eq!(d.read(0x18, 2), 128);
    assert_eq!(d.read(0x20, 4), 0);
    assert_eq!(d.read(0x1a, 2), u64::from(NO_VECTOR));
    assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
    assert_eq!(d.read(0x12, 2), 3);
    assert_eq!(d.read(0x1e, 2), 0);
    d.write(0x16, 2, 2);
    assert_eq!(d.read(0x1e, 2), 2, "queue_notify_off is the index");
    // Sizes: not a power of two, too big, zero: ignored.
    for bad in [100u64, 256, 0] {
        d.write(0x18, 2, bad);
        assert_eq!(d.read(0x18, 2), 128);
    }
    d.write(0x18, 2, 64);
    assert_eq!(d.read(0x18, 2), 64);
    // Vectors beyond the table read back as NO_VECTOR (Linux then falls back).
    d.write(0x1a, 2, 4);
    assert_eq!(d.read(0x1a, 2), u64::from(NO_VECTOR));
    d.write(0x1a, 2, 3);
    assert_eq!(d.read(0x1a, 2), 3);
    // 64-bit address halves and a 64-bit access.
    d.write(0x20, 4, 0x5000);
    d.write(0x24, 4, 0x1);
    assert_eq!(d.read(0x20, 8), 0x1_0000_5000);
    // A queue_select past the end: size 0, writes dropped.
    d.write(0x16, 2, 9);
    assert_eq!(d.read(0x18, 2), 0);
    d.write(0x1c, 2, 1);
    assert_eq!(d.read(0x1c, 2), 0);
    // After DRIVER_OK nothing changes any more.
    d.write(0x16, 2, 0);
    d.setup_queue(0, &TestRing::new(0x10000, 128), 1);
    d.setup_queue(1, &TestRing::new(0x20000, 128), 2);
    d.driver_ok();
    d.write(0x16, 2, 0);
    d.write(0x18, 2, 16);
    d.write(0x1a, 2, 0);
    assert_eq!(d.read(0x18, 2), 128);
    assert_eq!(d.read(0x1a, 2), 1);
}

#[test]
fn bad_rings_make_the_device_need_a_reset() {
    let cases: [(u64, u64, u64); 4] = [
        (0x1_0000_0000, 0x2000, 0x3000), // descriptors outside RAM
        (0x1000, 0x2000, 0xfff_f000),    // used ring past the end of RAM
        (0x1008, 0x2000, 0x3000),        // misaligned descriptor table
        (0x1000, 0, 0x3000),             // driver ring at 0
    ];
    for (desc, avail, used) in cases {
        let e = env();
        let d = Driver::new(&e.dev);
        assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
        d.write(0x16, 2, 0);
        for (off, addr) in [(0x20, desc), (0x28, avail), (0x30, used)] {
            d.write(off, 4, addr & 0xffff_ffff);
            d.write(off + 4, 4, addr >> 32);
        }
        d.write(0x1c, 2, 1);
        assert_eq!(d.read(0x1c, 2), 0, "{desc:#x} {avail:#x} {used:#x}");
        assert_ne!(d.status() & DEVICE_NEEDS_RESET, 0);
        // No config interrupt before DRIVER_OK (2.1.2).
        assert!(e.msi.0.lock().unwrap().is_empty());
        // DRIVER_OK does not start a device that needs a reset.
        d.driver_ok();
        assert_eq!(d.status() & DRIVER_OK, 0);
        // Further queue setup is refused until a reset; the reset clears the state.
        d.write(0x18, 2, 64);
        assert_eq!(d.read(0x18, 2), 128);
        d.set_status(0);
        assert_eq!(d.status(), 0);
    }
}

#[test]
fn activation_without_required_queues_needs_reset() {
    let e = env();
    let d = Driver::new(&e.dev);
    assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
    d.write(0x10, 2, 0);
    d.setup_queue(1, &TestRing::new(0x20000, 128), 2);
    d.enable_msix(d.msix_cap(), 4);
    d.driver_ok();
    assert_ne!(d.status() & DEVICE_NEEDS_RESET, 0);
    assert_eq!(
        e.msi.count_data(0x40),
        1,
        "config interrupt after DRIVER_OK"
    );
    // The driver can start over.
    assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
    assert_eq!(d.status() & DEVICE_NEEDS_RESET, 0);
}

#[test]
fn msix_config_interrupts_masking_and_pba() {
    let e = env();
    let d = Driver::new(&e.dev);
    let m = d.msix_cap();
    assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
    d.write(0x10, 2, 0);
    d.setup_queue(0, &TestRing::new(0x10000, 128), 1);
    d.setup_queue(1, &TestRing::new(0x20000, 128), 2);
    d.enable_msix(m, 4);
    // Before DRIVER_OK a new target sends nothing.
    e.handle.set_target_pages(10);
    assert!(e.msi.0.lock().unwrap().is_empty());
    d.driver_ok();
    let generation = d.read(0x15, 1);
    e.handle.set_target_pages(20);
    assert_eq!(*e.msi.0.lock().unwrap(), vec![(0xfee0_0000, 0x40)]);
    assert_eq!(d.read(0x15, 1), generation + 1, "config_generation");
    assert_eq!(d.read(DEVICE_CFG_OFFSET, 4), 20);
    // ISR: config bit, cleared by reading.
    assert_eq!(d.read(ISR_OFFSET, 1), 2);
    assert_eq!(d.read(ISR_OFFSET, 1), 0);
    // Masked entry: pending bit instead of a message; unmasking delivers it.
    d.write(MSIX_TABLE_OFFSET + 12, 4, 1);
    e.handle.set_target_pages(30);
    assert_eq!(e.msi.0.lock().unwrap().len(), 1);
    assert_eq!(d.read(MSIX_PBA_OFFSET, 8), 1);
    d.write(MSIX_TABLE_OFFSET + 12, 4, 0);
    assert_eq!(e.msi.0.lock().unwrap().len(), 2);
    assert_eq!(d.read(MSIX_PBA_OFFSET, 8), 0);
    // Function mask in Message Control works the same way.
    d.cfg_write(m + 2, 2, 0xc000);
    assert_eq!(d.cfg_read(m + 2, 2), 0xc003);
    e.handle.set_target_pages(40);
    assert_eq!(e.msi.0.lock().unwrap().len(), 2);
    d.cfg_write(m + 2, 2, 0x8000);
    assert_eq!(e.msi.0.lock().unwrap().len(), 3);
    // The guest writes `actual`; the VMM hears about changes only.
    d.write(DEVICE_CFG_OFFSET + 4, 4, 40);
    d.write(DEVICE_CFG_OFFSET + 4, 4, 40);
    assert_eq!(*e.actuals.0.lock().unwrap(), vec![40]);
    assert_eq!(e.handle.actual_pages(), 40);
    // num_pages is read-only to the guest; past the config space reads all-ones.
    d.write(DEVICE_CFG_OFFSET, 4, 1);
    assert_eq!(d.read(DEVICE_CFG_OFFSET, 4), 40);
    assert_eq!(d.read(DEVICE_CFG_OFFSET + 8, 4), 0xffff_ffff);
}

#[test]
fn pci_cfg_capability_reaches_bar0() {
    let e = env();
    let d = Driver::new(&e.dev);
    let cap = d.capabilities().into_iter().find(|c| c.2 == 5).unwrap().0;
    // Read num_queues (2 bytes at 0x12) through the window.
    d.cfg_write(cap + 4, 1, 0);
    d.cfg_write(cap + 8, 4, 0x12);
    d.cfg_write(cap + 12, 4, 2);
    assert_eq!(d.cfg_read(cap + 16, 4) & 0xffff, 3);
    // Write device_status through it.
    d.cfg_write(cap + 8, 4, 0x14);
    d.cfg_write(cap + 12, 4, 1);
    d.cfg_write(cap + 16, 4, u32::from(ACKNOWLEDGE));
    assert_eq!(d.status(), ACKNOWLEDGE);
    // Bad windows (other BAR, bad length, past the end) do nothing.
    for (bar, off, len) in [
        (1u32, 0x14u32, 1u32),
        (0, 0x14, 3),
        (0, BAR0_SIZE as u32, 4),
        (0, 0x13, 2),
    ] {
        d.cfg_write(cap + 4, 1, bar);
        d.cfg_write(cap + 8, 4, off);
        d.cfg_write(cap + 12, 4, len);
        d.cfg_write(cap + 16, 4, 0);
        assert_eq!(d.cfg_read(cap + 16, 4), 0);
    }
    assert_eq!(d.status(), ACKNOWLEDGE);
}

#[test]
fn notifications_before_driver_ok_are_not_processed() {
    let e = env();
    let d = Driver::new(&e.dev);
    assert!(d.negotiate(VIRTIO_F_VERSION_1 | STATS));
    let mut inflate = TestRing::new(0x10000, 128);
    d.setup_queue(0, &inflate, 1);
    d.setup_queue(1, &TestRing::new(0x20000, 128), 2);
    e.mem
        .write_obj(0x300u32, vm_memory::GuestAddress(0x30000))
        .unwrap();
    inflate.add_chain(&e.mem, &[(0x30000, 4, false)]);
    d.notify(0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(inflate.used_idx(&e.mem), 0);
    // Once running, the device finds the buffer without another kick.
    d.driver_ok();
    assert!(wait_for(|| inflate.used_idx(&e.mem) == 1));
    // Notify addresses follow BAR0 for ioeventfds.
    let dev = e.dev.lock().unwrap();
    assert_eq!(
        dev.notify_addresses(),
        vec![(BAR0 + 0x3000, 0), (BAR0 + 0x3004, 1), (BAR0 + 0x3008, 2)]
    );
    assert!(dev.queue_event(2).is_some() && dev.queue_event(3).is_none());
}

#[test]
fn hostile_bar_and_config_accesses_do_not_panic() {
    let e = env();
    let mut dev = e.dev.lock().unwrap();
    let mut buf = [0u8; 8];
    for off in (0..BAR0_SIZE + 16).step_by(3) {
        for len in [1usize, 2, 3, 4, 8] {
            dev.bar_read(0, off, &mut buf[..len]);
            dev.bar_write(0, off, &buf[..len]);
            crate::bus::BusDevice::read(&mut *dev, off, &mut buf[..len]);
            crate::bus::BusDevice::write(&mut *dev, u64::MAX - 1, &buf[..len]);
        }
    }
    for off in 0..256 {
        dev.config_read(off, &mut buf[..1]);
        dev.config_write(off, &[0xff]);
    }
}

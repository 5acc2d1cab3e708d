//! virtio-balloon benchmark: the per-notification cost and the reclaim throughput of the real
//! device (`Balloon` behind `VirtioPciDevice`), beside this host's raw exit costs measured in
//! the same run, printed as ratios with the targets.
//!
//! - raw exits: a minimal KVM guest (64-bit, CPL0) looping on `out dx, al` to an unclaimed port
//!   (the VMM side returns at once); a burst of 2-byte MMIO writes to an address with an
//!   ioeventfd (handled in the kernel: the guest's notify path); an MMIO write exit to user space;
//! - notify → MSI, device only: the device activated as a driver would (features, queues,
//!   MSI-X, DRIVER_OK); one inflate buffer of a few resident PFNs posted, its queue eventfd
//!   written (what the ioeventfd does), time until the device's MSI reaches our `MsiInterrupt`;
//!   beside a null device (a thread that waits on an eventfd with epoll and sends the MSI), the
//!   floor of any ioeventfd-to-thread design;
//! - notify → MSI, end to end: a KVM guest writes the notify address (ioeventfd registered as the
//!   VMM does), halts, takes the MSI (KVM_SIGNAL_MSI, in-kernel LAPIC), and its handler exits on a
//!   port; one KVM_RUN per notification, timed; beside the same guest with the null device;
//! - reclaim: 1 GiB of guest RAM (in a KVM memory slot, as in the VMM), every page touched,
//!   inflate buffers for all of it posted at once (256 PFNs per descriptor as Linux fills them,
//!   8 per indirect chain, 128 chains), one notify, time until the MSI; the same for 256 MiB in
//!   random order (every page its own range), also with another thread of the process running
//!   (as a vCPU in guest mode is, so every TLB flush must reach it); and as Linux's driver does it
//!   (`tell_host`: one 256-PFN buffer, notify, wait until used, next). mincore and VmRSS confirm
//!   the memory was freed. The reference is one madvise(MADV_DONTNEED) of the same GiB by the
//!   bench itself; the bench also frees the random pages itself, one madvise per page (what the
//!   device does) and with process_madvise over 1024 ranges a call (one TLB flush per batch).
//!
//! Time is taken where the MSI is delivered (our `MsiInterrupt`); the bench waits blocked, as a
//! halted vCPU does. This host shares its CPUs: read ratios and medians, not single figures.
//!
//! Usage: balloon-bench [ROUNDS]   (medians over ROUNDS rounds, default 5)

use std::os::fd::AsRawFd;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use devices::pci::{MsiInterrupt, PciDevice};
use devices::virtio::balloon::{Balloon, BalloonConfig, BalloonEvents};
use devices::virtio::features::{VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1};
use devices::virtio::pci::layout::{COMMON_CFG_OFFSET, MSIX_TABLE_OFFSET};
use devices::virtio::pci::{VirtioPciDevice, NO_VECTOR};
use devices::virtio::status;
use kvm_bindings::KVM_MAX_CPUID_ENTRIES;
use kvm_bindings::{kvm_msi, kvm_regs, kvm_segment, kvm_userspace_memory_region};
use kvm_ioctls::{IoEventAddress, Kvm, NoDatamatch, VcpuExit, VcpuFd, VmFd};
use tests::bench_stats::median;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::EventFd;

type Mem = GuestMemoryMmap<()>;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const PAGE: u64 = 4 * KIB;

/// This host's port-I/O exit at CPL0 as `../shared/docs/host-kvm.md` records it (µs).
const DOC_PORT_EXIT_US: f64 = 8.5;
/// Target: notify → interrupt costs at most this many raw exits.
const NOTIFY_TARGET_RATIO: f64 = 1.5;
/// Target: reclaim of posted ranges at least this fast.
const RECLAIM_TARGET_MIB_S: f64 = 1024.0;

const PORT_EXITS: usize = 20_000;
const MMIO_BURST: usize = 64;
const MMIO_BURSTS: usize = 300;
const MMIO_USER_EXITS: usize = 10_000;
const NOTIFICATIONS: usize = 2_000;
const E2E_NOTIFICATIONS: usize = 2_000;
/// PFNs per notification in the per-notification figures (resident pages, re-touched each time).
const NOTIFY_PFNS: u64 = 16;

/// Guest layout (guest-physical).
const GDT: u64 = 0x500;
const IDT: u64 = 0x2000;
const IDTR: u64 = 0x3000;
const STACK_TOP: u64 = 0x8000;
const PML4: u64 = 0x9000;
const INFLATE_RING: u64 = 0x10000;
const DEFLATE_RING: u64 = 0x20000;
const CODE: u64 = 0x10_0000;
const HANDLER: u64 = 0x10_1000;
const PFN_BUFFERS: u64 = 0x20_0000;
/// Pages inflated by the per-notification loops live from here.
const NOTIFY_PAGES: u64 = 16 * MIB;
const SMALL_RAM: u64 = 64 * MIB;
/// Where the transport's BAR0 sits; queue 0 notifies at BAR0 + 0x3000.
const BAR0: u64 = 0xc000_0000;
const NOTIFY0: u64 = BAR0 + 0x3000;
/// A raw ioeventfd (no device) for the MMIO reference, and an address nothing claims.
const RAW_IOEVENT_ADDR: u64 = 0xc800_0000;
const UNCLAIMED_MMIO: u64 = 0xd000_0000;
/// A RAM address for the store baseline (inside the 4 MiB exit-test guests).
const RAM_STORE: u64 = 0x30_0000;
const EXIT_PORT: u16 = 0x80;
const MSI_ADDRESS: u64 = 0xfee0_0000;
/// MSI-X data = 0x40 + vector; the inflate queue uses vector 1.
const INFLATE_VECTOR: u16 = 1;
const INFLATE_MSI_DATA: u32 = 0x41;

/// Reclaim: 1 GiB ballooned after a 4 MiB area holding the rings, PFN arrays and tables.
const RECLAIM_META: u64 = 4 * MIB;
const RECLAIM_BYTES: u64 = 1 << 30;
const RECLAIM_PAGES: u64 = RECLAIM_BYTES / PAGE;
const PFNS_PER_DESC: u64 = 256;
const DESCS_PER_CHAIN: u64 = 8;
/// The random-order rows free page by page; a quarter of the GiB gives the same rate sooner.
const RANDOM_BYTES: u64 = 256 * MIB;
const RECLAIM_PFN_ARRAY: u64 = 0x10_0000;
const RECLAIM_TABLES: u64 = 0x30_0000;

const QUEUE_SIZE: u16 = 128;
const F_NEXT: u16 = 1;
const F_INDIRECT: u16 = 4;

// ---------------------------------------------------------------------------------------------
// Watchdog: a stuck guest or device must not hang the bench.

static PROGRESS: AtomicU64 = AtomicU64::new(0);

fn progress() {
    PROGRESS.fetch_add(1, Ordering::Relaxed);
}

fn start_watchdog() {
    std::thread::spawn(|| {
        let mut last = u64::MAX;
        let mut still = 0;
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = PROGRESS.load(Ordering::Relaxed);
            still = if now == last { still + 1 } else { 0 };
            last = now;
            if still >= 20 {
                eprintln!("balloon-bench: no progress for 20 s (guest or device stuck); giving up");
                std::process::exit(2);
            }
        }
    });
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    base().elapsed().as_nanos() as u64
}

// ---------------------------------------------------------------------------------------------
// MSI sinks and the null device.

/// Counts and timestamps MSI messages; optionally injects them with KVM_SIGNAL_MSI first, as
/// the VMM's `KvmMsi` does. The bench waits for them blocked on `wake`, as a halted vCPU waits;
/// the time is taken in `signal`, so the bench's own wake-up is not in it.
struct StampMsi {
    count: AtomicU64,
    last_ns: AtomicU64,
    kvm: Option<Arc<VmFd>>,
    wake: EventFd,
}

impl StampMsi {
    fn new(kvm: Option<Arc<VmFd>>) -> Arc<Self> {
        Arc::new(StampMsi {
            count: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            kvm,
            wake: EventFd::new(0).expect("eventfd"),
        })
    }

    /// Waits until more than `seen` messages arrived; returns the last one's timestamp. (The
    /// watchdog ends a run whose MSI never comes.)
    fn wait_past(&self, seen: u64) -> u64 {
        while self.count.load(Ordering::Acquire) <= seen {
            let _ = self.wake.read();
        }
        self.last_ns.load(Ordering::Acquire)
    }
}

impl MsiInterrupt for StampMsi {
    fn signal(&self, address: u64, data: u32) {
        if let Some(vm) = &self.kvm {
            let msi = kvm_msi {
                address_lo: address as u32,
                address_hi: (address >> 32) as u32,
                data,
                ..Default::default()
            };
            let _ = vm.signal_msi(msi);
        }
        self.last_ns.store(now_ns(), Ordering::Release);
        self.count.fetch_add(1, Ordering::AcqRel);
        if self.kvm.is_none() {
            let _ = self.wake.write(1);
        }
    }
}

struct NoEvents;
impl BalloonEvents for NoEvents {
    fn actual_changed(&self, _: u32) {}
}

/// The floor of an ioeventfd-driven device: a thread waiting on the queue eventfd with epoll
/// (as the balloon's worker does) that sends the MSI as soon as it wakes.
struct NullDevice {
    event: EventFd,
    stop: EventFd,
    thread: Option<JoinHandle<()>>,
}

impl NullDevice {
    fn start(msi: Arc<StampMsi>) -> NullDevice {
        let event = EventFd::new(libc::EFD_NONBLOCK).expect("eventfd");
        let stop = EventFd::new(libc::EFD_NONBLOCK).expect("eventfd");
        let (ev, st) = (event.try_clone().unwrap(), stop.try_clone().unwrap());
        let thread = std::thread::Builder::new()
            .name("null-device".into())
            .spawn(move || {
                let epoll = Epoll::new().expect("epoll");
                for (fd, token) in [(ev.as_raw_fd(), 0u64), (st.as_raw_fd(), 1)] {
                    epoll
                        .ctl(
                            ControlOperation::Add,
                            fd,
                            EpollEvent::new(EventSet::IN, token),
                        )
                        .expect("epoll_ctl");
                }
                let mut events = [EpollEvent::default(); 2];
                loop {
                    let n = match epoll.wait(-1, &mut events) {
                        Ok(n) => n,
                        Err(_) => continue,
                    };
                    for e in &events[..n] {
                        if e.data() == 1 {
                            return;
                        }
                        let _ = ev.read();
                        msi.signal(MSI_ADDRESS, INFLATE_MSI_DATA);
                    }
                }
            })
            .expect("spawn");
        NullDevice {
            event,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for NullDevice {
    fn drop(&mut self) {
        let _ = self.stop.write(1);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The driver side: a split ring built by hand and the virtio-pci programming Linux does.

struct Ring {
    desc: u64,
    avail: u64,
    used: u64,
    avail_idx: u16,
    next_desc: u16,
}

impl Ring {
    fn new(base: u64) -> Ring {
        let size = u64::from(QUEUE_SIZE);
        let desc = base;
        let avail = desc + 16 * size;
        let used = (avail + 6 + 2 * size + 0xfff) & !0xfff;
        Ring {
            desc,
            avail,
            used,
            avail_idx: 0,
            next_desc: 0,
        }
    }

    fn write_desc(&self, mem: &Mem, at: u64, addr: u64, len: u32, flags: u16, next: u16) {
        mem.write_obj(addr, GuestAddress(at)).unwrap();
        mem.write_obj(len, GuestAddress(at + 8)).unwrap();
        mem.write_obj(flags, GuestAddress(at + 12)).unwrap();
        mem.write_obj(next, GuestAddress(at + 14)).unwrap();
    }

    /// Puts one descriptor (or an indirect-table descriptor) at the next free slot and makes
    /// it available.
    fn post(&mut self, mem: &Mem, addr: u64, len: u32, flags: u16) {
        let head = self.next_desc;
        self.next_desc = (head + 1) % QUEUE_SIZE;
        self.write_desc(mem, self.desc + 16 * u64::from(head), addr, len, flags, 0);
        let slot = self.avail + 4 + 2 * u64::from(self.avail_idx % QUEUE_SIZE);
        mem.write_obj(head, GuestAddress(slot)).unwrap();
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        mem.write_obj(self.avail_idx, GuestAddress(self.avail + 2))
            .unwrap();
        fence(Ordering::SeqCst);
    }

    fn used_idx(&self, mem: &Mem) -> u16 {
        mem.read_obj(GuestAddress(self.used + 2)).unwrap()
    }
}

fn bar_write(pci: &mut VirtioPciDevice, offset: u64, len: usize, value: u64) {
    pci.bar_write(0, offset, &value.to_le_bytes()[..len]);
}

fn bar_read(pci: &mut VirtioPciDevice, offset: u64, len: usize) -> u64 {
    let mut b = [0u8; 8];
    pci.bar_read(0, offset, &mut b[..len]);
    u64::from_le_bytes(b)
}

fn cfg_read(pci: &mut VirtioPciDevice, offset: usize, len: usize) -> u32 {
    let mut b = [0u8; 4];
    pci.config_read(offset, &mut b[..len]);
    u32::from_le_bytes(b)
}

fn cfg_write(pci: &mut VirtioPciDevice, offset: usize, len: usize, value: u32) {
    let _ = pci.config_write(offset, &value.to_le_bytes()[..len]);
}

fn set_status(pci: &mut VirtioPciDevice, s: u8) {
    bar_write(pci, COMMON_CFG_OFFSET + 0x14, 1, u64::from(s));
}

/// Brings the device up as Linux's virtio_pci_modern + virtio_balloon do: memory and bus
/// mastering, MSI-X (vector 0 config, 1 inflate, 2 deflate), features VERSION_1 |
/// RING_INDIRECT_DESC (no stats queue), inflate and deflate queues, DRIVER_OK.
fn bring_up(pci: &mut VirtioPciDevice, inflate: &Ring, deflate: &Ring) {
    cfg_write(pci, 0x04, 2, 0x6);
    let mut pos = cfg_read(pci, 0x34, 1) as usize;
    let mut msix = None;
    for _ in 0..48 {
        if pos < 0x40 {
            break;
        }
        if cfg_read(pci, pos, 1) == 0x11 {
            msix = Some(pos);
            break;
        }
        pos = cfg_read(pci, pos + 1, 1) as usize & !3;
    }
    let msix = msix.expect("the transport has an MSI-X capability");
    for v in 0..3u64 {
        let e = MSIX_TABLE_OFFSET + 16 * v;
        bar_write(pci, e, 4, MSI_ADDRESS);
        bar_write(pci, e + 4, 4, 0);
        bar_write(pci, e + 8, 4, 0x40 + v);
        bar_write(pci, e + 12, 4, 0);
    }
    cfg_write(pci, msix + 2, 2, 0x8000);

    set_status(pci, 0);
    set_status(pci, status::ACKNOWLEDGE);
    set_status(pci, status::ACKNOWLEDGE | status::DRIVER);
    let features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC;
    bar_write(pci, 0x00, 4, 0);
    let offered = bar_read(pci, 0x04, 4);
    bar_write(pci, 0x00, 4, 1);
    let offered = offered | bar_read(pci, 0x04, 4) << 32;
    assert_eq!(offered & features, features, "device offers {offered:#x}");
    bar_write(pci, 0x08, 4, 0);
    bar_write(pci, 0x0c, 4, features & 0xffff_ffff);
    bar_write(pci, 0x08, 4, 1);
    bar_write(pci, 0x0c, 4, features >> 32);
    let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
    set_status(pci, s);
    assert_ne!(
        bar_read(pci, 0x14, 1) as u8 & status::FEATURES_OK,
        0,
        "FEATURES_OK refused"
    );
    bar_write(pci, 0x10, 2, u64::from(NO_VECTOR));
    for (q, ring, vector) in [(0u16, inflate, INFLATE_VECTOR), (1, deflate, 2)] {
        bar_write(pci, 0x16, 2, u64::from(q));
        assert!(bar_read(pci, 0x18, 2) as u16 >= QUEUE_SIZE);
        bar_write(pci, 0x18, 2, u64::from(QUEUE_SIZE));
        bar_write(pci, 0x1a, 2, u64::from(vector));
        assert_eq!(bar_read(pci, 0x1a, 2) as u16, vector, "vector refused");
        for (off, addr) in [(0x20, ring.desc), (0x28, ring.avail), (0x30, ring.used)] {
            bar_write(pci, off, 4, addr & 0xffff_ffff);
            bar_write(pci, off + 4, 4, addr >> 32);
        }
        bar_write(pci, 0x1c, 2, 1);
    }
    set_status(pci, s | status::DRIVER_OK);
    assert_ne!(
        bar_read(pci, 0x14, 1) as u8 & status::DRIVER_OK,
        0,
        "DRIVER_OK refused"
    );
}

/// A balloon on the transport over `mem`, brought up, MSI-X messages to `msi`.
struct Device {
    pci: VirtioPciDevice,
    inflate: Ring,
}

impl Device {
    fn new(mem: &Mem, msi: Arc<StampMsi>) -> Device {
        let balloon =
            Balloon::new(BalloonConfig::default(), mem.clone(), Arc::new(NoEvents)).unwrap();
        let mut pci = VirtioPciDevice::new(Box::new(balloon), mem.clone(), BAR0, msi).unwrap();
        let inflate = Ring::new(INFLATE_RING);
        bring_up(&mut pci, &inflate, &Ring::new(DEFLATE_RING));
        Device { pci, inflate }
    }

    fn queue_event(&self) -> &EventFd {
        self.pci.queue_event(0).expect("inflate queue eventfd")
    }
}

// ---------------------------------------------------------------------------------------------
// Memory helpers.

fn guest_memory(size: u64) -> Mem {
    GuestMemoryMmap::from_ranges(&[(GuestAddress(0), size as usize)]).expect("guest memory")
}

fn host_ptr(mem: &Mem, gpa: u64) -> *mut u8 {
    mem.get_host_address(GuestAddress(gpa)).expect("inside RAM")
}

/// Writes every page of `[gpa, gpa + len)` (one mapping).
fn touch(mem: &Mem, gpa: u64, len: u64) {
    let p = host_ptr(mem, gpa);
    for off in (0..len).step_by(PAGE as usize) {
        // SAFETY: inside one live mapping of `mem`; nothing else reads or writes it now.
        unsafe { p.add(off as usize).write_volatile(0x5a) };
    }
}

/// Resident pages of `[gpa, gpa + len)`, by mincore.
fn resident_pages(mem: &Mem, gpa: u64, len: u64) -> u64 {
    let mut vec = vec![0u8; (len / PAGE) as usize];
    // SAFETY: the range is inside one live mapping of `mem`; mincore only reports on it.
    let ret = unsafe { libc::mincore(host_ptr(mem, gpa).cast(), len as usize, vec.as_mut_ptr()) };
    assert_eq!(ret, 0, "mincore");
    vec.iter().filter(|b| *b & 1 != 0).count() as u64
}

/// VmRSS of this process in KiB.
fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn write_pfns(mem: &Mem, at: u64, pfns: impl Iterator<Item = u64>) -> u32 {
    let bytes: Vec<u8> = pfns.flat_map(|p| (p as u32).to_le_bytes()).collect();
    mem.write_slice(&bytes, GuestAddress(at)).unwrap();
    bytes.len() as u32
}

// ---------------------------------------------------------------------------------------------
// A minimal KVM guest: 64-bit, CPL0, identity-mapped first GiB, 3-4 GiB uncached (MMIO, LAPIC).

struct Guest {
    vm: Arc<VmFd>,
    vcpu: VcpuFd,
}

fn register_memory(vm: &VmFd, mem: &Mem) {
    for (slot, region) in mem.iter().enumerate() {
        let r = kvm_userspace_memory_region {
            slot: slot as u32,
            guest_phys_addr: region.start_addr().0,
            memory_size: region.len(),
            userspace_addr: region.as_ptr() as u64,
            flags: 0,
        };
        // SAFETY: the region's mapping lives as long as `mem`, which outlives the VM here.
        unsafe { vm.set_user_memory_region(r) }.expect("KVM_SET_USER_MEMORY_REGION");
    }
}

/// A VM over `mem` with `code` at CODE and `handler` at HANDLER (IDT vectors 0x40-0x41);
/// `irqchip` gives it an in-kernel LAPIC. The caller keeps `mem` alive longer than the guest.
fn guest(kvm: &Kvm, mem: &Mem, irqchip: bool, code: &[u8], handler: &[u8]) -> Guest {
    let vm = kvm.create_vm().expect("KVM_CREATE_VM");
    vm.set_tss_address(0xfffb_d000).expect("KVM_SET_TSS_ADDR");
    if irqchip {
        vm.create_irq_chip().expect("KVM_CREATE_IRQCHIP");
    }
    register_memory(&vm, mem);
    let w64 = |v: u64, at: u64| mem.write_obj(v, GuestAddress(at)).unwrap();
    let (pdpt, pd, pd3) = (PML4 + 0x1000, PML4 + 0x2000, PML4 + 0x3000);
    w64(pdpt | 3, PML4);
    w64(pd | 3, pdpt);
    w64(pd3 | 3, pdpt + 3 * 8);
    for i in 0..512u64 {
        w64((i << 21) | 0x83, pd + 8 * i);
        // Present, writable, 2 MiB, PWT|PCD.
        w64((0xc000_0000 + (i << 21)) | 0x9b, pd3 + 8 * i);
    }
    w64(0x00af_9b00_0000_ffff, GDT + 8);
    w64(0x00cf_9300_0000_ffff, GDT + 16);
    for vector in [0x40u64, 0x41] {
        let at = IDT + 16 * vector;
        let h = HANDLER;
        let lo = (h & 0xffff) | (8 << 16) | (0x8e00 << 32) | ((h >> 16) & 0xffff) << 48;
        w64(lo, at);
        w64(h >> 32, at + 8);
    }
    mem.write_obj(256u16 * 16 - 1, GuestAddress(IDTR)).unwrap();
    w64(IDT, IDTR + 2);
    mem.write_slice(code, GuestAddress(CODE)).unwrap();
    mem.write_slice(handler, GuestAddress(HANDLER)).unwrap();

    let vcpu = vm.create_vcpu(0).expect("KVM_CREATE_VCPU");
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .expect("KVM_GET_SUPPORTED_CPUID");
    vcpu.set_cpuid2(&cpuid).expect("KVM_SET_CPUID2");
    let mut s = vcpu.get_sregs().expect("KVM_GET_SREGS");
    let seg = |selector: u16, type_: u8, l: u8, db: u8| kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_,
        present: 1,
        dpl: 0,
        db,
        s: 1,
        l,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    };
    s.cs = seg(8, 11, 1, 0);
    let ds = seg(16, 3, 0, 1);
    (s.ds, s.es, s.fs, s.gs, s.ss) = (ds, ds, ds, ds, ds);
    s.gdt.base = GDT;
    s.gdt.limit = 23;
    s.cr3 = PML4;
    s.cr4 = 0x20;
    s.cr0 = 0x8005_0033;
    s.efer = 0x500;
    vcpu.set_sregs(&s).expect("KVM_SET_SREGS");
    let regs = kvm_regs {
        rip: CODE,
        rsp: STACK_TOP,
        rflags: 2,
        ..Default::default()
    };
    vcpu.set_regs(&regs).expect("KVM_SET_REGS");
    Guest {
        vm: Arc::new(vm),
        vcpu,
    }
}

impl Guest {
    /// Runs until the next exit, which must be `out` to EXIT_PORT.
    fn run_to_port(&mut self) {
        match self.vcpu.run() {
            Ok(VcpuExit::IoOut(EXIT_PORT, _)) => {}
            Ok(other) => panic!("unexpected exit {other:?}"),
            Err(e) => panic!("KVM_RUN: {e}"),
        }
        progress();
    }

    /// Runs until the next exit, which must be an MMIO write.
    fn run_to_mmio(&mut self) {
        match self.vcpu.run() {
            Ok(VcpuExit::MmioWrite(..)) => {}
            Ok(other) => panic!("unexpected exit {other:?}"),
            Err(e) => panic!("KVM_RUN: {e}"),
        }
        progress();
    }
}

/// Guest code, assembled by hand.
struct Asm(Vec<u8>);

impl Asm {
    fn new() -> Asm {
        Asm(Vec::new())
    }
    fn here(&self) -> u64 {
        CODE + self.0.len() as u64
    }
    fn bytes(mut self, b: &[u8]) -> Asm {
        self.0.extend_from_slice(b);
        self
    }
    /// mov rdi/rsi (reg 7/6), imm64
    fn mov_imm64(self, reg: u8, v: u64) -> Asm {
        self.bytes(&[0x48, 0xb8 + reg]).bytes(&v.to_le_bytes())
    }
    /// mov edx, port
    fn mov_edx(self, port: u16) -> Asm {
        self.bytes(&[0xba]).bytes(&u32::from(port).to_le_bytes())
    }
    /// out dx, al
    fn out(self) -> Asm {
        self.bytes(&[0xee])
    }
    /// mov [rdi], ax
    fn store16_rdi(self) -> Asm {
        self.bytes(&[0x66, 0x89, 0x07])
    }
    /// jmp rel32 to `target`
    fn jmp(self, target: u64) -> Asm {
        let rel = target as i64 - (self.here() as i64 + 5);
        self.bytes(&[0xe9]).bytes(&(rel as i32).to_le_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/// µs per port-I/O exit round trip (KVM_RUN → user space → KVM_RUN).
fn port_exit_us(kvm: &Kvm) -> f64 {
    let mem = guest_memory(4 * MIB);
    let a = Asm::new().mov_edx(EXIT_PORT);
    let top = a.here();
    let code = a.out().jmp(top);
    let mut g = guest(kvm, &mem, false, &code.0, &[]);
    g.run_to_port();
    for _ in 0..1000 {
        g.run_to_port();
    }
    let t = Instant::now();
    for _ in 0..PORT_EXITS {
        g.run_to_port();
    }
    t.elapsed().as_secs_f64() * 1e6 / PORT_EXITS as f64
}

/// µs per 2-byte guest store in a burst of MMIO_BURST, to `target`, each burst ending in one
/// port exit (subtracted with `port_us`).
fn burst_store_us(kvm: &Kvm, target: u64, ioeventfd: bool, port_us: f64) -> f64 {
    let mem = guest_memory(4 * MIB);
    let mut a = Asm::new().mov_imm64(7, target).mov_edx(EXIT_PORT);
    let top = a.here();
    for _ in 0..MMIO_BURST {
        a = a.store16_rdi();
    }
    let code = a.out().jmp(top);
    let mut g = guest(kvm, &mem, false, &code.0, &[]);
    let evt = EventFd::new(libc::EFD_NONBLOCK).unwrap();
    if ioeventfd {
        g.vm.register_ioevent(&evt, &IoEventAddress::Mmio(target), NoDatamatch)
            .expect("KVM_IOEVENTFD");
    }
    g.run_to_port();
    for _ in 0..20 {
        g.run_to_port();
    }
    let t = Instant::now();
    for _ in 0..MMIO_BURSTS {
        g.run_to_port();
    }
    let per_burst = t.elapsed().as_secs_f64() * 1e6 / MMIO_BURSTS as f64;
    if ioeventfd {
        // Every store signalled the eventfd.
        let n = evt.read().unwrap_or(0);
        assert!(n >= (MMIO_BURST * MMIO_BURSTS) as u64, "ioeventfd saw {n}");
    }
    (per_burst - port_us) / MMIO_BURST as f64
}

/// µs per MMIO write exit to user space (unclaimed address).
fn mmio_user_exit_us(kvm: &Kvm) -> f64 {
    let mem = guest_memory(4 * MIB);
    let a = Asm::new().mov_imm64(7, UNCLAIMED_MMIO);
    let top = a.here();
    let code = a.store16_rdi().jmp(top);
    let mut g = guest(kvm, &mem, false, &code.0, &[]);
    for _ in 0..500 {
        g.run_to_mmio();
    }
    let t = Instant::now();
    for _ in 0..MMIO_USER_EXITS {
        g.run_to_mmio();
    }
    t.elapsed().as_secs_f64() * 1e6 / MMIO_USER_EXITS as f64
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Posts the `i`-th small inflate buffer (NOTIFY_PFNS pages, made resident first if `resident`)
/// on `ring`.
fn post_small(mem: &Mem, ring: &mut Ring, i: usize, resident: bool) {
    let slot = (i % usize::from(QUEUE_SIZE)) as u64;
    let first = NOTIFY_PAGES / PAGE + slot * NOTIFY_PFNS;
    if resident {
        touch(mem, first * PAGE, NOTIFY_PFNS * PAGE);
    }
    let buf = PFN_BUFFERS + slot * 1024;
    let len = write_pfns(mem, buf, first..first + NOTIFY_PFNS);
    ring.post(mem, buf, len, 0);
}

/// Notify → MSI through the device without a guest, `NOTIFICATIONS` times: µs samples.
fn device_notify_to_msi(resident: bool) -> Vec<f64> {
    let mem = guest_memory(SMALL_RAM);
    let msi = StampMsi::new(None);
    let mut dev = Device::new(&mem, msi.clone());
    let mut samples = Vec::with_capacity(NOTIFICATIONS);
    for i in 0..NOTIFICATIONS + 100 {
        post_small(&mem, &mut dev.inflate, i, resident);
        let seen = msi.count.load(Ordering::Acquire);
        let t0 = now_ns();
        dev.queue_event().write(1).unwrap();
        let t1 = msi.wait_past(seen);
        if i >= 100 {
            samples.push((t1 - t0) as f64 / 1e3);
        }
        progress();
    }
    let want = (NOTIFICATIONS + 100) as u16;
    let deadline = Instant::now() + Duration::from_secs(5);
    while dev.inflate.used_idx(&mem) != want && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(dev.inflate.used_idx(&mem), want, "every buffer used");
    samples
}

/// The same with the null device: µs samples.
fn null_notify_to_msi() -> Vec<f64> {
    let msi = StampMsi::new(None);
    let null = NullDevice::start(msi.clone());
    let mut samples = Vec::with_capacity(NOTIFICATIONS);
    for i in 0..NOTIFICATIONS + 100 {
        let seen = msi.count.load(Ordering::Acquire);
        let t0 = now_ns();
        null.event.write(1).unwrap();
        let t1 = msi.wait_past(seen);
        if i >= 100 {
            samples.push((t1 - t0) as f64 / 1e3);
        }
        progress();
    }
    samples
}

/// The end-to-end guest: set up the LAPIC and IDT, then per notification: `out` (the bench
/// posts the next buffer), store to the notify address (ioeventfd), `sti; hlt` until the MSI;
/// the handler EOIs and jumps back.
fn e2e_code() -> (Vec<u8>, Vec<u8>) {
    let a = Asm::new()
        .bytes(&[0x0f, 0x01, 0x1c, 0x25]) // lidt [IDTR]
        .bytes(&(IDTR as u32).to_le_bytes())
        .bytes(&[0xbf, 0xf0, 0x00, 0xe0, 0xfe]) // mov edi, 0xfee000f0 (SVR)
        .bytes(&[0xc7, 0x07, 0xff, 0x01, 0x00, 0x00]) // mov dword [rdi], 0x1ff
        .mov_imm64(7, NOTIFY0)
        .mov_edx(EXIT_PORT);
    let top = a.here();
    let a = a
        .bytes(&[0xbc])
        .bytes(&(STACK_TOP as u32).to_le_bytes()) // mov esp, STACK_TOP
        .out()
        .store16_rdi()
        .bytes(&[0xfb]); // sti
    let halt = a.here();
    let code = a.bytes(&[0xf4]).jmp(halt); // hlt; jmp hlt
    let handler = vec![
        0xbe, 0xb0, 0x00, 0xe0, 0xfe, // mov esi, 0xfee000b0 (EOI)
        0xc7, 0x06, 0, 0, 0, 0,    // mov dword [rsi], 0
        0xb8, // mov eax, top; jmp rax
    ];
    let mut handler = handler;
    handler.extend_from_slice(&(top as u32).to_le_bytes());
    handler.extend_from_slice(&[0xff, 0xe0]);
    (code.0, handler)
}

/// One KVM_RUN per notification, guest notify → device → MSI → handler → port exit:
/// (device µs samples, null-device µs samples).
fn e2e(kvm: &Kvm) -> (Vec<f64>, Vec<f64>) {
    let (code, handler) = e2e_code();
    let mut out = Vec::new();
    for with_device in [true, false] {
        let mem = guest_memory(SMALL_RAM);
        let mut g = guest(kvm, &mem, true, &code, &handler);
        let msi = StampMsi::new(Some(g.vm.clone()));
        let mut dev = None;
        let mut null = None;
        let event = if with_device {
            let d = Device::new(&mem, msi.clone());
            let e = d.queue_event().try_clone().unwrap();
            dev = Some(d);
            e
        } else {
            let n = NullDevice::start(msi.clone());
            let e = n.event.try_clone().unwrap();
            null = Some(n);
            e
        };
        g.vm.register_ioevent(&event, &IoEventAddress::Mmio(NOTIFY0), NoDatamatch)
            .expect("KVM_IOEVENTFD");
        g.run_to_port();
        let mut samples = Vec::with_capacity(E2E_NOTIFICATIONS);
        for i in 0..E2E_NOTIFICATIONS + 100 {
            if let Some(d) = dev.as_mut() {
                post_small(&mem, &mut d.inflate, i, true);
            }
            let t0 = Instant::now();
            g.run_to_port();
            if i >= 100 {
                samples.push(t0.elapsed().as_secs_f64() * 1e6);
            }
        }
        let delivered = msi.count.load(Ordering::Acquire);
        assert_eq!(delivered, (E2E_NOTIFICATIONS + 100) as u64, "one MSI each");
        if let Some(d) = dev.as_ref() {
            assert_eq!(d.inflate.used_idx(&mem), (E2E_NOTIFICATIONS + 100) as u16);
        }
        drop(dev);
        drop(null);
        out.push(samples);
    }
    let null = out.pop().unwrap();
    (out.pop().unwrap(), null)
}

struct Reclaim {
    mib: f64,
    mib_s: f64,
    /// Pages still resident afterwards (mincore).
    left: u64,
    /// VmRSS drop in MiB.
    rss_drop_mib: f64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Address,
    Random,
}

/// Another thread of the process running (as a vCPU in guest mode is): every TLB flush of the
/// process's memory must then reach its CPU too.
struct Sibling {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sibling {
    fn start(on: bool) -> Sibling {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = on.then(|| {
            std::thread::Builder::new()
                .name("sibling".into())
                .spawn(move || {
                    while !flag.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
                .expect("spawn")
        });
        Sibling { stop, thread }
    }
}

impl Drop for Sibling {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How the bench itself frees the random-order pages, for reference.
#[derive(Clone, Copy)]
enum HostFree {
    /// One madvise(MADV_DONTNEED) per page: what the device does with unmergeable PFNs.
    PerPage,
    /// process_madvise(self, 1024 ranges, MADV_DONTNEED): one call and one TLB flush per batch.
    Batched,
}

/// The 1 GiB reclaim set-up: RAM in a KVM slot (if KVM is there), a device, PFN arrays.
struct ReclaimRig {
    mem: Mem,
    msi: Arc<StampMsi>,
    dev: Device,
    seed: u64,
    _vm: Option<VmFd>,
}

impl ReclaimRig {
    fn new(kvm: Option<&Kvm>) -> ReclaimRig {
        let mem = guest_memory(RECLAIM_META + RECLAIM_BYTES);
        let vm = kvm.map(|k| {
            let vm = k.create_vm().expect("KVM_CREATE_VM");
            register_memory(&vm, &mem);
            vm
        });
        let msi = StampMsi::new(None);
        let dev = Device::new(&mem, msi.clone());
        ReclaimRig {
            mem,
            msi,
            dev,
            seed: 0x9e37_79b9_7f4a_7c15,
            _vm: vm,
        }
    }

    /// The ballooned PFNs in `order` (random: a fresh permutation, so almost no two frames of
    /// one chain are adjacent and every page is its own range).
    fn pfns(&mut self, order: Order, bytes: u64) -> Vec<u64> {
        let first = RECLAIM_META / PAGE;
        let mut pfns: Vec<u64> = (first..first + bytes / PAGE).collect();
        if order == Order::Random {
            for i in (1..pfns.len()).rev() {
                let j = (xorshift(&mut self.seed) % (i as u64 + 1)) as usize;
                pfns.swap(i, j);
            }
        }
        pfns
    }

    /// Touches the first `bytes` of the ballooned RAM; returns VmRSS (KiB).
    fn fill(&self, bytes: u64) -> u64 {
        touch(&self.mem, RECLAIM_META, bytes);
        let resident = resident_pages(&self.mem, RECLAIM_META, bytes);
        assert_eq!(resident, bytes / PAGE, "RAM fully touched");
        vm_rss_kib()
    }

    fn result(&self, secs: f64, rss_before: u64, bytes: u64) -> Reclaim {
        progress();
        let mib = (bytes / MIB) as f64;
        Reclaim {
            mib,
            mib_s: mib / secs,
            left: resident_pages(&self.mem, RECLAIM_META, RECLAIM_BYTES),
            rss_drop_mib: rss_before.saturating_sub(vm_rss_kib()) as f64 / 1024.0,
        }
    }

    /// The first `bytes` of the RAM posted at once (indirect chains of 8 × 256 PFNs, 128 for
    /// the GiB), one notify, time until the MSI.
    fn all_posted(&mut self, order: Order, sibling: bool, bytes: u64) -> Reclaim {
        let pfns = self.pfns(order, bytes);
        write_pfns(&self.mem, RECLAIM_PFN_ARRAY, pfns.into_iter());
        let rss = self.fill(bytes);
        let ring = &mut self.dev.inflate;
        for c in 0..bytes / PAGE / (PFNS_PER_DESC * DESCS_PER_CHAIN) {
            let table = RECLAIM_TABLES + c * DESCS_PER_CHAIN * 16;
            for d in 0..DESCS_PER_CHAIN {
                let k = c * DESCS_PER_CHAIN + d;
                let last = d + 1 == DESCS_PER_CHAIN;
                ring.write_desc(
                    &self.mem,
                    table + 16 * d,
                    RECLAIM_PFN_ARRAY + k * PFNS_PER_DESC * 4,
                    (PFNS_PER_DESC * 4) as u32,
                    if last { 0 } else { F_NEXT },
                    (d + 1) as u16,
                );
            }
            ring.post(&self.mem, table, (DESCS_PER_CHAIN * 16) as u32, F_INDIRECT);
        }
        let want = ring.avail_idx;
        let _sibling = Sibling::start(sibling);
        let seen = self.msi.count.load(Ordering::Acquire);
        let t0 = now_ns();
        self.dev.queue_event().write(1).unwrap();
        let t1 = self.msi.wait_past(seen);
        let used = self.dev.inflate.used_idx(&self.mem);
        assert_eq!(used, want, "all chains used at the MSI");
        self.result((t1 - t0) as f64 / 1e9, rss, bytes)
    }

    /// Linux's `tell_host`: one 256-PFN buffer, notify, wait until it is used, next.
    fn linux_style(&mut self) -> Reclaim {
        let pfns = self.pfns(Order::Address, RECLAIM_BYTES);
        write_pfns(&self.mem, RECLAIM_PFN_ARRAY, pfns.into_iter());
        let rss = self.fill(RECLAIM_BYTES);
        let t0 = now_ns();
        let mut t1 = t0;
        for k in 0..RECLAIM_PAGES / PFNS_PER_DESC {
            self.dev.inflate.post(
                &self.mem,
                RECLAIM_PFN_ARRAY + k * PFNS_PER_DESC * 4,
                (PFNS_PER_DESC * 4) as u32,
                0,
            );
            let seen = self.msi.count.load(Ordering::Acquire);
            self.dev.queue_event().write(1).unwrap();
            t1 = self.msi.wait_past(seen);
            progress();
        }
        self.result((t1 - t0) as f64 / 1e9, rss, RECLAIM_BYTES)
    }

    /// Memory speed: one madvise(MADV_DONTNEED) of the whole GiB by the bench.
    fn one_madvise(&self) -> Reclaim {
        let rss = self.fill(RECLAIM_BYTES);
        let p = host_ptr(&self.mem, RECLAIM_META);
        let t = Instant::now();
        // SAFETY: the range is one live mapping of `mem`; only zeroes it, no references exist.
        let ret = unsafe { libc::madvise(p.cast(), RECLAIM_BYTES as usize, libc::MADV_DONTNEED) };
        assert_eq!(ret, 0, "madvise");
        self.result(t.elapsed().as_secs_f64(), rss, RECLAIM_BYTES)
    }

    /// The bench frees the pages in random order itself, per page or batched. None if the
    /// kernel refuses process_madvise(MADV_DONTNEED) on this process.
    fn host_random(&mut self, how: HostFree, sibling: bool) -> Option<Reclaim> {
        let pfns = self.pfns(Order::Random, RANDOM_BYTES);
        let base = host_ptr(&self.mem, 0) as usize;
        // SAFETY: plain syscall; the fd is closed below.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) } as i32;
        if pidfd < 0 {
            return None;
        }
        let rss = self.fill(RANDOM_BYTES);
        let _sibling = Sibling::start(sibling);
        let t = Instant::now();
        let mut ok = true;
        match how {
            HostFree::PerPage => {
                for &pfn in &pfns {
                    let p = (base + (pfn * PAGE) as usize) as *mut libc::c_void;
                    // SAFETY: one page inside the live mapping of `mem`; only zeroes it.
                    ok &= unsafe { libc::madvise(p, PAGE as usize, libc::MADV_DONTNEED) } == 0;
                }
            }
            HostFree::Batched => {
                for batch in pfns.chunks(1024) {
                    let iov: Vec<libc::iovec> = batch
                        .iter()
                        .map(|&pfn| libc::iovec {
                            iov_base: (base + (pfn * PAGE) as usize) as *mut libc::c_void,
                            iov_len: PAGE as usize,
                        })
                        .collect();
                    // SAFETY: every range is one page inside the live mapping of `mem`;
                    // MADV_DONTNEED only zeroes them.
                    let n = unsafe {
                        libc::syscall(
                            libc::SYS_process_madvise,
                            pidfd,
                            iov.as_ptr(),
                            iov.len(),
                            libc::MADV_DONTNEED,
                            0,
                        )
                    };
                    ok &= n == (iov.len() as u64 * PAGE) as i64;
                    if !ok {
                        break;
                    }
                }
            }
        }
        let secs = t.elapsed().as_secs_f64();
        drop(_sibling);
        // SAFETY: our own fd.
        unsafe { libc::close(pidfd) };
        let r = self.result(secs, rss, RANDOM_BYTES);
        if !ok {
            // Leave the RAM freed for the next measurement.
            let p = host_ptr(&self.mem, RECLAIM_META);
            // SAFETY: as in `one_madvise`.
            unsafe { libc::madvise(p.cast(), RECLAIM_BYTES as usize, libc::MADV_DONTNEED) };
            return None;
        }
        Some(r)
    }
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Round {
    port_us: f64,
    ioeventfd_us: f64,
    ram_store_us: f64,
    mmio_user_us: f64,
    notify: Vec<f64>,
    notify_cold: Vec<f64>,
    null: Vec<f64>,
    e2e: Vec<f64>,
    e2e_null: Vec<f64>,
    /// Reclaim rows by name, in print order.
    reclaim: Vec<(&'static str, Option<Reclaim>)>,
}

fn main() {
    let rounds = tests::bench_stats::rounds_arg(5);
    base();
    start_watchdog();
    let kvm = match Kvm::new() {
        Ok(k) => Some(k),
        Err(e) => {
            eprintln!("balloon-bench: /dev/kvm: {e}; the KVM rows are n/a");
            None
        }
    };
    let thp =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    let mut rig = ReclaimRig::new(kvm.as_ref());
    let mut all: Vec<Round> = Vec::new();
    let started = Instant::now();
    for r in 0..rounds {
        let mut round = Round::default();
        if let Some(kvm) = &kvm {
            round.port_us = port_exit_us(kvm);
            round.ioeventfd_us = burst_store_us(kvm, RAW_IOEVENT_ADDR, true, round.port_us);
            round.ram_store_us = burst_store_us(kvm, RAM_STORE, false, round.port_us);
            round.mmio_user_us = mmio_user_exit_us(kvm);
            (round.e2e, round.e2e_null) = e2e(kvm);
        }
        round.notify = device_notify_to_msi(true);
        round.notify_cold = device_notify_to_msi(false);
        round.null = null_notify_to_msi();
        round.reclaim = vec![
            (
                ROW_ADDRESS,
                Some(rig.all_posted(Order::Address, false, RECLAIM_BYTES)),
            ),
            (
                ROW_RANDOM,
                Some(rig.all_posted(Order::Random, false, RANDOM_BYTES)),
            ),
            (
                ROW_RANDOM_SIBLING,
                Some(rig.all_posted(Order::Random, true, RANDOM_BYTES)),
            ),
            (ROW_TELL_HOST, Some(rig.linux_style())),
            (ROW_ONE_MADVISE, Some(rig.one_madvise())),
            (ROW_PER_PAGE, rig.host_random(HostFree::PerPage, true)),
            (ROW_BATCHED, rig.host_random(HostFree::Batched, true)),
        ];
        eprintln!(
            "balloon-bench: round {}/{rounds} done ({:.1} s)",
            r + 1,
            started.elapsed().as_secs_f64()
        );
        all.push(round);
    }
    drop(rig);
    report(&all, kvm.is_some(), thp.trim());
}

const ROW_ADDRESS: &str = "all posted, one notify, address order (MiB/s)";
const ROW_RANDOM: &str = "256 MiB posted, one notify, random order (MiB/s)";
const ROW_RANDOM_SIBLING: &str = "  same, another thread running (MiB/s)";
const ROW_TELL_HOST: &str = "Linux tell_host: 256 PFNs per notify (MiB/s)";
const ROW_ONE_MADVISE: &str = "bench: one madvise of the GiB (MiB/s)";
const ROW_PER_PAGE: &str = "bench: random, madvise per page, thread running";
const ROW_BATCHED: &str = "bench: random, process_madvise x1024, thr. running";

fn report(all: &[Round], have_kvm: bool, thp: &str) {
    let rounds = all.len();
    let med = |f: &dyn Fn(&Round) -> f64| median(all.iter().map(f).collect());
    let per_round_median = |f: &dyn Fn(&Round) -> &Vec<f64>| med(&|r| median(f(r).clone()));
    let pooled_p99 = |f: &dyn Fn(&Round) -> &Vec<f64>| {
        percentile(all.iter().flat_map(|r| f(r).clone()).collect(), 0.99)
    };
    let reclaim = |name: &str, g: &dyn Fn(&Reclaim) -> f64| {
        med(&|r| {
            r.reclaim
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, x)| x.as_ref())
                .map_or(f64::NAN, g)
        })
    };

    let port = if have_kvm {
        med(&|r| r.port_us)
    } else {
        f64::NAN
    };
    println!(
        "balloon-bench: {rounds} rounds, medians; {NOTIFY_PFNS} PFNs per notification; \
         reclaim of {} MiB in a KVM slot; THP {thp}",
        RECLAIM_BYTES / MIB
    );
    println!(
        "{:<52} {:>10} {:>10} {:>8}  target",
        "metric", "measured", "reference", "ratio"
    );
    let row = |name: &str, a: f64, b: f64, target: &str| {
        let fmt = |v: f64| {
            if v.is_nan() {
                format!("{:>10}", "n/a")
            } else {
                format!("{v:>10.2}")
            }
        };
        let ratio = if a.is_nan() || b.is_nan() {
            format!("{:>8}", "n/a")
        } else {
            format!("{:>8.3}", a / b)
        };
        println!("{name:<52} {} {} {ratio}  {target}", fmt(a), fmt(b));
    };
    println!(
        "-- this host's exits (reference: ../shared/docs/host-kvm.md, then the measured exit)"
    );
    row(
        "port-I/O exit round trip, CPL0 (us)",
        port,
        DOC_PORT_EXIT_US,
        "",
    );
    if have_kvm {
        row(
            "MMIO write to an ioeventfd, in kernel (us)",
            med(&|r| r.ioeventfd_us),
            port,
            "",
        );
        row(
            "  the same store to RAM (us)",
            med(&|r| r.ram_store_us),
            port,
            "",
        );
        row(
            "MMIO write exit to user space (us)",
            med(&|r| r.mmio_user_us),
            port,
            "",
        );
    }
    println!("-- per notification (reference: the port-I/O exit above)");
    let notify = per_round_median(&|r| &r.notify);
    let null = per_round_median(&|r| &r.null);
    row(
        "balloon: queue eventfd -> MSI, p50 (us)",
        notify,
        port,
        &format!("ratio <= {NOTIFY_TARGET_RATIO}"),
    );
    row(
        "balloon: queue eventfd -> MSI, p99 (us)",
        pooled_p99(&|r| &r.notify),
        port,
        "",
    );
    row(
        "  same, PFNs not resident (no madvise work), p50",
        per_round_median(&|r| &r.notify_cold),
        port,
        "",
    );
    row("null device: eventfd -> MSI, p50 (us)", null, port, "");
    if have_kvm {
        let e2e = per_round_median(&|r| &r.e2e);
        let e2e_null = per_round_median(&|r| &r.e2e_null);
        row(
            "guest notify..MSI..handler exit, balloon, p50 (us)",
            e2e,
            port,
            "",
        );
        row(
            "guest notify..MSI..handler exit, null dev, p50 (us)",
            e2e_null,
            port,
            "",
        );
        row(
            "  balloon adds, end to end (us)",
            e2e - e2e_null,
            port,
            &format!("ratio <= {NOTIFY_TARGET_RATIO}"),
        );
    }
    println!(
        "-- reclaim, every page touched first; random order: 256 MiB, each page its own range \
         (reference: one madvise of the GiB)"
    );
    let floor = reclaim(ROW_ONE_MADVISE, &|x| x.mib_s);
    let target = format!(">= {RECLAIM_TARGET_MIB_S:.0} MiB/s");
    for (name, target) in [
        (ROW_ADDRESS, target.as_str()),
        (ROW_RANDOM, target.as_str()),
        (ROW_RANDOM_SIBLING, target.as_str()),
        (ROW_TELL_HOST, ""),
        (ROW_ONE_MADVISE, ""),
        (ROW_PER_PAGE, ""),
        (ROW_BATCHED, ""),
    ] {
        row(name, reclaim(name, &|x| x.mib_s), floor, target);
    }
    for (name, label) in [
        (ROW_ADDRESS, "RSS drop, address order (MiB)"),
        (ROW_RANDOM, "RSS drop, random order (MiB)"),
        (ROW_TELL_HOST, "RSS drop, tell_host (MiB)"),
    ] {
        let (drop, mib) = (
            reclaim(name, &|x| x.rss_drop_mib),
            reclaim(name, &|x| x.mib),
        );
        row(label, drop, mib, "ratio >= 0.95");
    }
    let left: u64 = all
        .iter()
        .flat_map(|r| r.reclaim.iter())
        .filter_map(|(_, x)| x.as_ref().map(|x| x.left))
        .sum();
    println!("pages left resident after every reclaim above (mincore, all rounds): {left}");
}

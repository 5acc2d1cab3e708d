//! The virtio balloon driver (virtio 1.x over PCI), behaving as Linux's
//! virtio_balloon (6.1): follows `num_pages` in batches of up to 256 pages, one
//! request in flight, `actual` written after each acknowledged batch; the stats
//! queue holds one buffer that is refilled each time the device returns it;
//! deflate-on-OOM releases 256 pages per "notification"; free page reporting sends
//! 2/4 MiB free blocks (on the `report` command).
//!
//! Everything runs on the BSP with interrupts disabled: at boot (probe), in the
//! MSI-X handlers and in the serial command handler. Nothing waits: a request is
//! posted, and the next step happens when its used-buffer interrupt comes.
//! Page lists are built and consumed by CPL3 helpers (src/pages.rs).

use crate::abi::{
    BALLOON_CONFIG_VECTOR, BALLOON_FEATURES_ACCEPTED, BALLOON_FOUND, BALLOON_F_DEFLATE_ON_OOM,
    BALLOON_F_REPORTING, BALLOON_F_STATS_VQ, BALLOON_OOM_PAGES, BALLOON_PFNS_PER_BUFFER,
    BALLOON_QUEUE_SIZE_MAX, BALLOON_QUEUE_VECTOR, BALLOON_REPORT_ENTRIES, BALLOON_STATS_TAGS,
    DRIVER_AREA_GPA, VIRTIO_BALLOON_PCI_DEVICE, VIRTIO_BALLOON_PCI_DEVICE_TRANSITIONAL,
    VIRTIO_F_VERSION_1, VIRTIO_PCI_VENDOR,
};
use crate::global::Global;
use crate::line::Line;
use crate::pages::{self, Pool};
use crate::pci::{self, Function};
use crate::virtio::{self, Queue, Transport, NO_VECTOR, QUEUE_MEMORY};

mod abuse;
pub use abuse::command as command_abuse;

// Driver memory (see abi::DRIVER_AREA_GPA): four queues, then the buffers.
const QUEUES_AREA: u64 = DRIVER_AREA_GPA;
const INFLATE_PFNS: u64 = DRIVER_AREA_GPA + 0x4000;
const DEFLATE_PFNS: u64 = DRIVER_AREA_GPA + 0x4400;
const STATS_BUFFER: u64 = DRIVER_AREA_GPA + 0x4800;
const REPORT_BLOCKS: u64 = DRIVER_AREA_GPA + 0x5000;
const STATS_LEN: u32 = 10 * BALLOON_STATS_TAGS.len() as u32;

// device configuration: le32 num_pages, le32 actual.
const NUM_PAGES: u64 = 0;
const ACTUAL: u64 = 4;

// Our queue slots (the device's queue numbers are dense over the features).
const INFLATE: usize = 0;
const DEFLATE: usize = 1;
const STATS: usize = 2;
const REPORT: usize = 3;
const QUEUE_NAMES: [&str; 4] = ["inflate", "deflate", "stats", "reporting"];
/// The one setup error after which the next MSI-X mode is tried.
const VECTOR_REFUSED: &str = "MSI-X vector refused (reads back NO_VECTOR)";

struct Balloon {
    /// Set at DRIVER_OK; nothing below is used before.
    live: bool,
    /// The device's mapped structures (kept for `vq-abuse`, which resets and
    /// initializes it again).
    transport: Option<Transport>,
    /// device_status (common configuration) and the device configuration.
    status: u64,
    device: u64,
    /// DEVICE_NEEDS_RESET was reported (once).
    needs_reset: bool,
    features: u64,
    queues: [Queue; 4],
    /// Linux's `vb->num_pages`: pages in the balloon, counting an inflate in
    /// flight and not a deflate in flight.
    pages: u32,
    /// The last value written to `actual`, and read from `num_pages`.
    actual: u32,
    num_pages: u32,
    /// The size work item (Linux's update_balloon_size_work): set by a
    /// configuration change, cleared when the balloon reaches `num_pages` or no
    /// free page is left.
    work: bool,
    /// PFNs in the inflate / deflate buffer in flight.
    inflating: usize,
    deflating: usize,
    /// The deflate in flight is for `oom`.
    deflate_for_oom: bool,
    oom: Option<Oom>,
    report: Option<Report>,
}

#[derive(Clone, Copy)]
struct Oom {
    need: u64,
    released: u64,
}

struct Report {
    cursor: u64,
    blocks: usize,
    ranges: u64,
    pages: u64,
}

/// The BSP only, interrupts disabled. Not in .bss: `probe` resets it (a reset
/// may not reload the image).
static BALLOON: Global<Balloon> = Global::new(Balloon::NONE);

impl Balloon {
    const NONE: Balloon = Balloon {
        live: false,
        transport: None,
        status: 0,
        device: 0,
        needs_reset: false,
        features: 0,
        queues: [Queue::ABSENT; 4],
        pages: 0,
        actual: 0,
        num_pages: 0,
        work: false,
        inflating: 0,
        deflating: 0,
        deflate_for_oom: false,
        oom: None,
        report: None,
    };
}

fn balloon() -> &'static mut Balloon {
    // SAFETY: BSP only, interrupts disabled (boot, interrupt handlers).
    unsafe { BALLOON.get() }
}

/// Finds the balloon on PCI bus 0 and starts the driver; one line when found.
/// `clear_bars`: the CMDLINE_CLEAR_BARS test hook.
pub fn probe(clear_bars: bool) {
    *balloon() = Balloon::NONE;
    if !pci::present() {
        return;
    }
    let Some(function) = pci::find(|f, vendor, device| {
        vendor == VIRTIO_PCI_VENDOR
            && (device == VIRTIO_BALLOON_PCI_DEVICE
                || device == VIRTIO_BALLOON_PCI_DEVICE_TRANSITIONAL)
            && f.read8(pci::HEADER_TYPE) & 0x7f == 0
    }) else {
        return;
    };
    if clear_bars {
        pci::clear_bars(function);
    }
    let b = balloon();
    match b.start(function) {
        Ok(()) => {
            let mut line = Line::new();
            line.str(BALLOON_FOUND)
                .bytes(&function.name())
                .str(" features=")
                .hex(b.features)
                .str(" queues=")
                .dec(b.queues.iter().filter(|q| q.size() != 0).count() as u64)
                .str(" msix=on");
            line.send();
        }
        Err(why) => {
            Line::new()
                .str("virtio-balloon: ")
                .bytes(&function.name())
                .str(": ")
                .str(why)
                .send();
        }
    }
}

impl Balloon {
    /// Device initialization (virtio 1.x section 3.1.1) and the balloon's own
    /// (5.5.5), as Linux orders it; on failure the device is left FAILED.
    fn start(&mut self, function: Function) -> Result<(), &'static str> {
        if !pages::driver_area_usable() {
            return Err("driver area 0x200000-0x2fffff is not RAM");
        }
        let t = Transport::probe(function)?;
        let result = self.init(&t);
        if result.is_err() && t.status() != 0 {
            t.add_status(virtio::STATUS_FAILED);
        }
        self.transport = Some(t);
        result
    }

    /// From reset to DRIVER_OK. The balloon's pages (none at boot) are kept:
    /// `vq-abuse` starts the device again with a balloon.
    fn init(&mut self, t: &Transport) -> Result<(), &'static str> {
        if t.device_cfg_len < 8 {
            return Err("device configuration shorter than 8 bytes");
        }
        t.reset()?;
        self.configure(t)?;
        self.enable_queues(t);
        let pool = pages::pool().ok_or("no page pool")?;
        self.driver_ok(t, pool);
        self.resume(pool);
        Ok(())
    }

    /// After a reset: status ACKNOWLEDGE, DRIVER, features, FEATURES_OK, the
    /// queues and their vectors (not enabled yet).
    fn configure(&mut self, t: &Transport) -> Result<(), &'static str> {
        t.add_status(virtio::STATUS_ACKNOWLEDGE);
        t.add_status(virtio::STATUS_DRIVER);
        let offered = t.device_features();
        if offered & VIRTIO_F_VERSION_1 == 0 {
            return Err("device does not offer VIRTIO_F_VERSION_1");
        }
        let features = offered & BALLOON_FEATURES_ACCEPTED;
        t.set_driver_features(features);
        t.add_status(virtio::STATUS_FEATURES_OK);
        if t.status() & virtio::STATUS_FEATURES_OK == 0 {
            return Err("device did not accept the features (FEATURES_OK clear)");
        }
        self.features = features;

        // Queues, numbered densely over the negotiated features.
        let mut roles = [false; 4];
        roles[INFLATE] = true;
        roles[DEFLATE] = true;
        roles[STATS] = features & BALLOON_F_STATS_VQ != 0;
        roles[REPORT] = features & BALLOON_F_REPORTING != 0;
        let nvqs = roles.iter().filter(|&&r| r).count() as u16;
        // Linux: one vector per queue if the table is large enough, else one
        // shared by all queues; vectors that read back as NO_VECTOR fail the
        // mode. (No INTx fallback here.)
        let apic = crate::lapic::id();
        let modes: [(bool, u16); 2] = [(true, nvqs + 1), (false, 2)];
        let mut last_error = "MSI-X table has fewer than 2 entries";
        let mut done = false;
        for (per_queue, vectors) in modes {
            if t.msix_size < vectors {
                continue;
            }
            let mut cpu_vectors = [BALLOON_QUEUE_VECTOR; 5];
            cpu_vectors[0] = BALLOON_CONFIG_VECTOR;
            t.enable_msix(apic, &cpu_vectors[..usize::from(vectors)]);
            match self.setup_queues(t, &roles, per_queue) {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(why) => {
                    last_error = why;
                    // Undo the vectors (Linux's vp_del_vqs) before the next mode.
                    t.set_config_vector(NO_VECTOR);
                    for q in self.queues.iter().filter(|q| q.size() != 0) {
                        t.set_queue_vector(q.index, NO_VECTOR);
                    }
                    self.queues = [Queue::ABSENT; 4];
                    if why != VECTOR_REFUSED {
                        break;
                    }
                }
            }
        }
        if !done {
            return Err(last_error);
        }
        if roles[REPORT] && self.queues[REPORT].size() < BALLOON_REPORT_ENTRIES as u16 {
            return Err("reporting queue shorter than 32 entries");
        }
        Ok(())
    }

    fn enable_queues(&self, t: &Transport) {
        for q in self.queues.iter().filter(|q| q.size() != 0) {
            t.enable_queue(q.index);
        }
    }

    /// The first stats buffer, DRIVER_OK, the driver is live.
    fn driver_ok(&mut self, t: &Transport, pool: &Pool) {
        self.device = t.device_cfg;
        self.status = t.status_register();
        let stats = self.queues[STATS].size() != 0;
        // The first stats buffer is made available before DRIVER_OK and notified
        // after it (virtio 1.x 5.5.5; Linux notifies before DRIVER_OK).
        if stats {
            self.post_stats(pool);
        }
        t.add_status(virtio::STATUS_DRIVER_OK);
        self.live = true;
        if stats {
            self.queues[STATS].kick();
        }
    }

    /// As Linux's probe: act on a target the device already has.
    fn resume(&mut self, pool: &mut Pool) {
        if self.read_num_pages() != self.pages {
            self.work = true;
            self.step(pool);
        }
    }

    fn setup_queues(
        &mut self,
        t: &Transport,
        roles: &[bool; 4],
        per_queue: bool,
    ) -> Result<(), &'static str> {
        if t.set_config_vector(0) == NO_VECTOR {
            return Err(VECTOR_REFUSED);
        }
        let slots = (0..roles.len()).filter(|&slot| roles[slot]);
        for (index, slot) in (0u16..).zip(slots) {
            let memory = QUEUES_AREA + slot as u64 * QUEUE_MEMORY;
            let q = t.setup_queue(index, memory, BALLOON_QUEUE_SIZE_MAX)?;
            self.queues[slot] = q;
            let vector = if per_queue { index + 1 } else { 1 };
            if t.set_queue_vector(index, vector) == NO_VECTOR {
                return Err(VECTOR_REFUSED);
            }
        }
        Ok(())
    }

    fn read_num_pages(&mut self) -> u32 {
        self.num_pages = virtio::r32(self.device + NUM_PAGES);
        self.num_pages
    }

    /// Linux's update_balloon_size: `actual` = pages in the balloon.
    fn write_actual(&mut self) {
        self.actual = self.pages;
        virtio::w32(self.device + ACTUAL, self.actual);
    }

    fn negotiated(&self, feature: u64) -> bool {
        self.features & feature != 0
    }

    /// Starts the next request if none is in flight: an OOM deflate first, then
    /// the size work (Linux's update_balloon_size_func, one batch per call).
    fn step(&mut self, pool: &mut Pool) {
        if self.queues[INFLATE].in_flight || self.queues[DEFLATE].in_flight {
            return;
        }
        if let Some(oom) = self.oom {
            if pool.free < oom.need && self.leak(pool, BALLOON_OOM_PAGES as usize, true) {
                return;
            }
            // Enough is free, or nothing more can be released.
            print_oom(oom.need, pool.free, oom.released);
            self.oom = None;
        }
        if !self.work {
            return;
        }
        let target = i64::from(self.read_num_pages());
        let diff = target - i64::from(self.pages);
        let started = if diff > 0 {
            self.fill(pool, diff.min(BALLOON_PFNS_PER_BUFFER as i64) as usize)
        } else if diff < 0 {
            self.leak(
                pool,
                (-diff).min(BALLOON_PFNS_PER_BUFFER as i64) as usize,
                false,
            )
        } else {
            false
        };
        // Done, out of free pages ("Out of puff"), or a broken queue: the work
        // stops until the next configuration change.
        self.work = started;
    }

    /// Inflates by up to `n` free pages (Linux's fill_balloon).
    fn fill(&mut self, pool: &mut Pool, n: usize) -> bool {
        if !self.queues[INFLATE].usable() {
            return false;
        }
        let got = pool.take_free(INFLATE_PFNS, n);
        if got == 0 {
            return false;
        }
        self.pages += got as u32;
        self.inflating = got;
        let q = &mut self.queues[INFLATE];
        q.post(1, |_| (INFLATE_PFNS, 4 * got as u32, false));
        q.kick();
        true
    }

    /// Deflates by up to `n` pages (Linux's leak_balloon).
    fn leak(&mut self, pool: &mut Pool, n: usize, for_oom: bool) -> bool {
        if !self.queues[DEFLATE].usable() {
            return false;
        }
        let got = pool.take_ballooned(DEFLATE_PFNS, n.min(self.pages as usize));
        if got == 0 {
            return false;
        }
        self.pages -= got as u32;
        self.deflating = got;
        self.deflate_for_oom = for_oom;
        let q = &mut self.queues[DEFLATE];
        q.post(1, |_| (DEFLATE_PFNS, 4 * got as u32, false));
        q.kick();
        true
    }

    /// Fills the stats buffer and makes it available (not notified).
    fn post_stats(&mut self, pool: &Pool) {
        let values = stats(self, pool);
        for (i, (tag, value)) in BALLOON_STATS_TAGS.iter().zip(values).enumerate() {
            let at = STATS_BUFFER + 10 * i as u64;
            // SAFETY: the stats buffer in the driver area (the device holds no
            // buffer of ours while we write it).
            unsafe {
                (at as *mut u16).write_unaligned(*tag);
                ((at + 2) as *mut u64).write_unaligned(value);
            }
        }
        self.queues[STATS].post(1, |_| (STATS_BUFFER, STATS_LEN, false));
    }

    fn reap(&mut self, slot: usize) -> bool {
        match self.queues[slot].reap() {
            Ok(done) => done,
            Err(why) => {
                Line::new()
                    .str("virtio-balloon: ")
                    .str(QUEUE_NAMES[slot])
                    .str(" queue broken: ")
                    .str(why)
                    .send();
                false
            }
        }
    }

    fn on_used(&mut self, pool: &mut Pool) {
        if self.reap(INFLATE) {
            pool.put_balloon(INFLATE_PFNS, self.inflating);
            self.inflating = 0;
            self.write_actual();
        }
        if self.reap(DEFLATE) {
            pool.put_free(DEFLATE_PFNS, self.deflating);
            if self.deflate_for_oom {
                if let Some(oom) = self.oom.as_mut() {
                    oom.released += self.deflating as u64;
                }
            }
            self.deflating = 0;
            self.write_actual();
        }
        if self.reap(STATS) {
            // The device wants fresh statistics.
            self.post_stats(pool);
            self.queues[STATS].kick();
        }
        if self.reap(REPORT) {
            let report = self.report.as_mut().map(|r| core::mem::take(&mut r.blocks));
            if let Some(blocks) = report {
                pool.put_blocks(REPORT_BLOCKS, blocks);
            }
            self.report_next(pool);
        }
        self.step(pool);
    }

    /// Sends the next report request, or ends the run with its reply line.
    fn report_next(&mut self, pool: &mut Pool) {
        let Some(report) = self.report.as_mut() else {
            return;
        };
        let n = pool.take_blocks(REPORT_BLOCKS, BALLOON_REPORT_ENTRIES, &mut report.cursor);
        if n == 0 || !self.queues[REPORT].usable() {
            pool.put_blocks(REPORT_BLOCKS, n);
            Line::new()
                .str("report: ranges=")
                .dec(report.ranges)
                .str(" pages=")
                .dec(report.pages)
                .send();
            self.report = None;
            return;
        }
        report.pages += (0..n as u64)
            .map(|i| pages::block(REPORT_BLOCKS, i).1)
            .sum::<u64>();
        report.ranges += n as u64;
        report.blocks = n;
        // Device-writable buffers: the free memory itself (as Linux's
        // virtqueue_add_inbuf and QEMU's virtio_balloon_handle_report).
        let q = &mut self.queues[REPORT];
        if q.post(n, |i| {
            let (pfn, pages) = pages::block(REPORT_BLOCKS, i as u64);
            (pfn << 12, (pages << 12) as u32, true)
        }) {
            q.kick();
        }
    }
}

/// The statistics in BALLOON_STATS_TAGS order: swap in/out and major faults 0,
/// minor faults = pages first touched, hugetlb 0 and 0, free = free pool pages,
/// total = e820 RAM (less the balloon unless deflate-on-oom, as Linux's
/// totalram), available = free, disk caches 0.
fn stats(b: &Balloon, p: &Pool) -> [u64; 10] {
    let (free, total, faults) = (p.free * 4096, p.ram_bytes, p.minor_faults);
    let total = if b.negotiated(BALLOON_F_DEFLATE_ON_OOM) {
        total
    } else {
        total.saturating_sub(u64::from(b.pages) * 4096)
    };
    [0, 0, 0, faults, 0, 0, free, total, free, 0]
}

fn print_oom(need: u64, free: u64, released: u64) {
    Line::new()
        .str("oom: need=")
        .dec(need)
        .str(" free=")
        .dec(free)
        .str(" released=")
        .dec(released)
        .send();
}

/// MSI-X configuration-change vector: a new `num_pages`.
pub fn on_config_interrupt() {
    let b = balloon();
    if let (true, Some(pool)) = (b.live, pages::pool()) {
        // Linux does nothing about DEVICE_NEEDS_RESET; a line makes it visible.
        let status = virtio::r8(b.status);
        if status & virtio::STATUS_NEEDS_RESET != 0 && !b.needs_reset {
            b.needs_reset = true;
            Line::new()
                .str("virtio-balloon: device needs reset (status ")
                .hex(status.into())
                .str(")")
                .send();
        }
        b.work = true;
        b.step(pool);
    }
}

/// MSI-X queue vector(s): reap every queue (one handler serves per-queue and
/// shared vectors).
pub fn on_queue_interrupt() {
    let b = balloon();
    if let (true, Some(pool)) = (b.live, pages::pool()) {
        b.on_used(pool);
    }
}

/// `balloon`
pub fn command_status() {
    let b = balloon();
    if !b.live {
        return crate::line::println("balloon: no device");
    }
    let num_pages = b.read_num_pages();
    Line::new()
        .str("balloon: pages=")
        .dec(b.pages.into())
        .str(" actual=")
        .dec(b.actual.into())
        .str(" num_pages=")
        .dec(num_pages.into())
        .send();
}

/// `stats`: what the next stats buffer would hold, with QEMU's names.
pub fn command_stats() {
    const NAMES: [&str; 10] = [
        "swap-in",
        "swap-out",
        "major-faults",
        "minor-faults",
        "free-memory",
        "total-memory",
        "available-memory",
        "disk-caches",
        "htlb-pgalloc",
        "htlb-pgfail",
    ];
    let Some(pool) = pages::pool() else {
        return crate::line::println("stats: no page pool");
    };
    let values = stats(balloon(), pool);
    let mut line = Line::new();
    line.str("stats:");
    for (tag, name) in NAMES.iter().enumerate() {
        let i = BALLOON_STATS_TAGS
            .iter()
            .position(|&t| usize::from(t) == tag)
            .unwrap_or(0);
        line.str(" ").str(name).str("=").dec(values[i]);
    }
    line.send();
}

/// `oom <MiB>`: the guest needs that much free memory. With deflate-on-oom
/// negotiated, the balloon gives back 256 pages at a time (Linux's OOM
/// notifier) until enough is free or it is empty; the size work stops (it
/// would take the memory back) until the next configuration change. The reply
/// comes when done.
pub fn command_oom(mib: u64) {
    let Some(pool) = pages::pool() else {
        return crate::line::println("oom: no page pool");
    };
    let need = mib.saturating_mul(256);
    let b = balloon();
    if b.oom.is_some() {
        return crate::line::println("oom: busy");
    }
    if !b.live || pool.free >= need || !b.negotiated(BALLOON_F_DEFLATE_ON_OOM) {
        return print_oom(need, pool.free, 0);
    }
    b.work = false;
    b.oom = Some(Oom { need, released: 0 });
    b.step(pool);
}

/// `report`: reports every free 2/4 MiB block, 32 per request; the reply
/// comes when done.
pub fn command_report() {
    let b = balloon();
    if !b.live {
        return crate::line::println("report: no device");
    }
    if !b.negotiated(BALLOON_F_REPORTING) {
        return crate::line::println("report: not negotiated");
    }
    if b.report.is_some() {
        return crate::line::println("report: busy");
    }
    let Some(pool) = pages::pool() else {
        return crate::line::println("report: no page pool");
    };
    b.report = Some(Report {
        cursor: 0,
        blocks: 0,
        ranges: 0,
        pages: 0,
    });
    b.report_next(pool);
}

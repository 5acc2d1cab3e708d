//! `vq-abuse <kind>`: the driver misbehaves on purpose, on the live device,
//! through its real rings and notify register, and reports in one line what the
//! device did. A test of the host: a device may mark itself broken
//! (DEVICE_NEEDS_RESET, with a configuration interrupt once DRIVER_OK is set)
//! or ignore the bad request (returning the buffer), but must neither crash nor
//! touch memory the request did not name.
//!
//! Afterwards the driver goes on as before when it can: the queue's indices are
//! taken as the device left them. When the device needs a reset, or the kind
//! leaves the rings in a state the driver cannot know (`bad-avail`, `bad-head`)
//! or resets the device itself (`early-notify`, `ring-outside`), the device is
//! reset and initialized again, keeping the balloon's pages.
//!
//! Buffers the abuse names live at 0x208000-0x20ffff (the driver area, unused
//! by the driver). A "victim" is one free pool page taken out of the pool for
//! the abuse, named in its PFN lists: the device may discard it (its contents
//! are then zero) or not; it is refilled with the `fill` pattern if it had it
//! and given back, so that `check` sees every page as before.

use core::arch::asm;

use super::{balloon, Balloon, ACTUAL, DEFLATE, INFLATE, STATS};
use crate::abi::{BALLOON_CONFIG_VECTOR, DRIVER_AREA_GPA, FILL_TAG, MMIO_EXEC_GPA};
use crate::line::{println, Line};
use crate::pages::{self, Pool};
use crate::start_info::E820_RAM;
use crate::virtio::{self, Queue, Transport, DESC_NEXT, DESC_WRITE, STATUS_NEEDS_RESET};
use crate::x86::rdtsc;

const AREA: u64 = DRIVER_AREA_GPA + 0x8000;
/// Up to 1024 PFNs (le32).
const PFNS: u64 = AREA;
/// A stats buffer of up to 4 KiB.
const STATS_BAD: u64 = AREA + 0x1000;
/// Indirect descriptor tables (up to 0x6000 bytes).
const TABLE: u64 = AREA + 0x2000;
/// VIRTQ_DESC_F_INDIRECT (the driver does not negotiate VIRTIO_F_INDIRECT_DESC).
const DESC_INDIRECT: u16 = 4;
/// Inside the PCI hole, not RAM.
const PCI_HOLE: u64 = MMIO_EXEC_GPA;
/// How long the device has to answer (TSC ticks, about 0.7-1 s: only a device
/// that neither answers nor needs a reset costs it), and how long nothing must
/// happen (about 40-60 ms).
const REPLY_TICKS: u64 = 1 << 31;
const QUIET_TICKS: u64 = 1 << 27;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Loop,
    Outside,
    Overlong,
    WriteOnly,
    Unaligned,
    PfnBeyond,
    StatsSize,
    EarlyNotify,
    BadAvail,
    BadHead,
    RingOutside,
    Indirect,
}

const KINDS: [(&str, Kind); 12] = [
    ("loop", Kind::Loop),
    ("outside", Kind::Outside),
    ("overlong", Kind::Overlong),
    ("writeonly", Kind::WriteOnly),
    ("unaligned", Kind::Unaligned),
    ("pfn-beyond", Kind::PfnBeyond),
    ("stats-size", Kind::StatsSize),
    ("early-notify", Kind::EarlyNotify),
    ("bad-avail", Kind::BadAvail),
    ("bad-head", Kind::BadHead),
    ("ring-outside", Kind::RingOutside),
    ("indirect", Kind::Indirect),
];

/// A descriptor: (table index, address, length, flags, next).
type Desc = (u16, u64, u32, u16, u16);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Contents {
    Pattern,
    Zero,
    Other,
}

#[derive(Default)]
struct Obs {
    /// The device status after each variant, or-ed.
    status: u8,
    /// Used entries the device returned.
    used: u64,
    variants: u64,
    /// Variants after which DEVICE_NEEDS_RESET was set.
    resets: u64,
    /// A used entry whose id was not the head the device had to return.
    bad_ids: bool,
    /// The kind reset the device itself or left the rings unknown: initialize
    /// again whatever the status says.
    reinit: bool,
    /// early-notify: (status, used entries) before DRIVER_OK.
    before_driver_ok: Option<(u8, u64)>,
    victim: Option<(u32, Contents)>,
    /// The reset or initialization failed half-way (the device is FAILED).
    failed: bool,
}

impl Obs {
    /// Ends a variant: false if the device needs a reset now (no more variants).
    fn note(&mut self, t: &Transport) -> bool {
        let status = t.status();
        self.status |= status;
        self.variants += 1;
        if status & STATUS_NEEDS_RESET != 0 {
            self.resets += 1;
            return false;
        }
        true
    }
}

/// `vq-abuse <kind>`
pub fn command(kind: &[u8]) {
    let Some(&(name, kind)) = KINDS.iter().find(|(n, _)| n.as_bytes() == kind) else {
        let mut line = Line::new();
        line.str("vq-abuse: unknown kind ")
            .bytes(kind)
            .str(" (kinds:");
        for (n, _) in KINDS {
            line.str(" ").str(n);
        }
        line.str(")").send();
        return;
    };
    let b = balloon();
    let Some(pool) = pages::pool() else {
        return println("vq-abuse: no page pool");
    };
    if !b.live || b.transport.is_none() {
        return println("vq-abuse: no device");
    }
    let idle = !b.queues[INFLATE].in_flight
        && !b.queues[DEFLATE].in_flight
        && b.queues[INFLATE].usable()
        && b.queues[DEFLATE].usable()
        && b.oom.is_none()
        && b.report.is_none();
    if !idle {
        return println("vq-abuse: busy (a request is in flight or a queue is broken)");
    }
    if kind == Kind::StatsSize && !(b.queues[STATS].usable() && b.queues[STATS].in_flight) {
        return println("vq-abuse: no stats queue");
    }
    let Some(t) = b.transport.take() else {
        return;
    };
    let mut o = Obs::default();
    let ram_end = ram_end();
    if matches!(
        kind,
        Kind::Loop
            | Kind::Overlong
            | Kind::WriteOnly
            | Kind::Unaligned
            | Kind::EarlyNotify
            | Kind::Indirect
    ) {
        o.victim = take_victim(pool);
    }
    let victim = o.victim.map_or(0, |(pfn, _)| pfn);
    match kind {
        Kind::Loop => loops(b, &t, &mut o, victim),
        Kind::Outside => outside(b, &t, &mut o, ram_end),
        Kind::Overlong => overlong(b, &t, &mut o, victim),
        Kind::WriteOnly => write_only(b, &t, &mut o, victim),
        Kind::Unaligned => unaligned(b, &t, &mut o, victim),
        Kind::PfnBeyond => pfn_beyond(b, &t, &mut o, ram_end),
        Kind::StatsSize => stats_size(b, &t, &mut o, pool),
        Kind::EarlyNotify => early_notify(b, &t, &mut o, pool, victim),
        Kind::BadAvail => bad_avail(b, &t, &mut o),
        Kind::BadHead => bad_head(b, &t, &mut o),
        Kind::RingOutside => ring_outside(b, &t, &mut o, ram_end),
        Kind::Indirect => indirect(b, &t, &mut o, victim),
    }
    let needs_reset = o.status & STATUS_NEEDS_RESET != 0;
    // The configuration interrupt comes after the status bit: give it a moment.
    let start = rdtsc();
    while needs_reset
        && !crate::lapic::pending(BALLOON_CONFIG_VECTOR)
        && rdtsc().wrapping_sub(start) < QUIET_TICKS
    {}
    let config_irq = crate::lapic::pending(BALLOON_CONFIG_VECTOR);
    let actual = virtio::r32(t.device_cfg + ACTUAL);
    let recovery = if o.failed || needs_reset || o.reinit || t.status() & STATUS_NEEDS_RESET != 0 {
        if restart(b, &t, pool) {
            "reset"
        } else {
            "failed"
        }
    } else {
        "none"
    };
    let victim_after = o.victim.map(|(pfn, before)| give_back(pool, pfn, before));
    let final_status = t.status();
    b.transport = Some(t);

    let mut line = Line::new();
    line.str("vq-abuse ")
        .str(name)
        .str(": status=")
        .hex(o.status.into())
        .str(" used=")
        .dec(o.used)
        .str(" needs_reset=")
        .str(yes(needs_reset))
        .str(" config_irq=")
        .str(yes(config_irq))
        .str(" actual=")
        .dec(actual.into())
        .str(" variants=")
        .dec(o.variants)
        .str(" resets=")
        .dec(o.resets)
        .str(" ids=")
        .str(if o.bad_ids { "bad" } else { "ok" })
        .str(" victim=")
        .str(match victim_after {
            None => "none",
            Some(Contents::Pattern) => "pattern",
            Some(Contents::Zero) => "zero",
            Some(Contents::Other) => "other",
        });
    if let Some((status, used)) = o.before_driver_ok {
        line.str(" before_driver_ok_status=")
            .hex(status.into())
            .str(" before_driver_ok_used=")
            .dec(used);
    }
    line.str(" recovery=")
        .str(recovery)
        .str(" final=")
        .hex(final_status.into())
        .send();
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The end of the highest e820 RAM range.
fn ram_end() -> u64 {
    pages::memory_map()
        .iter()
        .filter(|r| r.kind == E820_RAM)
        .map(|r| r.addr.saturating_add(r.size))
        .max()
        .unwrap_or(0)
}

fn write_pfns(pfns: &[u32]) {
    for (i, &pfn) in pfns.iter().enumerate() {
        // SAFETY: the abuse area (1024 PFNs).
        unsafe { ((PFNS + 4 * i as u64) as *mut u32).write_volatile(pfn) };
    }
}

/// Waits until `q`'s used index is `want` past `from`, the device needs a
/// reset, or `ticks` passed; returns how far it moved.
fn wait_used(t: &Transport, q: &Queue, from: u16, want: u16, ticks: u64) -> u16 {
    let start = rdtsc();
    loop {
        let moved = q.used_idx().wrapping_sub(from);
        if moved >= want
            || t.status() & STATUS_NEEDS_RESET != 0
            || rdtsc().wrapping_sub(start) > ticks
        {
            return q.used_idx().wrapping_sub(from);
        }
    }
}

/// One request on queue `slot`: the descriptors, then `head` made available and
/// notified; waits for a used entry, which must be `expect_id`. False if the
/// device needs a reset (no more variants).
fn request(
    b: &mut Balloon,
    t: &Transport,
    o: &mut Obs,
    slot: usize,
    descs: &[Desc],
    head: u16,
    expect_id: u16,
) -> bool {
    let q = &mut b.queues[slot];
    for &(i, addr, len, flags, next) in descs {
        q.write_desc(i, addr, len, flags, next);
    }
    q.push_head(head);
    submit(b, t, o, slot, expect_id)
}

/// Notifies queue `slot` (whose new request is available) and waits for one
/// used entry, which must be `expect_id`. False if the device needs a reset.
fn submit(b: &mut Balloon, t: &Transport, o: &mut Obs, slot: usize, expect_id: u16) -> bool {
    let q = &mut b.queues[slot];
    let from = q.last_used();
    q.notify_now();
    let moved = wait_used(t, q, from, 1, REPLY_TICKS);
    o.used += u64::from(moved);
    if moved > 1 || (moved == 1 && q.used_id(from) != u32::from(expect_id)) {
        o.bad_ids = true;
    }
    q.sync_used();
    o.note(t)
}

/// Descriptor 0 → 0; then 0 → 1 → 2 → 0. Each names the victim.
fn loops(b: &mut Balloon, t: &Transport, o: &mut Obs, victim: u32) {
    write_pfns(&[victim]);
    let _ = request(b, t, o, INFLATE, &[(0, PFNS, 4, DESC_NEXT, 0)], 0, 0)
        && request(
            b,
            t,
            o,
            INFLATE,
            &[
                (0, PFNS, 4, DESC_NEXT, 1),
                (1, PFNS, 4, DESC_NEXT, 2),
                (2, PFNS, 4, DESC_NEXT, 0),
            ],
            0,
            0,
        );
}

/// Buffers in the PCI hole, just beyond RAM, straddling its end (the last 8
/// bytes of RAM hold the last page's own PFN under `fill`: a device that read
/// the part inside RAM would discard that page), at the top of the address
/// space, and a chain whose first buffer is in the PCI hole.
fn outside(b: &mut Balloon, t: &Transport, o: &mut Obs, ram_end: u64) {
    let variants: [&[Desc]; 5] = [
        &[(0, PCI_HOLE, 4, 0, 0)],
        &[(0, ram_end, 1024, 0, 0)],
        &[(0, ram_end - 8, 12, 0, 0)],
        &[(0, u64::MAX - 3, 8, 0, 0)],
        &[(0, PCI_HOLE, 1024, DESC_NEXT, 1), (1, ram_end, 4, 0, 0)],
    ];
    for descs in variants {
        if !request(b, t, o, INFLATE, descs, 0, 0) {
            return;
        }
    }
}

/// Length 0xffffffff on the victim's PFN; then two such descriptors in a chain.
fn overlong(b: &mut Balloon, t: &Transport, o: &mut Obs, victim: u32) {
    write_pfns(&[victim]);
    let _ = request(b, t, o, INFLATE, &[(0, PFNS, u32::MAX, 0, 0)], 0, 0)
        && request(
            b,
            t,
            o,
            INFLATE,
            &[(0, PFNS, u32::MAX, DESC_NEXT, 1), (1, PFNS, u32::MAX, 0, 0)],
            0,
            0,
        );
}

/// The victim's PFN in a device-writable buffer, on the inflate then the
/// deflate queue.
fn write_only(b: &mut Balloon, t: &Transport, o: &mut Obs, victim: u32) {
    write_pfns(&[victim]);
    let _ = request(b, t, o, INFLATE, &[(0, PFNS, 4, DESC_WRITE, 0)], 0, 0)
        && request(b, t, o, DEFLATE, &[(0, PFNS, 4, DESC_WRITE, 0)], 0, 0);
}

/// Lengths 6, 2 and 1023 over a list of the victim's PFN.
fn unaligned(b: &mut Balloon, t: &Transport, o: &mut Obs, victim: u32) {
    for i in 0..256 {
        // SAFETY: the abuse area (1024 PFNs).
        unsafe { ((PFNS + 4 * i) as *mut u32).write_volatile(victim) };
    }
    for len in [6, 2, 1023] {
        if !request(b, t, o, INFLATE, &[(0, PFNS, len, 0, 0)], 0, 0) {
            return;
        }
    }
}

/// PFNs just beyond RAM, in the PCI hole, at and above 4 GiB, 0xffffffff: on
/// the inflate queue, then the deflate queue.
fn pfn_beyond(b: &mut Balloon, t: &Transport, o: &mut Obs, ram_end: u64) {
    let end = (ram_end >> 12) as u32;
    write_pfns(&[
        end,
        end + 1,
        (PCI_HOLE >> 12) as u32,
        0xfffff,
        0x10_0000,
        0xffff_fffe,
        u32::MAX,
    ]);
    let _ = request(b, t, o, INFLATE, &[(0, PFNS, 28, 0, 0)], 0, 0)
        && request(b, t, o, DEFLATE, &[(0, PFNS, 28, 0, 0)], 0, 0);
}

/// Stats buffers of 1, 7 and 4096 bytes (the real statistics first, then
/// records with unknown tags), each followed by a good one, as the protocol
/// goes: a new buffer makes the device return the one it held. The good buffer
/// is descriptor 0 (the driver's), the bad one descriptor 1.
fn stats_size(b: &mut Balloon, t: &Transport, o: &mut Obs, pool: &Pool) {
    // SAFETY: the driver's stats buffer (not the device's to write) and the
    // abuse area.
    unsafe {
        core::ptr::write_bytes(STATS_BAD as *mut u8, 0xff, 4096);
        core::ptr::copy_nonoverlapping(
            super::STATS_BUFFER as *const u8,
            STATS_BAD as *mut u8,
            super::STATS_LEN as usize,
        );
    }
    for len in [1, 7, 4096] {
        // The device holds descriptor 0: it returns it.
        if !request(b, t, o, STATS, &[(1, STATS_BAD, len, 0, 0)], 1, 0) {
            return;
        }
        // A fresh good buffer in descriptor 0 (as the driver posts it): the
        // bad one comes back, the device holds ours, in flight as before.
        b.queues[STATS].set_in_flight(false);
        b.post_stats(pool);
        if !submit(b, t, o, STATS, 1) {
            return;
        }
    }
}

/// Reset; notify every queue (status 0); ACKNOWLEDGE..FEATURES_OK and the
/// queues; notify them again; enable them; make a deflate request of the victim
/// available and notify it. Nothing may be used before DRIVER_OK. Then
/// DRIVER_OK: the device may now take the request.
fn early_notify(b: &mut Balloon, t: &Transport, o: &mut Obs, pool: &mut Pool, victim: u32) {
    o.reinit = true;
    let old = b.queues;
    stop_driver(b);
    if t.reset().is_err() {
        o.failed = true;
        return;
    }
    for q in &old {
        q.notify_now();
    }
    if b.configure(t).is_err() {
        o.failed = true;
        return;
    }
    for q in &b.queues {
        q.notify_now();
    }
    b.enable_queues(t);
    write_pfns(&[victim]);
    let q = &mut b.queues[DEFLATE];
    q.write_desc(0, PFNS, 4, 0, 0);
    q.push_head(0);
    q.notify_now();
    let before = wait_used(t, q, 0, 1, QUIET_TICKS);
    o.before_driver_ok = Some((t.status(), before.into()));
    b.driver_ok(t, pool);
    let q = &mut b.queues[DEFLATE];
    let moved = wait_used(t, q, 0, 1, REPLY_TICKS);
    o.used = moved.into();
    if moved > 1 || (moved == 1 && q.used_id(0) != 0) {
        o.bad_ids = true;
    }
    q.sync_used();
    if o.note(t) {
        // Up and running: no second initialization.
        o.reinit = false;
        b.resume(pool);
    }
}

/// Descriptor 16-byte entry at `at` (an indirect table).
fn write_entry(at: u64, addr: u64, len: u32, flags: u16, next: u16) {
    // SAFETY: the abuse area.
    unsafe {
        (at as *mut u64).write_volatile(addr);
        ((at + 8) as *mut u32).write_volatile(len);
        ((at + 12) as *mut u16).write_volatile(flags);
        ((at + 14) as *mut u16).write_volatile(next);
    }
}

/// VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC: a table naming the
/// victim; a table in the PCI hole; one of length 0xfffffff0 (more than 65535
/// entries); one whose entry is itself indirect (nested); one of 1024 entries
/// whose first loops to itself; a table (in RAM) that runs past the end of RAM.
fn indirect(b: &mut Balloon, t: &Transport, o: &mut Obs, victim: u32) {
    write_pfns(&[victim]);
    for variant in 0..6u32 {
        let (table, len) = match variant {
            0 => (TABLE, 16),
            1 => (PCI_HOLE, 16),
            2 => (TABLE, 0xffff_fff0),
            3 => (TABLE, 16),
            4 => (TABLE, 16 * 1024),
            _ => (ram_end() - 16, 64),
        };
        match variant {
            0 | 2 | 5 => write_entry(TABLE, PFNS, 4, 0, 0),
            3 => write_entry(TABLE, TABLE, 16, DESC_INDIRECT, 0),
            4 => write_entry(TABLE, PFNS, 4, DESC_NEXT, 0),
            _ => {}
        }
        if !request(b, t, o, INFLATE, &[(0, table, len, DESC_INDIRECT, 0)], 0, 0) {
            return;
        }
    }
}

/// avail.idx moved by queue size + 1, then (if ignored) by 0x8000, without
/// ring entries.
fn bad_avail(b: &mut Balloon, t: &Transport, o: &mut Obs) {
    o.reinit = true;
    let size = b.queues[INFLATE].size();
    for jump in [size + 1, 0x8000] {
        let q = &b.queues[INFLATE];
        let from = q.last_used();
        q.write_avail_idx(q.next_avail().wrapping_add(jump));
        q.notify_now();
        let moved = wait_used(t, q, from, 1, REPLY_TICKS);
        o.used += u64::from(moved);
        if !o.note(t) {
            return;
        }
    }
}

/// A head index equal to the queue size, then (if ignored) 0xffff.
fn bad_head(b: &mut Balloon, t: &Transport, o: &mut Obs) {
    o.reinit = true;
    let size = b.queues[INFLATE].size();
    for head in [size, u16::MAX] {
        let q = &mut b.queues[INFLATE];
        let from = q.last_used();
        q.push_head(head);
        q.notify_now();
        let moved = wait_used(t, q, from, 1, REPLY_TICKS);
        o.used += u64::from(moved);
        q.sync_used();
        if !o.note(t) {
            return;
        }
    }
}

/// The inflate queue's rings placed outside RAM before it is enabled: the
/// descriptor table in the PCI hole, the used ring straddling the end of RAM,
/// the available ring beyond it. Each time: enable, DRIVER_OK, notify.
fn ring_outside(b: &mut Balloon, t: &Transport, o: &mut Obs, ram_end: u64) {
    o.reinit = true;
    for variant in 0..3 {
        stop_driver(b);
        if t.reset().is_err() || b.configure(t).is_err() {
            o.failed = true;
            return;
        }
        let q = b.queues[INFLATE];
        let (desc, avail, used) = q.rings();
        let rings = match variant {
            0 => (PCI_HOLE, avail, used),
            1 => (desc, avail, ram_end - 8),
            _ => (desc, ram_end, used),
        };
        t.set_queue_rings(q.index, rings.0, rings.1, rings.2);
        b.enable_queues(t);
        t.add_status(virtio::STATUS_DRIVER_OK);
        q.notify_now();
        // Nothing to wait for but a NEEDS_RESET (the used ring may not be RAM).
        let start = rdtsc();
        while t.status() & STATUS_NEEDS_RESET == 0 && rdtsc().wrapping_sub(start) < QUIET_TICKS {}
        o.note(t);
    }
}

/// The driver forgets its queues (the device is about to be reset).
fn stop_driver(b: &mut Balloon) {
    b.live = false;
    b.work = false;
    b.needs_reset = false;
    b.queues = [Queue::ABSENT; 4];
}

/// Reset and initialize again, keeping the balloon's pages (as `init`).
fn restart(b: &mut Balloon, t: &Transport, pool: &mut Pool) -> bool {
    stop_driver(b);
    if t.reset().is_err() || b.configure(t).is_err() {
        if t.status() != 0 {
            t.add_status(virtio::STATUS_FAILED);
        }
        return false;
    }
    b.enable_queues(t);
    b.driver_ok(t, pool);
    b.resume(pool);
    true
}

/// Takes the lowest free page out of the pool (its PFN at PFNS) and notes what
/// it holds.
fn take_victim(pool: &mut Pool) -> Option<(u32, Contents)> {
    if pool.take_free(PFNS, 1) != 1 {
        return None;
    }
    // SAFETY: written by take_free.
    let pfn = unsafe { (PFNS as *const u32).read_volatile() };
    Some((pfn, contents(pfn)))
}

/// What the victim holds now; refilled if it had the pattern, then free again.
fn give_back(pool: &mut Pool, pfn: u32, before: Contents) -> Contents {
    let now = contents(pfn);
    if before == Contents::Pattern && now != Contents::Pattern {
        // SAFETY: the victim page, out of the pool (nothing else uses it).
        unsafe {
            asm!("rep stosq", inout("rdi") u64::from(pfn) << 12 => _,
                 inout("rcx") 512u64 => _, in("rax") FILL_TAG | u64::from(pfn),
                 options(nostack, preserves_flags))
        };
    }
    write_pfns(&[pfn]);
    pool.put_free(PFNS, 1);
    now
}

fn contents(pfn: u32) -> Contents {
    let addr = u64::from(pfn) << 12;
    if all_equal(addr, FILL_TAG | u64::from(pfn)) {
        Contents::Pattern
    } else if all_equal(addr, 0) {
        Contents::Zero
    } else {
        Contents::Other
    }
}

/// Whether every qword of the page at `addr` is `value` (one `repe scasq`).
fn all_equal(addr: u64, value: u64) -> bool {
    let equal: u8;
    // SAFETY: reads the page (identity-mapped RAM of the pool).
    unsafe {
        asm!("repe scasq", "sete {e}", e = out(reg_byte) equal,
             inout("rdi") addr => _, inout("rcx") 512u64 => _, in("rax") value,
             options(nostack, readonly))
    };
    equal != 0
}

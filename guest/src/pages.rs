//! The page pool: the e820 RAM pages from POOL_START_GPA up to POOL_END_LIMIT,
//! which nothing else in the guest uses. Three bitmaps in the driver area, one bit
//! per 4 KiB page (bit i of word w = page `base_pfn + 64w + i`):
//!
//! - `free`: the page is free (`fill`/`touch`/`check` work on these pages; the
//!   balloon inflates and reports from them);
//! - `balloon`: the page is in the balloon, the device has acknowledged it;
//! - `dirty`: the guest wrote the page since it last gave it to the host (it is
//!   backed by host memory): `fill` and `touch` count first touches of pages as
//!   the "minor faults" statistic; inflating or reporting a page clears its bit.
//!
//! A page on its way to or from the device (in an inflate, deflate or report
//! buffer) is in neither `free` nor `balloon`. The scans run at CPL3 (src/user.rs).

use crate::abi::{DRIVER_AREA_END, DRIVER_AREA_GPA, FILL_TAG, POOL_END_LIMIT, POOL_START_GPA};
use crate::global::Global;
use crate::start_info::{StartInfo, E820_RAM};
use crate::user::{self, Helper, Op};

const PAGE: u64 = 4096;
/// Bitmaps: room for every page of the pool (POOL_END_LIMIT bounds it).
const MAP_BYTES: u64 = 0x2_0000;
const FREE_MAP: u64 = DRIVER_AREA_GPA + 0x1_0000;
const BALLOON_MAP: u64 = FREE_MAP + MAP_BYTES;
const DIRTY_MAP: u64 = BALLOON_MAP + MAP_BYTES;
const _: () = assert!(DIRTY_MAP + MAP_BYTES <= DRIVER_AREA_END);
const _: () = assert!((POOL_END_LIMIT - POOL_START_GPA) / PAGE / 8 <= MAP_BYTES);
/// The helpers' parameter block.
const OP: u64 = DRIVER_AREA_GPA + 0x4c00;

/// The e820 map as start_info gave it (up to 32 entries), kept for later use.
#[derive(Clone, Copy)]
pub struct Range {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
}

const MAX_RANGES: usize = 32;

struct Map {
    ranges: [Range; MAX_RANGES],
    len: usize,
}

/// Written by the BSP at boot, read-only afterwards.
static MAP: Global<Map> = Global::new(Map {
    ranges: [Range {
        addr: 0,
        size: 0,
        kind: 0,
    }; MAX_RANGES],
    len: 0,
});

/// Keeps the e820 map (the balloon and the commands need it after boot).
pub fn save_memory_map(info: &StartInfo) {
    // SAFETY: the BSP alone, at boot.
    let map = unsafe { MAP.get() };
    map.len = 0;
    for e in info.e820().filter(|e| e.size != 0).take(MAX_RANGES) {
        map.ranges[map.len] = Range {
            addr: e.addr,
            size: e.size,
            kind: e.kind,
        };
        map.len += 1;
    }
}

pub fn memory_map() -> &'static [Range] {
    // SAFETY: not written after boot.
    let map = unsafe { MAP.get() };
    &map.ranges[..map.len]
}

/// Whether [start, start + len) lies in one e820 RAM entry.
pub fn is_ram(start: u64, len: u64) -> bool {
    memory_map().iter().any(|r| {
        r.kind == E820_RAM && r.addr <= start && start + len <= r.addr.saturating_add(r.size)
    })
}

/// Whether the driver area (the bitmaps and the virtqueues) can be used.
pub fn driver_area_usable() -> bool {
    is_ram(DRIVER_AREA_GPA, DRIVER_AREA_END - DRIVER_AREA_GPA)
}

pub struct Pool {
    ready: bool,
    base_pfn: u64,
    words: u64,
    /// Pages in `free`.
    pub free: u64,
    /// Pages in `balloon`.
    pub ballooned: u64,
    /// Bytes of e820 RAM (all of it, as `ram:` at boot).
    pub ram_bytes: u64,
    /// Pages written by `fill`/`touch` for the first time since boot or since
    /// they were last given to the host.
    pub minor_faults: u64,
}

/// The BSP only, with interrupts disabled (commands and balloon interrupts).
static POOL: Global<Pool> = Global::new(Pool {
    ready: false,
    base_pfn: 0,
    words: 0,
    free: 0,
    ballooned: 0,
    ram_bytes: 0,
    minor_faults: 0,
});

/// The pool, set up on first use (None if the driver area is not RAM).
pub fn pool() -> Option<&'static mut Pool> {
    // SAFETY: the BSP, interrupts disabled (see POOL).
    let pool = unsafe { POOL.get() };
    if !pool.ready {
        if !driver_area_usable() {
            return None;
        }
        pool.init();
    }
    Some(pool)
}

/// Sets bits [first, end) of the bitmap at `map`.
fn set_bits(map: u64, first: u64, end: u64) {
    let mut bit = first;
    while bit < end && bit % 64 != 0 {
        set_bit(map, bit);
        bit += 1;
    }
    let whole = (end - bit) / 64;
    // SAFETY: whole words of the bitmap (in the driver area), one `rep stosq`.
    unsafe { core::ptr::write_bytes((map + bit / 8) as *mut u64, 0xff, whole as usize) };
    bit += whole * 64;
    while bit < end {
        set_bit(map, bit);
        bit += 1;
    }
}

fn set_bit(map: u64, bit: u64) {
    let word = (map + bit / 64 * 8) as *mut u64;
    // SAFETY: a word of the bitmap.
    unsafe { word.write(word.read() | 1 << (bit % 64)) };
}

impl Pool {
    fn init(&mut self) {
        let ram = || memory_map().iter().filter(|r| r.kind == E820_RAM);
        self.ram_bytes = ram().map(|r| r.size).sum();
        let top = ram()
            .map(|r| r.addr.saturating_add(r.size).min(POOL_END_LIMIT))
            .max()
            .unwrap_or(0)
            .max(POOL_START_GPA);
        self.base_pfn = POOL_START_GPA / PAGE;
        let pages = top / PAGE - self.base_pfn;
        self.words = pages.div_ceil(64);
        for map in [FREE_MAP, BALLOON_MAP, DIRTY_MAP] {
            // SAFETY: the bitmaps in the driver area (RAM, checked by the caller).
            unsafe { core::ptr::write_bytes(map as *mut u64, 0, self.words as usize) };
        }
        self.free = 0;
        for r in ram() {
            let start = r.addr.max(POOL_START_GPA).div_ceil(PAGE);
            let end = (r.addr.saturating_add(r.size).min(top) / PAGE).max(start);
            if start < end {
                set_bits(FREE_MAP, start - self.base_pfn, end - self.base_pfn);
                self.free += end - start;
            }
        }
        self.ballooned = 0;
        self.minor_faults = 0;
        self.ready = true;
    }

    fn op(&self, bitmap: u64, aux: u64, out: u64, max: u64) -> *mut Op {
        let op = OP as *mut Op;
        // SAFETY: the parameter block in the driver area (user-accessible).
        unsafe {
            op.write(Op {
                bitmap,
                aux,
                words: self.words,
                base_pfn: self.base_pfn,
                out,
                max,
                tag: FILL_TAG,
                ..Op::default()
            })
        };
        op
    }

    /// Takes up to `max` free pages for the balloon, their PFNs (le32) to `out`.
    pub fn take_free(&mut self, out: u64, max: usize) -> usize {
        let n = user::call(Helper::Take, self.op(FREE_MAP, DIRTY_MAP, out, max as u64));
        self.free -= n;
        n as usize
    }

    /// The `n` PFNs at `pfns` are in the balloon now.
    pub fn put_balloon(&mut self, pfns: u64, n: usize) {
        self.ballooned += user::call(Helper::Put, self.op(BALLOON_MAP, 0, pfns, n as u64));
    }

    /// Takes up to `max` pages out of the balloon (for a deflate request).
    pub fn take_ballooned(&mut self, out: u64, max: usize) -> usize {
        let n = user::call(Helper::Take, self.op(BALLOON_MAP, 0, out, max as u64));
        self.ballooned -= n;
        n as usize
    }

    /// The `n` PFNs at `pfns` are free again.
    pub fn put_free(&mut self, pfns: u64, n: usize) {
        self.free += user::call(Helper::Put, self.op(FREE_MAP, 0, pfns, n as u64));
    }

    /// `fill` (the pattern into every free page) or `touch` (a write to each,
    /// contents kept). Returns the pages written.
    pub fn fill(&mut self, touch: bool) -> u64 {
        let op = self.op(FREE_MAP, DIRTY_MAP, 0, 0);
        // SAFETY: the block just written.
        unsafe { (*op).cursor = u64::from(touch) };
        let pages = user::call(Helper::Fill, op);
        // SAFETY: as above, after the helper returned.
        self.minor_faults += unsafe { (*op).r0 };
        pages
    }

    /// (free pages, with the `fill` pattern, all zero, other).
    pub fn check(&mut self) -> (u64, u64, u64, u64) {
        let op = self.op(FREE_MAP, 0, 0, 0);
        let pages = user::call(Helper::Check, op);
        // SAFETY: the block, after the helper returned.
        let op = unsafe { &*op };
        (pages, op.r0, op.r1, op.r2)
    }

    /// Takes up to `max` free, naturally aligned 4 MiB or 2 MiB blocks from word
    /// `*cursor` on (for a report), writing {u64 pfn, u64 pages} pairs to `out`.
    pub fn take_blocks(&mut self, out: u64, max: usize, cursor: &mut u64) -> usize {
        let op = self.op(FREE_MAP, DIRTY_MAP, out, max as u64);
        // SAFETY: the block just written.
        unsafe { (*op).cursor = *cursor };
        let n = user::call(Helper::TakeBlocks, op);
        // SAFETY: as above, after the helper returned.
        *cursor = unsafe { (*op).cursor };
        for i in 0..n {
            self.free -= block(out, i).1;
        }
        n as usize
    }

    /// The `n` blocks at `entries` (from `take_blocks`) are free again.
    pub fn put_blocks(&mut self, entries: u64, n: usize) {
        for i in 0..n as u64 {
            let (pfn, pages) = block(entries, i);
            let first = pfn - self.base_pfn;
            // SAFETY: whole words of the free bitmap (take_blocks cleared them).
            unsafe {
                core::ptr::write_bytes(
                    (FREE_MAP + first / 8) as *mut u64,
                    0xff,
                    (pages / 64) as usize,
                )
            };
            self.free += pages;
        }
    }
}

/// Entry `i` of a `take_blocks` result: (first pfn, pages).
pub fn block(entries: u64, i: u64) -> (u64, u64) {
    let at = (entries + 16 * i) as *const u64;
    // SAFETY: written by take_blocks in the driver area.
    unsafe { (at.read(), at.add(1).read()) }
}

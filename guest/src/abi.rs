//! What the host side may rely on: addresses, serial protocol and limits of the test guest.
//!
//! This file has no dependencies so that host-side tests can include it with
//! `#[path = "../../guest/src/abi.rs"] mod guest_abi;`. README.md documents the same.
#![allow(dead_code)]

/// First line on COM1 (followed by "\r\n"); a boot benchmark times its appearance.
pub const BANNER: &str = "vmm-test-guest 1: booted via PVH";
/// Line printed once the guest accepts commands.
pub const READY: &str = "ready";

/// Guest-physical address of the first loaded byte (the ELF's first PT_LOAD).
pub const LOAD_GPA: u64 = 0x0010_0000;

/// 4096 bytes, byte `i` = `(i & 0xff) as u8`.
pub const PATTERN_BYTES_GPA: u64 = 0x0030_0000;
pub const PATTERN_BYTES_LEN: usize = 4096;
/// Little-endian u64 values [`PATTERN_WORDS`], then [`PATTERN_STRING`] (NUL included).
pub const PATTERN_WORDS_GPA: u64 = 0x0030_1000;
pub const PATTERN_WORDS: [u64; 4] = [
    0x0123_4567_89ab_cdef,
    0xfedc_ba98_7654_3210,
    0x1122_3344_5566_7788,
    0x8877_6655_4433_2211,
];
pub const PATTERN_STRING: &[u8] = b"vmm-test-guest pattern\0";
/// One little-endian u64 per CPU (index = CPU number: BSP 0, then APs in
/// MADT/MP-table order), incremented by the `spin` loops at CPL3.
pub const COUNTERS_GPA: u64 = 0x0030_2000;

/// Guest-virtual mappings besides the identity map of the first 4 GiB (2 MiB pages).
/// 4 KiB page → `PATTERN_WORDS_GPA`.
pub const PATTERN_WORDS_GVA: u64 = 0x0000_4000_0000_1000;
/// 2 MiB page → GPA 0x0020_0000, so `PATTERN_BYTES_GVA_2M + 0x10_0000` reads the byte pattern.
pub const PATTERN_BYTES_GVA_2M: u64 = 0x0000_4000_0020_0000;
pub const PATTERN_BYTES_GVA_2M_TARGET_GPA: u64 = 0x0020_0000;
/// `PATTERN_BYTES_GPA` seen through the 2 MiB mapping.
pub const PATTERN_BYTES_VIA_2M_GVA: u64 = 0x0000_4000_0030_0000;
/// High-half alias with 4 KiB pages: `HIGH_ALIAS_GVA + x` → `HIGH_ALIAS_GPA + x`
/// for `x` in 0..0x10_0000 (the alias covers GPA 0x20_0000..0x40_0000).
pub const HIGH_ALIAS_GVA: u64 = 0xffff_8000_0030_0000;
pub const HIGH_ALIAS_GPA: u64 = 0x0030_0000;
/// Not present in the guest's page tables.
pub const UNMAPPED_GVA: u64 = 0x0000_5000_0000_0000;
/// Top of the identity map (exclusive).
pub const IDENTITY_MAP_END: u64 = 0x1_0000_0000;

/// `mmio-exec` jumps here (inside the PCI hole, not RAM).
pub const MMIO_EXEC_GPA: u64 = 0xd000_0000;
/// Physical page the AP start-up trampoline is copied to when the e820 map says it
/// is usable RAM (otherwise the first usable page below 1 MiB from 0x1000 up).
pub const AP_TRAMPOLINE_GPA: u64 = 0x8000;

/// Most CPUs the guest starts (the others are not brought up).
pub const MAX_CPUS: usize = 64;

/// Interrupt vectors: COM1 (IRQ 4 through the IOAPIC, to the BSP), the wake-up
/// IPI the BSP sends the APs for `spin`/`halt`, and the LAPIC spurious vector.
pub const SERIAL_VECTOR: u8 = 0x24;
pub const IPI_VECTOR: u8 = 0x40;
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// virtio-balloon MSI-X interrupts, delivered to the BSP (fixed, edge): the
/// configuration-change vector (MSI-X table entry 0) and the vector of every
/// queue entry (entries 1.. in per-queue mode, entry 1 in shared mode).
pub const BALLOON_CONFIG_VECTOR: u8 = 0x41;
pub const BALLOON_QUEUE_VECTOR: u8 = 0x42;
/// The ACPI Generic Event Device's interrupt (the power button), to the BSP.
pub const GED_VECTOR: u8 = 0x43;
/// The guest's CPL3 helper routines (`fill`, `check`, page-bitmap scans) return
/// to the kernel with `int3`: the breakpoint exception, whose gate has DPL 3.
/// (`int n` at CPL3 raises #UD on the project's KVM hosts, `int3` does not.)
pub const USER_RETURN_VECTOR: u8 = 3;

/// PCI: the guest scans bus 0 (configuration mechanism #1, ports 0xcf8/0xcfc)
/// for a virtio balloon: the modern id, or the transitional one if it has the
/// virtio 1.x capabilities and offers VIRTIO_F_VERSION_1.
pub const VIRTIO_PCI_VENDOR: u16 = 0x1af4;
pub const VIRTIO_BALLOON_PCI_DEVICE: u16 = 0x1045;
pub const VIRTIO_BALLOON_PCI_DEVICE_TRANSITIONAL: u16 = 0x1002;
/// Where the guest places memory BARs it finds unassigned (0): the lowest free,
/// size-aligned range in [PCI_HOLE_START, PCI_HOLE_END) that overlaps no other
/// BAR of bus 0, no e820 entry and no RAM.
pub const PCI_HOLE_START: u64 = 0xc000_0000;
pub const PCI_HOLE_END: u64 = 0xfec0_0000;
/// Boot line when the driver is up (before READY): this, then `00:0N.F
/// features=0x<negotiated> queues=<n> msix=on`. A failed probe prints
/// `virtio-balloon: 00:0N.F: <reason>` instead; no balloon, no line.
pub const BALLOON_FOUND: &str = "virtio-balloon: found at ";
/// Test hook: with this word on the command line the guest zeroes the balloon's
/// memory BARs before probing it, so that it places them itself.
pub const CMDLINE_CLEAR_BARS: &str = "virtio-balloon.clear-bars";
/// With this word on the command line the guest ignores the ACPI power button, as a
/// machine with no OS does (a firmware-only QEMU transcript is replayed that way).
pub const CMDLINE_NO_POWER_BUTTON: &str = "acpi.no-power-button";
/// BARs above 4 GiB are reached through 2 MiB uncached pages from this address.
pub const MMIO_WINDOW_GVA: u64 = 0x0000_0080_0000_0000;

/// Feature bits the driver accepts when offered: MUST_TELL_HOST (0), STATS_VQ
/// (1), DEFLATE_ON_OOM (2), FREE_PAGE_REPORTING (5), VERSION_1 (32, required),
/// ORDER_PLATFORM (36). All others are refused, notably FREE_PAGE_HINT (3),
/// PAGE_POISON (4), the ring features INDIRECT_DESC (28) and EVENT_IDX (29), and
/// ACCESS_PLATFORM (33), which Linux's virtballoon_validate clears too (PFNs are
/// guest-physical).
pub const BALLOON_F_MUST_TELL_HOST: u64 = 1 << 0;
pub const BALLOON_F_STATS_VQ: u64 = 1 << 1;
pub const BALLOON_F_DEFLATE_ON_OOM: u64 = 1 << 2;
pub const BALLOON_F_FREE_PAGE_HINT: u64 = 1 << 3;
pub const BALLOON_F_PAGE_POISON: u64 = 1 << 4;
pub const BALLOON_F_REPORTING: u64 = 1 << 5;
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;
pub const VIRTIO_F_ACCESS_PLATFORM: u64 = 1 << 33;
pub const VIRTIO_F_ORDER_PLATFORM: u64 = 1 << 36;
pub const BALLOON_FEATURES_ACCEPTED: u64 = BALLOON_F_MUST_TELL_HOST
    | BALLOON_F_STATS_VQ
    | BALLOON_F_DEFLATE_ON_OOM
    | BALLOON_F_REPORTING
    | VIRTIO_F_VERSION_1
    | VIRTIO_F_ORDER_PLATFORM;

/// The driver's queues are at most this long (it writes min(device size, this)
/// back to queue_size); a device queue_size that is 0 or not a power of two fails
/// the probe, as in Linux, and so does a reporting queue shorter than
/// BALLOON_REPORT_ENTRIES (Linux: PAGE_REPORTING_CAPACITY).
pub const BALLOON_QUEUE_SIZE_MAX: u16 = 128;
/// At most this many 4 KiB PFNs (le32) per inflate or deflate buffer (Linux's
/// VIRTIO_BALLOON_ARRAY_PFNS_MAX); one buffer in flight per queue.
pub const BALLOON_PFNS_PER_BUFFER: usize = 256;
/// Pages released per out-of-memory notification (Linux's VIRTIO_BALLOON_OOM_NR_PAGES).
pub const BALLOON_OOM_PAGES: u32 = 256;
/// Free page reporting: one request is a chain of at most this many device-writable
/// descriptors, each a free 2 MiB or 4 MiB block, naturally aligned.
pub const BALLOON_REPORT_ENTRIES: usize = 32;
/// Stats buffer: these tags in this order (Linux 6.1 with VM event counters and
/// hugetlb), 10 bytes each ({le16 tag, le64 value}), one 100-byte descriptor.
pub const BALLOON_STATS_TAGS: [u16; 10] = [0, 1, 2, 3, 8, 9, 4, 5, 6, 7];

/// The driver's memory (virtqueues, PFN arrays, stats buffer, page bitmaps):
/// guest-physical 0x200000-0x2fffff, which the ELF does not load. Used only when
/// the e820 map says it is RAM.
pub const DRIVER_AREA_GPA: u64 = 0x0020_0000;
pub const DRIVER_AREA_END: u64 = 0x0030_0000;
/// The page pool that the balloon, `fill`, `touch` and `check` work on: the e820
/// RAM pages from POOL_START_GPA up to POOL_END_LIMIT (the cached, user-accessible
/// part of the identity map).
pub const POOL_START_GPA: u64 = 0x0040_0000;
pub const POOL_END_LIMIT: u64 = 0xc000_0000;
/// `fill` writes, into every qword of free page `pfn`, `FILL_TAG | pfn`.
pub const FILL_TAG: u64 = 0xba11_0000_0000_0000;

/// COM1 16550 I/O base and its ISA IRQ.
pub const COM1_PORT: u16 = 0x3f8;
pub const COM1_IRQ: u8 = 4;

/// Serial commands (one per line, "\r" or "\n" terminated) and their replies.
pub const COMMANDS: &[(&str, &str)] = &[
    ("ping", "pong"),
    ("spin", "spinning"),
    ("counters", "counters: <c0> <c1> ..."),
    ("halt", "halting"),
    ("reset", "resetting"),
    ("poweroff", "powering off"),
    ("ud2", "executing ud2"),
    ("triplefault", "triple faulting"),
    ("mmio-exec", "jumping to 0xd0000000"),
    ("echo <text>", "<text>"),
    ("balloon", "balloon: pages=<n> actual=<n> num_pages=<n>"),
    ("stats", "stats: swap-in=<n> ... htlb-pgfail=<n>"),
    ("fill", "fill: pages=<n>"),
    ("touch", "touch: pages=<n>"),
    ("check", "check: pages=<n> pattern=<n> zero=<n> other=<n>"),
    (
        "oom <MiB>",
        "oom: need=<pages> free=<pages> released=<pages>",
    ),
    ("report", "report: ranges=<n> pages=<n>"),
    (
        "vq-abuse <kind>",
        "vq-abuse <kind>: status=0x<..> used=<n> needs_reset=yes|no ...",
    ),
];

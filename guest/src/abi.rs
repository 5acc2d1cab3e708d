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
];

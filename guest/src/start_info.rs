//! The PVH `struct hvm_start_info` (Xen's arch-x86/hvm/start_info.h), its
//! command line and memory map (e820 types), printed as Linux does.

use crate::line::Line;
use crate::mem::{bytes, read32, read64};

const MAGIC: u32 = 0x336e_c578;
const CMDLINE_MAX: usize = 4096;

pub const E820_RAM: u32 = 1;

pub struct StartInfo {
    pub version: u32,
    pub cmdline: u64,
    pub rsdp: u64,
    memmap: u64,
    pub memmap_entries: u32,
}

pub struct E820Entry {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
}

impl StartInfo {
    /// Reads the structure at `addr` (EBX at entry); reports a bad magic value.
    pub fn read(addr: u64) -> StartInfo {
        let magic = if addr == 0 { 0 } else { read32(addr) };
        if magic != MAGIC {
            Line::new()
                .str("start_info: bad magic ")
                .hex(u64::from(magic))
                .send();
            return StartInfo {
                version: 0,
                cmdline: 0,
                rsdp: 0,
                memmap: 0,
                memmap_entries: 0,
            };
        }
        let version = read32(addr + 4);
        let (memmap, memmap_entries) = if version >= 1 {
            (read64(addr + 40), read32(addr + 48))
        } else {
            (0, 0)
        };
        StartInfo {
            version,
            cmdline: read64(addr + 24),
            rsdp: read64(addr + 32),
            memmap,
            memmap_entries: if memmap == 0 { 0 } else { memmap_entries },
        }
    }

    pub fn e820(&self) -> impl Iterator<Item = E820Entry> + '_ {
        (0..u64::from(self.memmap_entries)).map(|i| {
            // {u64 addr, u64 size, u32 type, u32 reserved}
            let entry = self.memmap + i * 24;
            E820Entry {
                addr: read64(entry),
                size: read64(entry + 8),
                kind: read32(entry + 16),
            }
        })
    }

    /// Whether [start, start + len) lies inside one RAM entry of the memory map.
    pub fn is_ram(&self, start: u64, len: u64) -> bool {
        self.e820().any(|e| {
            e.kind == E820_RAM && e.addr <= start && start + len <= e.addr.saturating_add(e.size)
        })
    }

    /// Whether the command line has the word `option` (space-separated).
    pub fn has_option(&self, option: &[u8]) -> bool {
        if self.cmdline == 0 {
            return false;
        }
        let text = bytes(self.cmdline, CMDLINE_MAX);
        let text = &text[..text.iter().position(|&c| c == 0).unwrap_or(text.len())];
        text.split(|&c| c == b' ').any(|word| word == option)
    }

    /// `cmdline: <text>`.
    pub fn print_cmdline(&self) {
        let mut line = Line::new();
        line.str("cmdline: ");
        if self.cmdline != 0 {
            let text = bytes(self.cmdline, CMDLINE_MAX);
            line.bytes(&text[..text.iter().position(|&c| c == 0).unwrap_or(text.len())]);
        }
        line.send();
    }

    /// One `e820: [mem 0x...-0x...] <type>` line per entry, then `ram: N MiB`.
    pub fn print_memory(&self) {
        if self.memmap_entries == 0 {
            Line::new()
                .str("e820: no memory map in start_info (version ")
                .dec(u64::from(self.version))
                .str(")")
                .send();
        }
        let mut ram = 0u64;
        for e in self.e820() {
            if e.size == 0 {
                continue;
            }
            if e.kind == E820_RAM {
                ram += e.size;
            }
            let mut line = Line::new();
            line.str("e820: [mem ")
                .hex16(e.addr)
                .str("-")
                .hex16(e.addr.wrapping_add(e.size - 1))
                .str("] ");
            match e.kind {
                1 => line.str("usable"),
                2 => line.str("reserved"),
                3 => line.str("ACPI data"),
                4 => line.str("ACPI NVS"),
                5 => line.str("unusable"),
                kind => line.str("type ").dec(u64::from(kind)),
            };
            line.send();
        }
        Line::new()
            .str("ram: ")
            .dec(ram.div_ceil(1 << 20))
            .str(" MiB")
            .send();
    }
}

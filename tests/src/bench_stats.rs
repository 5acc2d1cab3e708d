//! Small helpers the benchmarks in `src/bin/` share: which VMM a column is, order statistics,
//! the round count from the command line, the host's load, and a process's memory outside
//! guest RAM.

use std::process::{Command, Stdio};
use std::time::Duration;

/// The VMM a benchmark column measures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Vmm,
    Qemu,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Vmm => "vmm",
            Kind::Qemu => "qemu",
        }
    }
}

/// Whether `qemu-system-x86_64` on PATH runs (for an optional reference column).
pub fn have_qemu() -> bool {
    Command::new("qemu-system-x86_64")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The median (the upper one of an even count); NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The `p`th percentile (nearest rank) of ascending `sorted`; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p / 100.0).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The first command-line argument as a round count (at least 1), else `default`.
pub fn rounds_arg(default: usize) -> usize {
    std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// The 1-minute load average, as text.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// RSS in KiB of every mapping of `pid` smaller than `ram_bytes`: the VMM's own memory. Guest
/// RAM is one anonymous mapping of at least RAM size in both VMMs.
pub fn rss_outside_guest_ram_kib(pid: u32, ram_bytes: u64) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut total = 0;
    let mut mapping_is_ram = false;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some(range) if range.contains('-') && !range.ends_with(':') => {
                let (lo, hi) = range.split_once('-').unwrap_or(("0", "0"));
                let size = u64::from_str_radix(hi, 16).unwrap_or(0)
                    - u64::from_str_radix(lo, 16).unwrap_or(0);
                mapping_is_ram = size >= ram_bytes;
            }
            Some("Rss:") if !mapping_is_ram => {
                total += fields
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            _ => {}
        }
    }
    total
}

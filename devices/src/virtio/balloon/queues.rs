//! Processing of the balloon's queues. Everything in a descriptor is the guest's and is
//! checked: direction, length, address (reads fail cleanly outside RAM), PFN range (the
//! reclaimer clamps to RAM). Buffers that break the rules are skipped and still returned;
//! ring-level errors (bad avail index, head out of range, unwritable used ring) are driver
//! bugs the device cannot continue from.

use thiserror::Error;
use virtio_queue::{DescriptorChain, Queue, QueueOwnedT, QueueT};
use vm_memory::{Bytes, GuestMemoryMmap};

use super::pfn::{coalesce, parse_pfns, whole_pages, MAX_PFNS_PER_CHAIN, MAX_PFNS_PER_DESCRIPTOR};
use super::reclaim::MemoryReclaimer;
use super::stats::{parse_stats, MAX_STATS_BYTES, STAT_COUNT};

type Mem = GuestMemoryMmap<()>;
type Chain<'a> = DescriptorChain<&'a Mem>;

#[derive(Debug, Error)]
pub enum DriverBug {
    #[error("available ring: {0}")]
    AvailRing(virtio_queue::Error),
    #[error("descriptor head {head} is beyond queue size {size}")]
    HeadOutOfRange { head: u16, size: u16 },
    #[error("used ring: {0}")]
    UsedRing(virtio_queue::Error),
}

/// What one pass over a queue did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Buffers were returned: the driver needs an interrupt.
    pub used: bool,
    /// The pass stopped at its bound with buffers possibly left: run it again.
    pub more: bool,
}

/// Pops the next available chain, checking its head index.
fn next_chain<'a>(q: &mut Queue, mem: &'a Mem) -> Result<Option<Chain<'a>>, DriverBug> {
    let chain = {
        let mut iter = q.iter(mem).map_err(DriverBug::AvailRing)?;
        iter.next()
    };
    match chain {
        Some(c) if c.head_index() >= q.size() => Err(DriverBug::HeadOutOfRange {
            head: c.head_index(),
            size: q.size(),
        }),
        other => Ok(other),
    }
}

/// PFNs from the device-readable descriptors of an inflate/deflate chain. Descriptors that
/// are device-writable, not a whole number of PFNs, longer than Linux ever sends, or not
/// readable from RAM are skipped.
fn chain_pfns(chain: Chain<'_>, mem: &Mem) -> Vec<u32> {
    let mut pfns = Vec::new();
    let mut buf = [0u8; MAX_PFNS_PER_DESCRIPTOR * 4];
    for desc in chain {
        if pfns.len() >= MAX_PFNS_PER_CHAIN {
            break;
        }
        let len = desc.len() as usize;
        if desc.is_write_only() || len % 4 != 0 || len > buf.len() {
            continue;
        }
        if mem.read_slice(&mut buf[..len], desc.addr()).is_ok() {
            parse_pfns(&buf[..len], &mut pfns);
        }
    }
    pfns.truncate(MAX_PFNS_PER_CHAIN);
    pfns
}

/// Inflate (with a reclaimer) or deflate (without): at most one queue's worth of chains per
/// call, so a driver that keeps posting cannot starve the worker's other events.
pub fn process_pfn_queue(
    q: &mut Queue,
    mem: &Mem,
    reclaimer: Option<&dyn MemoryReclaimer>,
) -> Result<Progress, DriverBug> {
    let mut progress = Progress::default();
    for _ in 0..q.size() {
        let Some(chain) = next_chain(q, mem)? else {
            return Ok(progress);
        };
        let head = chain.head_index();
        let mut pfns = chain_pfns(chain, mem);
        if let Some(r) = reclaimer {
            for (gpa, len) in coalesce(&mut pfns) {
                if let Err(e) = r.discard(gpa, len) {
                    log::warn!("virtio-balloon: {e}");
                }
            }
        }
        // Nothing is written into inflate/deflate buffers.
        q.add_used(mem, head, 0).map_err(DriverBug::UsedRing)?;
        progress.used = true;
    }
    progress.more = true;
    Ok(progress)
}

/// Free page reporting: each device-writable descriptor is a free range of guest memory
/// (Linux adds them as in-buffers); its whole pages are discarded. Buffers go back with
/// length 0, as QEMU returns them.
pub fn process_reporting_queue(
    q: &mut Queue,
    mem: &Mem,
    reclaimer: &dyn MemoryReclaimer,
) -> Result<Progress, DriverBug> {
    let mut progress = Progress::default();
    for _ in 0..q.size() {
        let Some(chain) = next_chain(q, mem)? else {
            return Ok(progress);
        };
        let head = chain.head_index();
        for desc in chain {
            if !desc.is_write_only() {
                continue;
            }
            if let Some((gpa, len)) = whole_pages(desc.addr().0, u64::from(desc.len())) {
                if let Err(e) = reclaimer.discard(gpa, len) {
                    log::warn!("virtio-balloon: free page report: {e}");
                }
            }
        }
        q.add_used(mem, head, 0).map_err(DriverBug::UsedRing)?;
        progress.used = true;
    }
    progress.more = true;
    Ok(progress)
}

/// A stats buffer the driver posted: its head (to return it later) and the parsed values.
pub struct StatsBuffer {
    pub head: u16,
    pub values: [Option<u64>; STAT_COUNT],
}

/// Pops one stats buffer and parses its device-readable bytes (bounded; reading stops at
/// the first descriptor outside RAM).
pub fn pop_stats(q: &mut Queue, mem: &Mem) -> Result<Option<StatsBuffer>, DriverBug> {
    let Some(chain) = next_chain(q, mem)? else {
        return Ok(None);
    };
    let head = chain.head_index();
    let mut bytes = Vec::new();
    for desc in chain {
        if desc.is_write_only() {
            continue;
        }
        let room = MAX_STATS_BYTES - bytes.len();
        let take = (desc.len() as usize).min(room);
        let start = bytes.len();
        bytes.resize(start + take, 0);
        if mem.read_slice(&mut bytes[start..], desc.addr()).is_err() {
            bytes.truncate(start);
            break;
        }
        if bytes.len() == MAX_STATS_BYTES {
            break;
        }
    }
    Ok(Some(StatsBuffer {
        head,
        values: parse_stats(&bytes),
    }))
}

/// Returns a held buffer to the driver (stats are device-readable: nothing written).
pub fn return_buffer(q: &mut Queue, mem: &Mem, head: u16) -> Result<(), DriverBug> {
    q.add_used(mem, head, 0).map_err(DriverBug::UsedRing)
}

//! GLib's `GHashTable` of strings, replayed: the order it walks its keys in depends on GLib's
//! string hash, its open addressing, and the resizes that insertions and removals trigger, so
//! [`GHashOrder`] repeats that history. QEMU exposes the order in two places:
//!
//! - which leftover key its input visitor reports as "Parameter 'x' is unexpected": the
//!   visitor keeps an object's keys in a table (inserted in QDict order), removes each key a
//!   member takes, and names the first key the table yields ([`first_left_over`]; measured
//!   against QEMU 10.0.2 with GLib 2.74 on hundreds of random key sets, including many keys
//!   and many removals);
//! - the order `qom-list` lists an object's properties and children, and its registered types
//!   ([`GHashOrder::listing_order`]).

/// For a table of 2^shift slots GLib reduces hashes modulo the prime below it.
const PRIME_MOD: [u32; 32] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
    262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
    268435399, 536870909, 1073741789, 2147483647,
];
const MIN_SHIFT: u32 = 3;
/// Slot markers: GLib reserves hash values 0 and 1 for them.
const UNUSED: u32 = 0;
const TOMBSTONE: u32 = 1;

/// `g_str_hash`: djb2 over signed chars.
fn str_hash(key: &str) -> u32 {
    key.as_bytes().iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(b as i8 as u32)
    })
}

fn real_hash(key: &str) -> u32 {
    str_hash(key).max(2)
}

/// A set of names laid out as GLib would lay out the same insertions and removals.
#[derive(Debug, Clone)]
pub struct GHashOrder {
    shift: u32,
    hashes: Vec<u32>,
    keys: Vec<Option<String>>,
    nnodes: usize,
    noccupied: usize,
}

impl Default for GHashOrder {
    fn default() -> Self {
        let size = 1usize << MIN_SHIFT;
        GHashOrder {
            shift: MIN_SHIFT,
            hashes: vec![UNUSED; size],
            keys: vec![None; size],
            nnodes: 0,
            noccupied: 0,
        }
    }
}

impl GHashOrder {
    pub fn new() -> Self {
        Self::default()
    }

    fn index_of(&self, hash: u32) -> usize {
        let m = PRIME_MOD
            .get(self.shift as usize)
            .copied()
            .unwrap_or(u32::MAX);
        (hash.wrapping_mul(11) % m) as usize
    }

    /// The key's slot, or the slot it would be inserted in.
    fn lookup(&self, key: &str, hash: u32) -> usize {
        let mask = self.hashes.len() - 1;
        let mut i = self.index_of(hash);
        let mut step = 0;
        let mut tombstone = None;
        while self.hashes[i] != UNUSED {
            if self.hashes[i] == hash && self.keys[i].as_deref() == Some(key) {
                return i;
            }
            if self.hashes[i] == TOMBSTONE && tombstone.is_none() {
                tombstone = Some(i);
            }
            step += 1;
            i = (i + step) & mask;
        }
        tombstone.unwrap_or(i)
    }

    pub fn contains(&self, key: &str) -> bool {
        let i = self.lookup(key, real_hash(key));
        self.hashes[i] >= 2
    }

    pub fn insert(&mut self, key: &str) {
        let hash = real_hash(key);
        let i = self.lookup(key, hash);
        if self.hashes[i] >= 2 {
            return;
        }
        if self.hashes[i] == UNUSED {
            self.noccupied += 1;
        }
        self.hashes[i] = hash;
        self.keys[i] = Some(key.to_string());
        self.nnodes += 1;
        self.maybe_resize();
    }

    pub fn remove(&mut self, key: &str) {
        let hash = real_hash(key);
        let i = self.lookup(key, hash);
        if self.hashes[i] < 2 {
            return;
        }
        self.hashes[i] = TOMBSTONE;
        self.keys[i] = None;
        self.nnodes -= 1;
        self.maybe_resize();
    }

    fn maybe_resize(&mut self) {
        let size = self.hashes.len();
        if (size > self.nnodes * 4 && size > 1 << MIN_SHIFT)
            || size <= self.noccupied + self.noccupied / 16
        {
            self.resize();
        }
    }

    /// `g_hash_table_resize`: size from the node count, entries moved in place by eviction.
    fn resize(&mut self) {
        let old_size = self.hashes.len();
        // GLib sizes the table from nnodes * 1.333, computed in floating point.
        let mut n = (self.nnodes as f64 * 1.333) as u64;
        let mut shift = 0;
        while n != 0 {
            n >>= 1;
            shift += 1;
        }
        self.shift = shift.max(MIN_SHIFT);
        let new_size = 1usize << self.shift;
        if new_size > old_size {
            self.hashes.resize(new_size, UNUSED);
            self.keys.resize(new_size, None);
        }
        let mut placed = vec![false; new_size.max(old_size)];
        for i in 0..old_size {
            let mut hash = self.hashes[i];
            if hash < 2 {
                self.hashes[i] = UNUSED;
                continue;
            }
            if placed[i] {
                continue;
            }
            self.hashes[i] = UNUSED;
            let mut key = self.keys[i].take();
            loop {
                let mut j = self.index_of(hash);
                let mut step = 0;
                while placed[j] {
                    step += 1;
                    j = (j + step) & (new_size - 1);
                }
                placed[j] = true;
                let displaced = self.hashes[j];
                self.hashes[j] = hash;
                let displaced_key = std::mem::replace(&mut self.keys[j], key);
                if displaced < 2 {
                    break;
                }
                hash = displaced;
                key = displaced_key;
            }
        }
        self.hashes.truncate(new_size);
        self.keys.truncate(new_size);
        self.noccupied = self.nnodes;
    }

    /// The keys in slot order (what `g_hash_table_iter_next` yields).
    pub fn slot_order(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.hashes
            .iter()
            .zip(&self.keys)
            .filter(|(h, _)| **h >= 2)
            .filter_map(|(_, k)| k.as_deref())
    }

    /// The keys as QEMU lists them: slot order reversed, since listings prepend.
    pub fn listing_order(&self) -> impl Iterator<Item = &str> {
        self.slot_order().rev()
    }
}

/// The key QEMU reports as unexpected, given an object's keys in input
/// order and the keys its members took, in the order taken.
pub fn first_left_over<'k>(
    keys: impl IntoIterator<Item = &'k str>,
    taken: &[&str],
) -> Option<&'k str> {
    let keys: Vec<&'k str> = keys.into_iter().collect();
    let mut table = GHashOrder::new();
    for key in crate::qdict::qdict_order_by(keys.iter().copied(), |k| k) {
        table.insert(key);
    }
    for key in taken {
        table.remove(key);
    }
    let first = table.slot_order().next()?;
    keys.iter().copied().find(|k| *k == first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(inserted: &[&str]) -> Vec<String> {
        let mut t = GHashOrder::new();
        for k in inserted {
            t.insert(k);
        }
        t.listing_order().map(str::to_string).collect()
    }

    #[test]
    fn matches_qemu_listings() {
        // `qom-list /` on QEMU 10.0.2: the containers are created chardevs and objects first.
        assert_eq!(
            listed(&["chardevs", "objects", "machine", "backend"]),
            ["backend", "machine", "objects", "chardevs"]
        );
        // `qom-list /chardevs` for `-chardev null,id=n0 -chardev file,id=f0,... -chardev
        // socket,id=s0,... -chardev socket,id=t0,... -serial mon:stdio -serial null
        // -serial file:...` with the QMP monitor's chardev created first.
        assert_eq!(
            listed(&[
                "compat_monitor0",
                "n0",
                "f0",
                "s0",
                "t0",
                "serial0-base",
                "serial0",
                "serial1",
                "serial2"
            ]),
            [
                "serial1",
                "serial2",
                "n0",
                "s0",
                "serial0-base",
                "compat_monitor0",
                "f0",
                "t0",
                "serial0"
            ]
        );
        assert_eq!(
            listed(&["sec0", "io0", "pc.ram"]),
            ["io0", "pc.ram", "sec0"]
        );
    }

    #[test]
    fn removal_and_growth() {
        let mut t = GHashOrder::new();
        let names: Vec<String> = (0..100).map(|i| format!("device[{i}]")).collect();
        for n in &names {
            t.insert(n);
        }
        assert_eq!(t.slot_order().count(), 100);
        for n in names.iter().step_by(2) {
            t.remove(n);
        }
        assert_eq!(t.slot_order().count(), 50);
        assert!(t.contains("device[1]") && !t.contains("device[0]"));
        t.insert("device[1]");
        assert_eq!(t.slot_order().count(), 50);
    }
}

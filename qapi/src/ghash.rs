//! Which leftover key QEMU reports as "Parameter 'x' is unexpected".
//!
//! QEMU's input visitor keeps the keys of each object in a GLib
//! GHashTable, removes each key a member takes, and reports the first
//! key that iterating the table yields.  That depends on GLib's string
//! hash, its open addressing, and the resizes that insertions and
//! removals trigger, so this file replays exactly that: the keys are
//! inserted in QDict order, the taken ones removed in the order taken.
//! (Measured against QEMU 10.0.2 with GLib 2.74 on hundreds of random
//! key sets, including many keys and many removals.)

/// GLib's table sizes are powers of two; the index is taken modulo
/// the prime below the size (`prime_mod`).
const PRIME_MOD: [u32; 32] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
    262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
    268435399, 536870909, 1073741789, 2147483647,
];
const MIN_SHIFT: u32 = 3;
const UNUSED: u32 = 0;
const TOMBSTONE: u32 = 1;

/// g_str_hash: djb2 over *signed* chars, as GLib does.
fn str_hash(key: &str) -> u32 {
    key.as_bytes().iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(b as i8 as u32)
    })
}

struct Table<'k> {
    shift: u32,
    hashes: Vec<u32>,
    keys: Vec<Option<&'k str>>,
    nnodes: usize,
    noccupied: usize,
}

impl<'k> Table<'k> {
    fn new() -> Self {
        let size = 1usize << MIN_SHIFT;
        Table {
            shift: MIN_SHIFT,
            hashes: vec![UNUSED; size],
            keys: vec![None; size],
            nnodes: 0,
            noccupied: 0,
        }
    }

    fn size(&self) -> usize {
        self.hashes.len()
    }

    fn mask(&self) -> usize {
        self.size() - 1
    }

    fn index_of(&self, hash: u32) -> usize {
        let m = PRIME_MOD
            .get(self.shift as usize)
            .copied()
            .unwrap_or(u32::MAX);
        (hash.wrapping_mul(11) % m) as usize
    }

    /// g_hash_table_lookup_node: the key's slot, or where it would go.
    fn lookup(&self, key: &str, hash: u32) -> usize {
        let mut i = self.index_of(hash);
        let mut step = 0;
        let mut tombstone = None;
        while self.hashes[i] != UNUSED {
            if self.hashes[i] == hash && self.keys[i] == Some(key) {
                return i;
            }
            if self.hashes[i] == TOMBSTONE && tombstone.is_none() {
                tombstone = Some(i);
            }
            step += 1;
            i = (i + step) & self.mask();
        }
        tombstone.unwrap_or(i)
    }

    fn real_hash(key: &str) -> u32 {
        // Hashes 0 and 1 mark empty and deleted slots.
        str_hash(key).max(2)
    }

    fn insert(&mut self, key: &'k str) {
        let hash = Self::real_hash(key);
        let i = self.lookup(key, hash);
        if self.hashes[i] >= 2 {
            return;
        }
        if self.hashes[i] == UNUSED {
            self.noccupied += 1;
        }
        self.hashes[i] = hash;
        self.keys[i] = Some(key);
        self.nnodes += 1;
        self.maybe_resize();
    }

    fn remove(&mut self, key: &str) {
        let hash = Self::real_hash(key);
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
        let size = self.size();
        if (size > self.nnodes * 4 && size > 1 << MIN_SHIFT)
            || size <= self.noccupied + self.noccupied / 16
        {
            self.resize();
        }
    }

    /// g_hash_table_resize: new size from the node count, then every
    /// entry moved in place by eviction, in slot order.
    fn resize(&mut self) {
        let old_size = self.size();
        // GLib computes nnodes * 1.333 in floating point.
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

    fn first(&self) -> Option<&'k str> {
        self.hashes
            .iter()
            .zip(&self.keys)
            .find(|(h, _)| **h >= 2)
            .and_then(|(_, k)| *k)
    }
}

/// The key QEMU reports as unexpected, given an object's keys in input
/// order and the keys its members took, in the order taken.
pub fn first_left_over<'k>(
    keys: impl IntoIterator<Item = &'k str>,
    taken: &[&str],
) -> Option<&'k str> {
    let mut table = Table::new();
    for key in crate::qdict::qdict_order(keys) {
        table.insert(key);
    }
    for key in taken {
        table.remove(key);
    }
    table.first()
}

//! Which unexpected member QEMU names when there are several.
//!
//! QEMU's input visitor copies the keys of a JSON object into a GLib `GHashTable` (in the
//! iteration order of QEMU's `QDict`), removes every key it visits, and reports the first key
//! left when iterating the table. Both orders are deterministic functions of the key strings:
//! `QDict` keeps 512 buckets chosen by `tdb_hash` (newest entry first within a bucket), and the
//! GLib 2.74 hash table uses `g_str_hash`, open addressing with quadratic probing over a
//! power-of-two array indexed by `(hash * 11) % prime`, tombstones on removal, and an in-place
//! rehash when it grows or shrinks. This module replays both.

const QDICT_BUCKET_MAX: u32 = 512;

/// `tdb_hash` of QEMU's `qobject/qdict.c`.
fn tdb_hash(key: &str) -> u32 {
    let bytes = c_str(key);
    let mut value = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    for (i, &b) in bytes.iter().enumerate() {
        value = value.wrapping_add(u32::from(b) << ((i as u32 * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345)
}

/// GLib's `g_str_hash` (djb2 over signed chars).
fn g_str_hash(key: &str) -> u32 {
    c_str(key).iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(b as i8 as i32 as u32)
    })
}

/// The bytes C code sees: up to the first NUL.
fn c_str(key: &str) -> &[u8] {
    let b = key.as_bytes();
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// The iteration order of a `QDict` built by inserting `keys` (distinct) in this order.
fn qdict_order<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut entries: Vec<(u32, usize, &str)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (tdb_hash(k) % QDICT_BUCKET_MAX, i, *k))
        .collect();
    // Bucket ascending; within a bucket the newest entry comes first (QLIST_INSERT_HEAD).
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    entries.into_iter().map(|(_, _, k)| k).collect()
}

const UNUSED: u32 = 0;
const TOMBSTONE: u32 = 1;
const MIN_SHIFT: u32 = 3;
const PRIME_MOD: [u32; 32] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
    262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
    268435399, 536870909, 1073741789, 2147483647,
];

fn is_real(h: u32) -> bool {
    h >= 2
}

/// The parts of GLib's `GHashTable` that decide where keys sit.
struct GHashTable<'a> {
    size: usize,
    modulus: u32,
    mask: usize,
    nnodes: usize,
    noccupied: usize,
    hashes: Vec<u32>,
    keys: Vec<Option<&'a str>>,
}

impl<'a> GHashTable<'a> {
    fn new() -> Self {
        let mut t = GHashTable {
            size: 0,
            modulus: 0,
            mask: 0,
            nnodes: 0,
            noccupied: 0,
            hashes: Vec::new(),
            keys: Vec::new(),
        };
        t.set_shift(MIN_SHIFT);
        t.hashes = vec![UNUSED; t.size];
        t.keys = vec![None; t.size];
        t
    }

    fn set_shift(&mut self, shift: u32) {
        self.size = 1 << shift;
        self.modulus = PRIME_MOD[shift as usize];
        self.mask = self.size - 1;
    }

    fn hash_to_index(&self, hash: u32) -> usize {
        (hash.wrapping_mul(11) % self.modulus) as usize
    }

    fn hash_of(key: &str) -> u32 {
        let h = g_str_hash(key);
        if is_real(h) {
            h
        } else {
            2
        }
    }

    /// `g_hash_table_lookup_node`: the slot of `key`, or where it would be inserted.
    fn lookup(&self, key: &str, hash: u32) -> usize {
        let mut index = self.hash_to_index(hash);
        let mut step = 0;
        let mut first_tombstone = None;
        while self.hashes[index] != UNUSED {
            let h = self.hashes[index];
            if h == hash && self.keys[index] == Some(key) {
                return index;
            }
            if h == TOMBSTONE && first_tombstone.is_none() {
                first_tombstone = Some(index);
            }
            step += 1;
            index = (index + step) & self.mask;
        }
        first_tombstone.unwrap_or(index)
    }

    fn insert(&mut self, key: &'a str) {
        let hash = Self::hash_of(key);
        let index = self.lookup(key, hash);
        let old = self.hashes[index];
        if is_real(old) {
            return; // already present; QDict keys are distinct anyway
        }
        self.hashes[index] = hash;
        self.keys[index] = Some(key);
        self.nnodes += 1;
        if old == UNUSED {
            self.noccupied += 1;
            self.maybe_resize();
        }
    }

    fn remove(&mut self, key: &str) {
        let hash = Self::hash_of(key);
        let index = self.lookup(key, hash);
        if !is_real(self.hashes[index]) {
            return;
        }
        self.hashes[index] = TOMBSTONE;
        self.keys[index] = None;
        self.nnodes -= 1;
        self.maybe_resize();
    }

    fn maybe_resize(&mut self) {
        let size = self.size;
        let noccupied = self.noccupied;
        if (size > self.nnodes * 4 && size > 1 << MIN_SHIFT) || size <= noccupied + noccupied / 16 {
            self.resize();
        }
    }

    /// `g_hash_table_resize` with GLib's in-place rehash (`resize_map`).
    fn resize(&mut self) {
        let old_size = self.size;
        let wanted = (self.nnodes as f64 * 1.333) as u64;
        let closest = 64 - wanted.leading_zeros();
        self.set_shift(closest.max(MIN_SHIFT));
        let new_size = self.size;
        if new_size > old_size {
            self.hashes.resize(new_size, UNUSED);
            self.keys.resize(new_size, None);
        }
        let mut relocated = vec![false; old_size.max(new_size)];
        for i in 0..old_size {
            let mut node_hash = self.hashes[i];
            if !is_real(node_hash) {
                self.hashes[i] = UNUSED;
                continue;
            }
            if relocated[i] {
                continue;
            }
            self.hashes[i] = UNUSED;
            let mut key = self.keys[i].take();
            loop {
                let mut index = self.hash_to_index(node_hash);
                let mut step = 0;
                while relocated[index] {
                    step += 1;
                    index = (index + step) & self.mask;
                }
                relocated[index] = true;
                let replaced = self.hashes[index];
                self.hashes[index] = node_hash;
                if !is_real(replaced) {
                    self.keys[index] = key;
                    break;
                }
                node_hash = replaced;
                std::mem::swap(&mut key, &mut self.keys[index]);
            }
        }
        self.hashes.truncate(new_size);
        self.keys.truncate(new_size);
        self.noccupied = self.nnodes;
    }

    fn first(&self) -> Option<&'a str> {
        (0..self.size)
            .find(|&i| is_real(self.hashes[i]))
            .and_then(|i| self.keys[i])
    }
}

/// The key QEMU reports as unexpected: `keys` are the object's keys in input order (distinct),
/// `consumed` the members the visitor took, in visiting order. `None` when nothing is left.
pub(super) fn first_remaining<'a>(keys: &[&'a str], consumed: &[&str]) -> Option<&'a str> {
    let mut table = GHashTable::new();
    for k in qdict_order(keys) {
        table.insert(k);
    }
    for c in consumed {
        table.remove(c);
    }
    table.first()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_c() {
        // Reference values computed by hand from the C definitions.
        assert_eq!(g_str_hash(""), 5381);
        assert_eq!(g_str_hash("a"), 5381 * 33 + 97);
        assert_eq!(tdb_hash(""), 12345);
        let v = 0x238F_13AFu32.wrapping_add(97);
        assert_eq!(
            tdb_hash("a"),
            1_103_515_243u32.wrapping_mul(v).wrapping_add(12345)
        );
    }

    #[test]
    fn remaining_key_is_one_of_the_unconsumed() {
        let keys = ["driver", "file", "bar", "baz", "node-name"];
        let got = first_remaining(&keys, &["driver", "file", "node-name"]).unwrap();
        assert!(got == "bar" || got == "baz");
        assert_eq!(first_remaining(&keys, &keys), None);
        assert_eq!(first_remaining(&["only"], &[]), Some("only"));
    }

    #[test]
    fn survives_growth_and_shrinking() {
        let keys: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        // Remove all but one: the table shrinks several times on the way.
        let (consumed, left) = refs.split_at(299);
        assert_eq!(first_remaining(&refs, consumed), Some(left[0]));
    }
}

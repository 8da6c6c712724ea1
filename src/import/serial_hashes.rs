//! Duplicate serials in bounded memory: each serial's 8-byte hash is kept, sorted, and only the
//! few hashes that repeat are returned, for a second pass that compares the serials themselves.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// A serial's 8-byte hash.
pub(super) fn serial_hash(serial: &str) -> u64 {
    let mut h = DefaultHasher::new();
    serial.hash(&mut h);
    h.finish()
}

/// The hashes that occur more than once among `hashes`, each entry's hash given by `hash`
/// (entries may carry more than the hash, such as the file it came from).
pub(super) fn repeated<T: Ord>(mut hashes: Vec<T>, hash: impl Fn(&T) -> u64) -> HashSet<u64> {
    hashes.sort_unstable();
    hashes
        .windows(2)
        .filter_map(|w| match w {
            [a, b] if hash(a) == hash(b) => Some(hash(a)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashes_seen_twice_are_repeated() {
        let hashes = vec![
            (serial_hash("B"), 0u32),
            (serial_hash("A"), 1),
            (serial_hash("B"), 2),
        ];
        let found = repeated(hashes, |h| h.0);
        assert_eq!(found, HashSet::from([serial_hash("B")]));
        assert!(repeated(vec![1u64, 2, 3], |h| *h).is_empty());
    }
}

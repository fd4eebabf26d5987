//! The packed state encoding: a state as the compact bytes of its serde form (postcard:
//! one byte per small field and enum tag, lengths as varints), about a fifth of the Rust
//! struct. Frontier states are kept packed, and a state's 64-bit fingerprint is XXH3 over
//! its packed bytes. Equal states have equal bytes (the encoding is a function of the value,
//! and injective for one type), so comparing bytes compares states.

use crate::state::State;

/// Append the packed form of `s` to `out`.
pub fn pack_into(s: &State, out: &mut Vec<u8>) {
    // `State` is plain data (no maps, no floats, no custom serialisers): encoding cannot fail.
    let bytes = postcard::to_extend(s, std::mem::take(out))
        .expect("a State always serialises (plain data)");
    *out = bytes;
}

/// The packed form of `s`.
pub fn pack(s: &State) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    pack_into(s, &mut out);
    out
}

/// The state packed in `bytes` (written by [`pack_into`] in this process).
pub fn unpack(bytes: &[u8]) -> State {
    postcard::from_bytes(bytes).expect("packed by pack_into in this run")
}

/// The fingerprint of a packed state.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Packed states one after another, each found by its end offset.
#[derive(Default)]
pub struct Arena {
    pub bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Arena {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn push(&mut self, packed: &[u8]) {
        self.bytes.extend_from_slice(packed);
        self.ends.push(self.bytes.len());
    }

    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::rules::{candidate_actions, step};

    #[test]
    fn packing_round_trips_and_distinguishes_successors() {
        let c = Config::reference();
        let s = State::initial(&c);
        let mut seen = std::collections::BTreeMap::new();
        let mut actions = Vec::new();
        let mut frontier = vec![s];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &frontier {
                actions.clear();
                candidate_actions(&c, s, &mut actions);
                for &a in &actions {
                    let n = step(&c, s, a).next;
                    let p = pack(&n);
                    assert_eq!(unpack(&p), n);
                    // Equal bytes exactly when equal states.
                    if let Some(other) = seen.insert(p.clone(), n.clone()) {
                        assert_eq!(other, n);
                    } else {
                        next.push(n);
                    }
                }
            }
            frontier = next;
        }
        assert!(seen.len() > 50, "{}", seen.len());
        let sizes: usize = seen.keys().map(|k| k.len()).sum();
        // Compact: well under the in-memory struct.
        assert!(sizes / seen.len() < std::mem::size_of::<State>() / 2);
    }
}

//! The search from one (state, phone) pair in the lifted world ([`super::lifted`]): a
//! depth-first search over the holder's own actions on that phone ([`super::concerns`]) that
//! tries the detours first (a revocation, an abandoned session, a card renewal): a pair is
//! left to this search because a bound removed what it needed, and that is nearly always a
//! detour (measured on the reference world: detours first, the analysis takes a fifth of the
//! time it takes with them last). A stranded state explores its whole closure, which the
//! lifted bounds keep finite.
//!
//! Measured on the deep world (1.6 million searches, 32 million states taken; instrumented,
//! on a loaded machine): the states met were a std `HashSet` of cloned states hashed with
//! SipHash, 112 s of the 187 s of searching, and every state taken was looked up in the
//! explored graph, once to test it and again to mark the way. Now a state met is hashed once
//! with a fast hash ([`Fx`]) and compared in full only when that hash is met again, and only
//! states within the explored states' detour count are looked up (95% of the states taken are
//! beyond it), each once. The same searches and states taken: the analysis 61 s instead of
//! 201 s (reference: 1.2 s instead of 3). What is left is the rules' own work: candidate
//! actions, steps, hashing the successors.

use super::{concerns, goal};
use crate::config::Config;
use crate::ids::PhoneId;
use crate::rules::{candidate_actions, step};
use crate::state::{Holder, State};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A state the search took from its stack: the pop it was met from, and the stored state
/// of the explored graph it is a renaming of, with the renaming of phones from it into the
/// stored state (`None` beyond the world's bounds).
struct Pop {
    from: u32,
    stored: Option<(u32, u16)>,
}

/// The way from phone `h` of `s` to its goal in `lifted`, if there is one: the stored
/// states on it (with the renaming of phones from the way's state into each), from `s` to the
/// first goal or the first state after `s` that is `known` to reach its goal. `find`: the
/// stored state a state is a renaming of ([`super::Lifted::find`]), asked only of states with
/// at most `events` detours (the most an explored state has).
pub(super) fn search(
    lifted: &Config,
    s: &State,
    h: PhoneId,
    find: &dyn Fn(&State) -> Option<(u32, u16)>,
    events: u8,
    known: &dyn Fn((u32, u16)) -> bool,
) -> Option<Vec<(u32, u16)>> {
    let Holder::Person(p) = s.phone(h).holder else {
        return None;
    };
    // Every state met (the ones taken and the ones still on the stack), with the pop it
    // was met from; a state is met once (the first time it is generated).
    let mut met: Vec<(State, u32)> = Vec::with_capacity(64);
    let mut seen = Seen::default();
    seen.insert(&met, s);
    met.push((s.clone(), u32::MAX));
    let mut pops: Vec<Pop> = Vec::with_capacity(32);
    let mut stack = vec![0usize];
    let (mut cands, mut next) = (Vec::new(), Vec::new());
    while let Some(i) = stack.pop() {
        let (t, from) = (&met[i].0, met[i].1);
        let pop = Pop {
            from,
            stored: if t.events > events { None } else { find(t) },
        };
        let ends = goal(lifted, t, h) || (i != 0 && pop.stored.is_some_and(known));
        pops.push(pop);
        if ends {
            let mut way = Vec::new();
            let mut at = pops.len() as u32 - 1;
            while let Some(pop) = pops.get(at as usize) {
                way.extend(pop.stored);
                at = pop.from;
            }
            return Some(way);
        }
        let k = (pops.len() - 1) as u32;
        cands.clear();
        candidate_actions(lifted, t, &mut cands);
        cands.retain(|a| concerns(t, p, h, a));
        // Detours pushed last, so taken first, the first candidate on top.
        cands.sort_by_key(|a| !lifted.is_detour(a));
        next.extend(cands.iter().rev().map(|&a| step(lifted, t, a).next));
        for n in next.drain(..) {
            if seen.insert(&met, &n) {
                stack.push(met.len());
                met.push((n, k));
            }
        }
    }
    None
}

/// The states a search has met, by a hash of their value: each state is hashed once, kept
/// once (in the search's own list) and compared in full when its hash is met again, so the
/// set is exact.
#[derive(Default)]
struct Seen {
    first: HashMap<u64, u32, BuildHasherDefault<Fx>>,
    /// Met states whose hash an earlier, different state has (searched one by one).
    more: Vec<u32>,
}

impl Seen {
    /// Whether `n` is new among `met`; if so it is recorded as `met`'s next entry.
    fn insert(&mut self, met: &[(State, u32)], n: &State) -> bool {
        let mut hasher = Fx::default();
        n.hash(&mut hasher);
        let id = met.len() as u32;
        match self.first.entry(hasher.finish()) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
                true
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                let same = |j: &u32| met[*j as usize].0 == *n;
                if same(o.get()) || self.more.iter().any(same) {
                    false
                } else {
                    self.more.push(id);
                    true
                }
            }
        }
    }
}

/// A fast, non-keyed hasher: small values (the states' fields are bytes, enum tags and short
/// lengths) are gathered eight to a word, each word goes through FxHash's step, and a final
/// mix makes every bit of the result depend on the input. The searches hash every state they
/// meet; a collision costs only a comparison.
#[derive(Default, Clone, Copy)]
struct Fx {
    hash: u64,
    word: u64,
    bytes: u32,
}

impl Fx {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn byte(&mut self, b: u8) {
        self.word = (self.word << 8) | u64::from(b);
        self.bytes += 1;
        if self.bytes == 8 {
            self.add(self.word);
            (self.word, self.bytes) = (0, 0);
        }
    }

    fn small(&mut self, i: u64) {
        match u8::try_from(i) {
            Ok(b) if b != u8::MAX => self.byte(b),
            _ => {
                self.byte(u8::MAX);
                self.add(i);
            }
        }
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.byte(b));
    }
    fn write_u8(&mut self, i: u8) {
        self.byte(i);
    }
    fn write_u16(&mut self, i: u16) {
        self.small(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.small(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.small(i as u64);
    }
    fn finish(&self) -> u64 {
        let mut last = *self;
        last.add(self.word ^ (u64::from(self.bytes) << 56));
        // MurmurHash3's 64-bit finaliser.
        let mut h = last.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

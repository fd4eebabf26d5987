//! The analysis proper: the backward reachability over the reversed own-action edges, then
//! the searches in the lifted world for the pairs it leaves open ([`super::search`]), on
//! several threads.
//!
//! The marks ("this phone of this state reaches its goal") are facts that only ever turn
//! true, so the threads share them without locks: a thread that sets a mark spreads it back
//! itself, and a thread that has not yet seen another's mark only searches longer. A search
//! that finds no way has gone through the holder's whole closure in the lifted world, which
//! no mark shortens, so whether a pair is stranded does not depend on the threads' timing.
//! The counterexample, the first stranded pair in BFS order, is looked for on one thread.

use super::search;
use super::{image, Lifted, NodeInfo, Replays};
use crate::ids::PhoneId;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

/// States a thread takes at a time in the parallel pass: few, so that the threads work on
/// neighbouring states and each one's ways spread back before the other searches.
const CHUNK: usize = 16;

/// How the analysis ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stranded {
    /// Every phone in a person's hand can reach its goal from every state.
    None,
    /// The first state (in BFS order) with a phone that cannot, and that phone.
    At(u32, u8),
    /// The deadline passed first: the property is undecided.
    Cut,
}

/// Backward reachability over the reversed own-action edges.
pub(super) struct Walk {
    start: Vec<u32>,
    rev_from: Vec<u32>,
    /// The phone renaming of each reversed edge; `None` when every edge's is the identity
    /// (no symmetry), which then needs no memory.
    rev_map: Option<Vec<u16>>,
    identity: u16,
    w: usize,
    phones: u8,
    /// reached[state], bit `h`: phone `h` can reach its goal from that state.
    reached: Vec<AtomicU8>,
    /// The most detours an explored state has.
    events: u8,
    /// The largest a thread's spreading queue has grown (entries allocated).
    queue_peak: AtomicUsize,
}

impl Walk {
    /// Mark (state `i`, phone `h`); a new mark is queued on `queue` to be spread.
    fn mark(&self, i: u32, h: u8, queue: &mut Vec<u32>) {
        let (cell, bit) = (&self.reached[i as usize], 1u8 << h);
        if cell.load(Relaxed) & bit == 0 && cell.fetch_or(bit, Relaxed) & bit == 0 {
            queue.push(i * self.w as u32 + u32::from(h));
        }
    }

    fn spread(&self, queue: &mut Vec<u32>) {
        let w = self.w as u32;
        while let Some(pair) = queue.pop() {
            let (t, ht) = (pair / w, (pair % w) as u8);
            let range = self.start[t as usize] as usize..self.start[t as usize + 1] as usize;
            for k in range {
                let from = self.rev_from[k];
                let map = self.rev_map.as_ref().map_or(self.identity, |m| m[k]);
                // Phone `h` of `from` is phone `image(map, h)` of `t`.
                for h in 0..self.phones {
                    if image(map, h) == ht {
                        self.mark(from, h, queue);
                    }
                }
            }
        }
        // The queue's allocation is what it held at its longest: recorded once per spread,
        // not per entry (the threads would contend for the counter).
        self.queue_peak.fetch_max(queue.capacity(), Relaxed);
    }

    fn reached(&self, i: u32, h: u8) -> bool {
        self.reached[i as usize].load(Relaxed) & (1 << h) != 0
    }

    /// Heap bytes held now, the spreading queues at their longest (one per thread).
    fn heap_bytes(&self, threads: usize) -> usize {
        self.start.capacity() * 4
            + self.rev_from.capacity() * 4
            + self.rev_map.as_ref().map_or(0, |m| m.capacity() * 2)
            + self.reached.capacity()
            + threads * self.queue_peak.load(Relaxed) * 4
    }

    fn open(&self, i: usize, node: &NodeInfo) -> impl Iterator<Item = u8> + '_ {
        let applies = node.applies;
        (0..self.phones).filter(move |&h| applies & (1 << h) != 0 && !self.reached(i as u32, h))
    }

    /// Whether phone `h` of a state a search took, a renaming (`map`) of stored state `j`, is
    /// known to reach its goal.
    fn known(&self, (j, map): (u32, u16), h: u8) -> bool {
        self.reached(j, image(map, h))
    }
}

/// [`super::stranded`] over `count` edges listed (twice) by `edges`, and the heap bytes the
/// analysis held at its largest (measured: its arrays and the queues at their longest).
pub fn stranded_by<I: Iterator<Item = (u32, u32, u16)>>(
    nodes: &[NodeInfo],
    count: usize,
    edges: impl Fn() -> I,
    phones: u8,
    lifted: Option<Lifted>,
) -> (Stranded, usize) {
    let n = nodes.len();
    let w = usize::from(phones);
    u32::try_from(n * w).expect("more (state, phone) pairs than a u32 numbers");
    assert!(phones <= 8, "a state's marks are one byte");
    let identity = super::identity(phones);
    // Reverse adjacency in CSR form.
    let mut start = vec![0u32; n + 1];
    let mut renamed = false;
    for (_, to, map) in edges() {
        start[to as usize + 1] += 1;
        renamed |= map != identity;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut rev_from = vec![0u32; count];
    let mut rev_map = renamed.then(|| vec![0u16; count]);
    for (from, to, map) in edges() {
        let k = fill[to as usize] as usize;
        rev_from[k] = from;
        if let Some(m) = rev_map.as_mut() {
            m[k] = map;
        }
        fill[to as usize] += 1;
    }
    let building = fill.capacity() * 4
        + start.capacity() * 4
        + rev_from.capacity() * 4
        + rev_map.as_ref().map_or(0, |m| m.capacity() * 2);
    drop(fill);
    let walk = Walk {
        start,
        rev_from,
        rev_map,
        identity,
        w,
        phones,
        reached: (0..n).map(|_| AtomicU8::new(0)).collect(),
        events: nodes.iter().map(|node| node.events).max().unwrap_or(0),
        queue_peak: AtomicUsize::new(0),
    };
    let threads = lifted.as_ref().map_or(1, |l| l.threads.max(1));
    let stranded = analyse(&walk, nodes, lifted);
    (stranded, building.max(walk.heap_bytes(threads)))
}

/// The backward reachability from the goals, then the searches for what it leaves open.
fn analyse(walk: &Walk, nodes: &[NodeInfo], lifted: Option<Lifted>) -> Stranded {
    let (n, phones) = (nodes.len(), walk.phones);
    let mut queue = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for h in 0..phones {
            if node.goal & (1 << h) != 0 {
                walk.mark(i as u32, h, &mut queue);
            }
        }
    }
    walk.spread(&mut queue);
    // What the graph leaves open, the lifted world may still close. Deepest states first,
    // so that each way found spreads back before the shallower states are searched (on the
    // reference world a tenth of the time of BFS order). A pair the lifted world cannot close
    // either breaks the property: its search went through the whole of the holder's own
    // closure. Then the states are gone through again in BFS order for the shallowest such
    // pair, the counterexample.
    let Some(lifted) = lifted else {
        return nodes
            .iter()
            .enumerate()
            .find_map(|(i, node)| walk.open(i, node).next().map(|h| Stranded::At(i as u32, h)))
            .unwrap_or(Stranded::None);
    };
    match close_deepest_first(walk, nodes, &lifted) {
        First::Closed => return Stranded::None,
        First::Cut => return Stranded::Cut,
        First::Stranded => {}
    }
    let mut pass = Pass::new(walk, nodes, &lifted);
    for i in 0..n {
        if lifted.deadline.is_some_and(|d| Instant::now() > d) {
            return Stranded::Cut;
        }
        if let Some(h) = pass.close(i) {
            return Stranded::At(i as u32, h);
        }
    }
    Stranded::None
}

/// One thread's searches, with its own replays and spreading queue.
struct Pass<'a> {
    walk: &'a Walk,
    nodes: &'a [NodeInfo],
    lifted: &'a Lifted<'a>,
    replays: Replays,
    queue: Vec<u32>,
}

impl<'a> Pass<'a> {
    fn new(walk: &'a Walk, nodes: &'a [NodeInfo], lifted: &'a Lifted<'a>) -> Pass<'a> {
        Pass {
            walk,
            nodes,
            lifted,
            replays: Replays::default(),
            queue: Vec::new(),
        }
    }

    /// Close the open pairs of state `i` by searches in the lifted world, each against the
    /// marks of its turn; the first phone that cannot be closed.
    fn close(&mut self, i: usize) -> Option<u8> {
        let walk = self.walk;
        let open: Vec<u8> = walk.open(i, &self.nodes[i]).collect();
        if open.is_empty() {
            return None;
        }
        let s = (self.lifted.state)(i as u32, &mut self.replays);
        for h in open {
            if walk.reached(i as u32, h) {
                continue;
            }
            let (config, find) = (self.lifted.config, self.lifted.find);
            let known = |stored| walk.known(stored, h);
            let Some(way) = search::search(config, &s, PhoneId(h), find, walk.events, &known)
            else {
                return Some(h);
            };
            // Every explored state on the way reaches the goal too: marked, and spread back.
            // (Remembering the ways' states beyond the bounds as well saved no time and took
            // 190 MB more on the reference world: measured.)
            for (j, map) in way {
                walk.mark(j, image(map, h), &mut self.queue);
            }
            walk.mark(i as u32, h, &mut self.queue);
            walk.spread(&mut self.queue);
        }
        None
    }
}

/// How the first pass ended.
enum First {
    /// Every open pair closed.
    Closed,
    /// Some pair is stranded (not necessarily the first in BFS order).
    Stranded,
    /// The deadline passed.
    Cut,
}

/// The first pass: every state's open pairs, deepest states first, in small chunks taken in
/// turn by `lifted.threads` threads.
fn close_deepest_first(walk: &Walk, nodes: &[NodeInfo], lifted: &Lifted) -> First {
    let n = nodes.len();
    // States not yet taken: the chunk below `next` is taken next.
    let next = AtomicUsize::new(n);
    let done = AtomicUsize::new(0);
    let (stranded, cut) = (AtomicBool::new(false), AtomicBool::new(false));
    let work = |first: bool| {
        let mut pass = Pass::new(walk, nodes, lifted);
        while !stranded.load(Relaxed) && !cut.load(Relaxed) {
            if lifted.deadline.is_some_and(|d| Instant::now() > d) {
                cut.store(true, Relaxed);
                return;
            }
            let Ok(hi) = next.fetch_update(Relaxed, Relaxed, |hi| {
                (hi > 0).then(|| hi.saturating_sub(CHUNK))
            }) else {
                return;
            };
            let lo = hi.saturating_sub(CHUNK);
            if (lo..hi).rev().any(|i| pass.close(i).is_some()) {
                stranded.store(true, Relaxed);
                return;
            }
            let done = done.fetch_add(hi - lo, Relaxed) + hi - lo;
            if first {
                (lifted.progress)(done, n);
            }
        }
    };
    let threads = lifted.threads.max(1);
    if threads == 1 {
        work(true);
    } else {
        std::thread::scope(|scope| {
            for t in 0..threads {
                let work = &work;
                scope.spawn(move || work(t == 0));
            }
        });
    }
    if stranded.load(Relaxed) {
        First::Stranded
    } else if cut.load(Relaxed) {
        First::Cut
    } else {
        First::Closed
    }
}

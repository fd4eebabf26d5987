//! The analysis proper: the backward reachability over the reversed own-action edges, then
//! the searches in the lifted world for the pairs it leaves open ([`super::search`]).

use super::search;
use super::{image, Lifted, NodeInfo};
use crate::ids::PhoneId;

/// Backward reachability over the reversed own-action edges.
pub(super) struct Walk {
    start: Vec<u32>,
    rev_from: Vec<u32>,
    rev_map: Vec<u16>,
    w: usize,
    phones: u8,
    /// reached[(state, phone)]: that phone can reach its goal from that state.
    reached: Vec<bool>,
    queue: Vec<u32>,
    /// The most detours an explored state has.
    events: u8,
}

impl Walk {
    fn mark(&mut self, i: u32, h: u8) {
        let k = i as usize * self.w + usize::from(h);
        if !self.reached[k] {
            self.reached[k] = true;
            self.queue.push(i * self.w as u32 + u32::from(h));
        }
    }

    fn spread(&mut self) {
        let w = self.w as u32;
        while let Some(pair) = self.queue.pop() {
            let (t, ht) = (pair / w, (pair % w) as u8);
            let range = self.start[t as usize] as usize..self.start[t as usize + 1] as usize;
            for k in range {
                let (from, map) = (self.rev_from[k], self.rev_map[k]);
                // Phone `h` of `from` is phone `image(map, h)` of `t`.
                for h in 0..self.phones {
                    if image(map, h) == ht {
                        self.mark(from, h);
                    }
                }
            }
        }
    }

    fn reached(&self, i: u32, h: u8) -> bool {
        self.reached[i as usize * self.w + usize::from(h)]
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

/// [`super::stranded`] over `count` edges listed (twice) by `edges`.
pub fn stranded_by<I: Iterator<Item = (u32, u32, u16)>>(
    nodes: &[NodeInfo],
    count: usize,
    edges: impl Fn() -> I,
    phones: u8,
    lifted: Option<Lifted>,
) -> Option<(u32, u8)> {
    let n = nodes.len();
    let w = usize::from(phones);
    u32::try_from(n * w).expect("more (state, phone) pairs than a u32 numbers");
    // Reverse adjacency in CSR form.
    let mut start = vec![0u32; n + 1];
    for (_, to, _) in edges() {
        start[to as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let (mut rev_from, mut rev_map) = (vec![0u32; count], vec![0u16; count]);
    for (from, to, map) in edges() {
        let k = fill[to as usize] as usize;
        rev_from[k] = from;
        rev_map[k] = map;
        fill[to as usize] += 1;
    }
    drop(fill);
    let mut walk = Walk {
        start,
        rev_from,
        rev_map,
        w,
        phones,
        reached: vec![false; n * w],
        queue: Vec::new(),
        events: nodes.iter().map(|node| node.events).max().unwrap_or(0),
    };
    for (i, node) in nodes.iter().enumerate() {
        for h in 0..phones {
            if node.goal & (1 << h) != 0 {
                walk.mark(i as u32, h);
            }
        }
    }
    walk.spread();
    // What the graph leaves open, the lifted world may still close. Deepest states first,
    // so that each way found spreads back before the shallower states are searched (on the
    // reference world a tenth of the time of BFS order). A pair the lifted world cannot close
    // either breaks the property: its search went through the whole of the holder's own
    // closure. Then the states are gone through again in BFS order for the shallowest such
    // pair, the counterexample.
    if let Some(mut lifted) = lifted {
        // No pair left open: the property holds.
        close(&mut walk, nodes, &mut lifted, &mut (0..n).rev())?;
        return close(&mut walk, nodes, &mut lifted, &mut (0..n));
    }
    nodes
        .iter()
        .enumerate()
        .find_map(|(i, node)| walk.open(i, node).next().map(|h| (i as u32, h)))
}

/// Close the open pairs of the states in `order` by searches in the lifted world, each
/// against the marks of its turn; the first pair that cannot be closed.
fn close(
    walk: &mut Walk,
    nodes: &[NodeInfo],
    lifted: &mut Lifted,
    order: &mut dyn Iterator<Item = usize>,
) -> Option<(u32, u8)> {
    for i in order {
        let open: Vec<u8> = walk.open(i, &nodes[i]).collect();
        if open.is_empty() {
            continue;
        }
        let s = (lifted.state)(i as u32);
        for h in open {
            if walk.reached(i as u32, h) {
                continue;
            }
            let (find, events) = (lifted.find, walk.events);
            let known = |stored| walk.known(stored, h);
            let Some(way) = search::search(lifted.config, &s, PhoneId(h), find, events, &known)
            else {
                return Some((i as u32, h));
            };
            // Every explored state on the way reaches the goal too: marked, and spread back.
            // (Remembering the ways' states beyond the bounds as well saved no time and took
            // 190 MB more on the reference world: measured.)
            for (j, map) in way {
                walk.mark(j, image(map, h));
            }
            walk.mark(i as u32, h);
            walk.spread();
        }
    }
    None
}

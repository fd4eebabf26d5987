//! What INV-NO-DEAD-END needs from the engine's search, kept compactly: the analysis' view
//! of each state ([`deadend::NodeInfo`], 3 bytes) and the persons' own-action edges as a
//! forward adjacency by state id (4 bytes per state, 4 per edge, plus 2 for the phone
//! renaming under symmetry). After a complete search the edges are reversed by index and
//! [`deadend::stranded_by`] runs its backward reachability.

use crate::deadend::{self, NodeInfo};

pub struct Graph {
    nodes: Vec<NodeInfo>,
    /// `starts[i]`: the first edge out of state `i` (edges are added in state order).
    starts: Vec<u32>,
    to: Vec<u32>,
    /// The phone renaming of each edge (only under symmetry; else the identity).
    maps: Vec<u16>,
    identity: u16,
    sym: bool,
    /// Heap bytes the analysis held at its largest (measured; 0 before it ran).
    analysis: usize,
}

impl Graph {
    pub fn new(phones: u8, sym: bool) -> Graph {
        Graph {
            nodes: Vec::new(),
            starts: Vec::new(),
            to: Vec::new(),
            maps: Vec::new(),
            identity: deadend::identity(phones),
            sym,
            analysis: 0,
        }
    }

    /// The next expanded state's view (states are expanded in id order).
    pub fn node(&mut self, info: NodeInfo) {
        self.nodes.push(info);
    }

    /// An own-action edge out of `from` (not before an edge out of an earlier state).
    pub fn edge(&mut self, from: u32, to: u32, map: u16) {
        let first = u32::try_from(self.to.len()).expect("more than 4 billion own-action edges");
        while self.starts.len() <= from as usize {
            self.starts.push(first);
        }
        self.to.push(to);
        if self.sym {
            self.maps.push(map);
        }
    }

    fn edges(&self) -> impl Iterator<Item = (u32, u32, u16)> + '_ {
        let ends = self
            .starts
            .iter()
            .skip(1)
            .copied()
            .chain([self.to.len() as u32]);
        self.starts
            .iter()
            .copied()
            .zip(ends)
            .enumerate()
            .flat_map(move |(from, (s, e))| {
                (s..e).map(move |k| {
                    let map = if self.sym {
                        self.maps[k as usize]
                    } else {
                        self.identity
                    };
                    (from as u32, self.to[k as usize], map)
                })
            })
    }

    /// Heap bytes of the graph at its largest: the forward adjacency held during the search,
    /// and beside it, once the analysis ran, what the analysis held at its largest (the
    /// reverse adjacency, the marks, the spreading queues; measured). Besides, each thread's
    /// search holds the states it has met (a few dozen on a way out, a stranded pair's whole
    /// closure in the lifted world) and its replays one path of states; neither grows with
    /// the graph.
    pub fn peak_bytes(&self) -> usize {
        let forward = self.nodes.capacity() * std::mem::size_of::<NodeInfo>()
            + self.starts.capacity() * 4
            + self.to.capacity() * 4
            + self.maps.capacity() * 2;
        forward + self.analysis
    }

    /// The first state (in id order) with a stranded phone, over `states` states.
    pub fn stranded(
        &mut self,
        states: usize,
        phones: u8,
        lifted: Option<deadend::Lifted>,
    ) -> deadend::Stranded {
        // States never expanded (none in a complete search) apply to no phone.
        if self.nodes.len() < states {
            self.nodes.resize(states, NodeInfo::default());
        }
        let (stranded, bytes) =
            deadend::stranded_by(&self.nodes, self.to.len(), || self.edges(), phones, lifted);
        self.analysis = bytes;
        stranded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(goal: u8, applies: u8) -> NodeInfo {
        NodeInfo {
            goal,
            applies,
            events: 0,
        }
    }

    #[test]
    fn a_phone_with_no_own_way_to_its_goal_is_stranded_through_renamings() {
        // 0 -> 1 -> 2 (goal of phone 0); 0 -> 3 (no way on). Phone 1 in hand at 3.
        let mut g = Graph::new(2, true);
        let id = deadend::identity(2);
        let swap = deadend::pack(&[1, 0]);
        g.node(node(0, 0b01));
        g.node(node(0, 0b10));
        g.node(node(0b01, 0b01));
        g.node(node(0, 0b10));
        // Phone 0 of state 0 is phone 1 of state 1 (renamed), phone 0 of state 2 again.
        g.edge(0, 1, swap);
        g.edge(1, 2, swap);
        g.edge(2, 3, id);
        // State 3 holds phone 1, with no edge on: stranded, the first such state.
        assert_eq!(g.stranded(4, 2, None), deadend::Stranded::At(3, 1));
        // Its goal reached there, nothing is stranded.
        g.nodes[3].goal = 0b10;
        assert_eq!(g.stranded(4, 2, None), deadend::Stranded::None);
        // Without the renaming, phone 0 of state 0 reaches phone 0 of state 2 only if ...
        let mut plain = Graph::new(2, false);
        plain.node(node(0, 0b01));
        plain.node(node(0, 0b10));
        plain.node(node(0b01, 0b01));
        plain.edge(0, 1, swap);
        plain.edge(1, 2, swap);
        // ... renamings are ignored (identity): phone 1 of state 1 cannot reach phone 1's
        // goal at state 2.
        assert_eq!(plain.stranded(3, 2, None), deadend::Stranded::At(1, 1));
    }

    /// A graph of one state of the `single` world whose phone is in hand without its goal
    /// and with no edge: the graph leaves it open, only a search in the lifted world closes it.
    fn one_open_state() -> Graph {
        let mut g = Graph::new(1, false);
        g.node(node(0, 0b1));
        g
    }

    #[test]
    fn the_lifted_search_closes_a_pair_the_graph_leaves_open_on_several_threads() {
        let config = crate::Config::single();
        let lifted = deadend::lifted(&config);
        let initial = crate::State::initial(&config);
        let searched = std::sync::atomic::AtomicUsize::new(0);
        let state = |id: u32, _: &mut deadend::Replays| {
            assert_eq!(id, 0);
            searched.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            initial.clone()
        };
        let walk = deadend::Lifted {
            config: &lifted,
            state: &state,
            find: &|_| None,
            threads: 4,
            deadline: None,
            progress: &|_, _| {},
        };
        // From the initial state the holder gets `single`'s one kind by the happy path: not
        // stranded, closed by one search.
        assert_eq!(
            one_open_state().stranded(1, 1, Some(walk)),
            deadend::Stranded::None
        );
        assert_eq!(searched.into_inner(), 1);
    }

    #[test]
    fn an_analysis_past_its_deadline_is_cut_not_decided() {
        let config = crate::Config::single();
        let initial = crate::State::initial(&config);
        let state = |_: u32, _: &mut deadend::Replays| initial.clone();
        let past = std::time::Instant::now()
            .checked_sub(std::time::Duration::from_secs(1))
            .expect("a second after boot");
        for threads in [1, 2] {
            let walk = deadend::Lifted {
                config: &config,
                state: &state,
                find: &|_| None,
                threads,
                deadline: Some(past),
                progress: &|_, _| {},
            };
            assert_eq!(
                one_open_state().stranded(1, 1, Some(walk)),
                deadend::Stranded::Cut
            );
        }
    }

    #[test]
    fn the_analysis_counts_what_it_held_and_keeps_renamings_only_when_there_are_some() {
        // 0 -> 1, both phones goals at 1: the same marks whatever the renaming.
        let build = |sym, map| {
            let mut g = Graph::new(2, sym);
            g.node(node(0, 0b11));
            g.node(node(0b11, 0b11));
            g.edge(0, 1, map);
            g
        };
        let mut plain = build(false, deadend::identity(2));
        let mut renamed = build(true, deadend::pack(&[1, 0]));
        let forward = (plain.peak_bytes(), renamed.peak_bytes());
        assert_eq!(plain.stranded(2, 2, None), deadend::Stranded::None);
        assert_eq!(renamed.stranded(2, 2, None), deadend::Stranded::None);
        // The analysis' arrays and queue come on top of the forward adjacency ...
        assert!(plain.peak_bytes() > forward.0);
        // ... and a renaming per reversed edge (2 bytes, one edge) only when one is not the
        // identity; the forward adjacency keeps it under symmetry (2 bytes more there too).
        assert_eq!(forward.1 - forward.0, renamed.maps.capacity() * 2);
        assert_eq!(
            (renamed.peak_bytes() - forward.1) - (plain.peak_bytes() - forward.0),
            2
        );
    }
}

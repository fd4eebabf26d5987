//! INV-NO-DEAD-END on the explored graph: from every reachable state, a person holding a
//! working phone can reach, by their own actions, a state in which that phone holds a usable
//! credential of each kind (004 基本方針2: 速やかに新たなスマホ用電子証明書を搭載できる).
//!
//! [`crate::check`] records, for every state, which phones are goals and which are held in hand
//! by a person, and every own-action edge; [`stranded`] then runs a backward reachability per
//! (state, phone).
//!
//! World bounds (detour budget, certs, issuances, card generations, app installs, sessions)
//! must not be mistaken for a dead end, and must not excuse one either. A (state, phone) pair
//! that cannot reach its goal in the explored graph is searched on from that state in the
//! world with its bounds lifted by a margin ([`lifted`]), through the holder's own actions on
//! that phone and with their card ([`reaches_goal`]); the search stops at a goal or at a state
//! of the explored graph already known to reach one. Only a pair that this search cannot take
//! to its goal is a dead end. A way out that needs more than the margin (more detours, certs or
//! sessions than [`lifted`] adds) is reported as one; the margin covers the longest way out
//! the rules have (revoking both kinds, abandoning a session, renewing the card, reinstalling
//! the app, issuing both kinds).

use crate::action::{Action, PinEntry};
use crate::config::Config;
use crate::ids::{PersonId, PhoneId};
use crate::rules::{candidate_actions, step};
use crate::state::{CertStatus, Condition, Holder, Pin, Slot, State};

/// What the analysis needs to know about one state.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeInfo {
    /// Bit `h`: phone `h` holds a usable credential of every kind for the person holding it.
    pub goal: u8,
    /// Bit `h`: phone `h` is in the hand of a person (the property speaks of that person).
    pub applies: u8,
}

/// A person's own actions, the ones that can take them to the goal: the happy path, going
/// online, finding the phone, the app, renewing the card at the municipal office, PIN entry
/// with the right PIN, PIN init, resumption, abandoning a session, revocation from the phone
/// or with the card, and the deletion pushes the system sends on their behalf. Not theirs:
/// world events (loss, breakage, card revocation or expiry, cert expiry, lost pushes,
/// suspension by the call center), wrong PINs, going offline, uninstalling, resetting and
/// parting with the phone.
pub fn is_own(a: &Action) -> bool {
    use Action::*;
    match a {
        GoOnline(_) | Find(_) | InstallApp(_) | InstallApplet(_) | CardRenew(_) | InitPin(..)
        | Apply(..) | GenerateKey(_) | CaIssue(_) | WriteCert(_) | SetUserPin(_)
        | AbandonIssuance(_) | RevokeFromPhone(..) | RevokeWithCard(..) | DeliverPush(_) => true,
        Use(_, _, e) | ChangePin(_, _, e) | Resume(_, _, e) => *e == PinEntry::Right,
        GoOffline(_) | Lose(_) | Break(_) | UninstallApp(_) | CardRevoke(_) | CardExpire(_)
        | Suspend(..) | DropPush(_) | CertExpire(_) | FactoryReset(_) | HandOver(..)
        | Dispose(..) => false,
        // The threat actors' and the alternatives' actions (crate::threats) are strangers'
        // or the world's, or change no slot: none is needed to reach the goal.
        StrangerFinds(_) | ReaderUse(..) | ReadAuthCert(_) | ReadSignCert(..) | SignOffline(..)
        | PresentSignature(_) | EnrollFinger(_) | BiometricUse(_) | SimSwap(_)
        | ApplyWithCode(..) => false,
    }
}

/// The configuration with every world bound lifted by the margin of the longest way out:
/// per kind a revocation, an abandoned session and an issuance, plus a card renewal, an app
/// reinstall and the detours these spend. Finite, so the search from a stranded state ends.
pub fn lifted(config: &Config) -> Config {
    let kinds = config.kinds.len() as u8;
    let add = |b: Option<u8>, n: u8| b.map(|b| b.saturating_add(n));
    Config {
        max_card_generations: config.max_card_generations.saturating_add(1),
        max_issuances: config.max_issuances.saturating_add(kinds),
        max_app_installs: config.max_app_installs.saturating_add(1),
        // Per kind a revocation and an abandonment, and a card renewal.
        max_events: add(config.max_events, 2 * kinds + 1),
        max_certs: add(config.max_certs, kinds),
        max_sessions: add(config.max_sessions, 2 * kinds),
        ..config.clone()
    }
}

/// Whether `a` is an own action ([`is_own`]) of person `p` that can bring phone `h` to its
/// goal: on `h` itself, with `p`'s card (a revocation with the card reaches `p`'s certs on
/// any phone, R-REVOKE (b)), or the deletion push for one of `p`'s certs. Using a credential
/// changes no slot and is left out.
fn concerns(s: &State, p: PersonId, h: PhoneId, a: &Action) -> bool {
    use Action::*;
    is_own(a)
        && match *a {
            CardRenew(q) | RevokeWithCard(q, _) => q == p,
            DeliverPush(serial) => s.cert(serial).person == p,
            Use(..) => false,
            _ => a.phone() == Some(h),
        }
}

/// The way the holder of phone `h` takes from `s` to the goal on `h` by their own actions in
/// `lifted` (the states from `s` on, the last one a goal or `known`), if there is one: a
/// depth-first search over that person's own actions that tries the detours first (a
/// revocation, an abandoned session, a card renewal): a pair is left to this search because a
/// bound removed what it needed, and that is nearly always a detour (measured on the reference
/// world: detours first, the analysis takes a fifth of the time it takes with them last). A
/// stranded state explores its whole closure, which the lifted bounds keep finite. `known(t, h)`: phone `h` of state `t` is already known to
/// reach its goal.
pub fn way_to_goal(
    lifted: &Config,
    s: &State,
    h: PhoneId,
    known: &mut dyn FnMut(&State, PhoneId) -> bool,
) -> Option<Vec<State>> {
    let Holder::Person(p) = s.phone(h).holder else {
        return None;
    };
    // Every state met, with the index of the state it was met from.
    let mut met: Vec<(State, usize)> = vec![(s.clone(), usize::MAX)];
    let mut seen = std::collections::HashSet::new();
    seen.insert(s.clone());
    let mut stack = vec![0usize];
    let mut cands = Vec::new();
    while let Some(i) = stack.pop() {
        let t = &met[i].0;
        if goal(lifted, t, h) || (i != 0 && known(t, h)) {
            let mut way = Vec::new();
            let mut k = i;
            while k != usize::MAX {
                way.push(met[k].0.clone());
                k = met[k].1;
            }
            way.reverse();
            return Some(way);
        }
        cands.clear();
        candidate_actions(lifted, t, &mut cands);
        cands.retain(|a| concerns(t, p, h, a));
        // Detours pushed last, so popped first, the first candidate on top.
        cands.sort_by_key(|a| !lifted.is_detour(a));
        let next: Vec<State> = cands
            .iter()
            .rev()
            .map(|&a| step(lifted, t, a).next)
            .collect();
        for n in next {
            if seen.insert(n.clone()) {
                stack.push(met.len());
                met.push((n, i));
            }
        }
    }
    None
}

/// Whether phone `h` holds, for its holder, a usable credential of every kind in play.
pub fn goal(config: &Config, s: &State, h: PhoneId) -> bool {
    let ph = s.phone(h);
    let Holder::Person(p) = ph.holder else {
        return false;
    };
    ph.condition == Condition::InHand
        && config.kinds.iter().all(|&k| match ph.slot(k) {
            Slot::Cert {
                serial,
                pin: Pin::User { .. },
            } => {
                let c = s.cert(serial);
                c.person == p && c.status == CertStatus::Active
            }
            _ => false,
        })
}

/// The analysis' view of one state.
pub fn node_info(config: &Config, s: &State) -> NodeInfo {
    let mut info = NodeInfo::default();
    for h in config.phone_ids() {
        let ph = s.phone(h);
        if matches!(ph.holder, Holder::Person(_)) && ph.condition == Condition::InHand {
            info.applies |= 1 << h.0;
            if goal(config, s, h) {
                info.goal |= 1 << h.0;
            }
        }
    }
    info
}

/// Pack a phone renaming (`map[i]` = new id of phone `i`, at most 5 phones) into 3 bits each.
pub fn pack(map: &[u8]) -> u16 {
    map.iter()
        .enumerate()
        .fold(0, |acc, (i, &j)| acc | (u16::from(j) << (3 * i)))
}

/// The form in which a checker stores `t` (its representative under symmetry, else `t`), and
/// the renaming of phones from `t` into it, as [`pack`]ed.
pub fn stored_form(t: &State, sym: bool, phones: u8) -> (std::borrow::Cow<'_, State>, u16) {
    if sym {
        let (rep, perm) = crate::symmetry::representative(t);
        (std::borrow::Cow::Owned(rep), pack(&perm.phones))
    } else {
        (std::borrow::Cow::Borrowed(t), identity(phones))
    }
}

/// The identity renaming of `phones` phones.
pub fn identity(phones: u8) -> u16 {
    pack(&(0..phones).collect::<Vec<_>>())
}

fn image(map: u16, h: u8) -> u8 {
    ((map >> (3 * h)) & 7) as u8
}

/// The states of the explored graph, for the searches in the lifted world: `state(id)` gives
/// a stored state back, `find(t)` the stored state `t` is a renaming of, with the renaming of
/// phones from `t` into it.
pub struct Lifted<'a> {
    pub config: &'a Config,
    pub state: &'a mut dyn FnMut(u32) -> State,
    pub find: &'a dyn Fn(&State) -> Option<(u32, u16)>,
}

/// The first state (in BFS order) from which some phone in a person's hand cannot reach its
/// goal by own actions, with that phone. `edges` are own-action edges (from, to, phone
/// renaming from `from`'s numbering to `to`'s). Without `lifted`, bounds are not told apart
/// (for tests of the graph walk).
pub fn stranded(
    nodes: &[NodeInfo],
    edges: &[(u32, u32, u16)],
    phones: u8,
    lifted: Option<Lifted>,
) -> Option<(u32, u8)> {
    stranded_by(nodes, edges.len(), || edges.iter().copied(), phones, lifted)
}

/// Heap bytes [`stranded_by`] allocates for `n` states and `e` edges (at most).
pub fn analysis_bytes(n: usize, e: usize, phones: u8) -> usize {
    let w = usize::from(phones);
    // Two offset arrays, the reversed edges, the marks and the work queue (at its longest).
    2 * (n + 1) * 4 + e * (4 + 2) + n * w + n * w * 4
}

/// Backward reachability over the reversed own-action edges.
struct Walk {
    start: Vec<u32>,
    rev_from: Vec<u32>,
    rev_map: Vec<u16>,
    w: usize,
    phones: u8,
    /// reached[(state, phone)]: that phone can reach its goal from that state.
    reached: Vec<bool>,
    queue: Vec<u32>,
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

    fn open(&self, i: usize, node: &NodeInfo) -> impl Iterator<Item = u8> + '_ {
        let applies = node.applies;
        (0..self.phones)
            .filter(move |&h| applies & (1 << h) != 0 && !self.reached[i * self.w + usize::from(h)])
    }
}

/// [`stranded`] over `count` edges listed (twice) by `edges`.
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
    if let Some(Lifted {
        config,
        state,
        find,
    }) = lifted
    {
        let close = |walk: &mut Walk, i: usize, s: &State, h: u8| -> bool {
            let reached = &walk.reached;
            let mut known = |t: &State, g: PhoneId| {
                find(t)
                    .is_some_and(|(j, map)| reached[j as usize * w + usize::from(image(map, g.0))])
            };
            let Some(way) = way_to_goal(config, s, PhoneId(h), &mut known) else {
                return false;
            };
            // Every explored state on the way reaches the goal too: marked, and spread back.
            // (Remembering the ways' states beyond the bounds as well saved no time and took
            // 190 MB more on the reference world: measured.)
            for (j, map) in way.iter().filter_map(find) {
                walk.mark(j, image(map, h));
            }
            walk.mark(i as u32, h);
            walk.spread();
            true
        };
        let mut pass = |walk: &mut Walk, order: &mut dyn Iterator<Item = usize>| {
            for i in order {
                let open: Vec<u8> = walk.open(i, &nodes[i]).collect();
                if open.is_empty() {
                    continue;
                }
                let s = state(i as u32);
                for h in open {
                    if !walk.reached[i * w + usize::from(h)] && !close(walk, i, &s, h) {
                        return Some((i as u32, h));
                    }
                }
            }
            None
        };
        // No pair left open: the property holds.
        pass(&mut walk, &mut (0..n).rev())?;
        return pass(&mut walk, &mut (0..n));
    }
    nodes
        .iter()
        .enumerate()
        .find_map(|(i, node)| walk.open(i, node).next().map(|h| (i as u32, h)))
}

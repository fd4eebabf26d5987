//! INV-NO-DEAD-END on the explored graph: from every reachable state, a person holding a
//! working phone can reach, by their own actions, a state in which that phone holds a usable
//! credential of each kind (004 基本方針2: 速やかに新たなスマホ用電子証明書を搭載できる).
//!
//! [`crate::check`] records, for every state, which phones are goals and which are held in hand
//! by a person, whether a world bound removed one of the persons' own actions there, and every
//! own-action edge; [`stranded`] then runs a backward reachability per (state, phone). A state
//! from which the only way on is an action a bound removed (detour budget, certs, issuances,
//! card generations, app installs, sessions) is a target, never a dead end: the bound, not
//! the design, stops the person there.

use crate::action::{Action, PinEntry};
use crate::config::Config;
use crate::ids::PhoneId;
use crate::rules::candidate_actions;
use crate::state::{CertStatus, Condition, Holder, Pin, Slot, State};

/// What the analysis needs to know about one state.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeInfo {
    /// Bit `h`: phone `h` holds a usable credential of every kind for the person holding it.
    pub goal: u8,
    /// Bit `h`: phone `h` is in the hand of a person (the property speaks of that person).
    pub applies: u8,
    /// A world bound removed one of the persons' own actions here.
    pub excused: bool,
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

/// The configuration with every world bound lifted (same persons, phones, kinds, policy).
pub fn unbounded(config: &Config) -> Config {
    Config {
        max_card_generations: u8::MAX,
        max_issuances: u8::MAX,
        max_app_installs: u8::MAX,
        max_events: None,
        max_certs: None,
        max_sessions: None,
        ..config.clone()
    }
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

/// The analysis' view of one state; `free` is [`unbounded`] of `config`.
pub fn node_info(config: &Config, free: &Config, s: &State) -> NodeInfo {
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
    if info.applies & !info.goal != 0 {
        let (mut bounded, mut all) = (Vec::new(), Vec::new());
        candidate_actions(config, s, &mut bounded);
        candidate_actions(free, s, &mut all);
        info.excused = all.iter().any(|a| is_own(a) && !bounded.contains(a));
    }
    info
}

/// Pack a phone renaming (`map[i]` = new id of phone `i`, at most 5 phones) into 3 bits each.
pub fn pack(map: &[u8]) -> u16 {
    map.iter()
        .enumerate()
        .fold(0, |acc, (i, &j)| acc | (u16::from(j) << (3 * i)))
}

/// The identity renaming of `phones` phones.
pub fn identity(phones: u8) -> u16 {
    pack(&(0..phones).collect::<Vec<_>>())
}

fn image(map: u16, h: u8) -> u8 {
    ((map >> (3 * h)) & 7) as u8
}

/// The first state (in BFS order) from which some phone in a person's hand cannot reach its
/// goal by own actions, with that phone. `edges` are own-action edges (from, to, phone
/// renaming from `from`'s numbering to `to`'s).
pub fn stranded(nodes: &[NodeInfo], edges: &[(u32, u32, u16)], phones: u8) -> Option<(u32, u8)> {
    stranded_by(nodes, edges.len(), || edges.iter().copied(), phones)
}

/// Heap bytes [`stranded_by`] allocates for `n` states and `e` edges (at most).
pub fn analysis_bytes(n: usize, e: usize, phones: u8) -> usize {
    let w = usize::from(phones);
    // Two offset arrays, the reversed edges, the marks and the work queue (at its longest).
    2 * (n + 1) * 4 + e * (4 + 2) + n * w + n * w * 4
}

/// [`stranded`] over `count` edges listed (twice) by `edges`.
pub fn stranded_by<I: Iterator<Item = (u32, u32, u16)>>(
    nodes: &[NodeInfo],
    count: usize,
    edges: impl Fn() -> I,
    phones: u8,
) -> Option<(u32, u8)> {
    let n = nodes.len();
    let w = usize::from(phones);
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
    // reached[(state, phone)]: that phone can reach its goal (or a bound) from that state.
    let mut reached = vec![false; n * w];
    // (state, phone) pairs to go back from, as `state * phones + phone`.
    u32::try_from(n * w).expect("more (state, phone) pairs than a u32 numbers");
    let mut queue: Vec<u32> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for h in 0..phones {
            if node.goal & (1 << h) != 0 || node.excused {
                reached[i * w + usize::from(h)] = true;
                queue.push((i * w) as u32 + u32::from(h));
            }
        }
    }
    while let Some(pair) = queue.pop() {
        let (t, ht) = (pair / w as u32, (pair % w as u32) as u8);
        let range = start[t as usize] as usize..start[t as usize + 1] as usize;
        for (&from, &map) in rev_from[range.clone()].iter().zip(&rev_map[range]) {
            // Phone `h` of `from` is phone `image(map, h)` of `t`.
            for h in 0..phones {
                if image(map, h) == ht && !reached[from as usize * w + usize::from(h)] {
                    reached[from as usize * w + usize::from(h)] = true;
                    queue.push(from * w as u32 + u32::from(h));
                }
            }
        }
    }
    nodes.iter().enumerate().find_map(|(i, node)| {
        (0..phones)
            .find(|&h| node.applies & (1 << h) != 0 && !reached[i * w + usize::from(h)])
            .map(|h| (i as u32, h))
    })
}

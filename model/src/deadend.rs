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
//! that phone and with their card ([`search`]); the search stops at a goal or at a state of the
//! explored graph already known to reach one, and marks the explored states of its way. Only a
//! pair that this search cannot take to its goal is a dead end. A way out that needs more than
//! the margin (more detours, certs or sessions than [`lifted`] adds) is reported as one; the
//! margin covers the longest way out the rules have (revoking both kinds, abandoning a
//! session, renewing the card, reinstalling the app, issuing both kinds).
//!
//! Cost: nearly all of the analysis is these searches (on the deep world 1.6 million of them,
//! for the 19 million pairs the graph leaves open; 32 million states taken, 96% of them
//! beyond the bounds). A search keeps the states it meets once each, by a fast hash and a full
//! comparison, looks up only states within the explored states' detour count, and records
//! what it looked up, so that marking its way needs no second lookup ([`search`]). The
//! searches run on several threads sharing the marks ([`walk`]): on the deep world 50 s on
//! one thread, 29 s on two.

mod search;
mod walk;

pub use walk::{stranded_by, Stranded};

use crate::action::{Action, PinEntry};
use crate::config::Config;
use crate::ids::{PersonId, PhoneId};
use crate::state::{CertStatus, Condition, Holder, Pin, Slot, State};

/// What the analysis needs to know about one state.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct NodeInfo {
    /// Bit `h`: phone `h` holds a usable credential of every kind for the person holding it.
    pub goal: u8,
    /// Bit `h`: phone `h` is in the hand of a person (the property speaks of that person).
    pub applies: u8,
    /// Detours taken ([`State::events`]): a state of the lifted world with more detours than
    /// every explored state is not one of them, and is not looked up.
    pub events: u8,
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
    let mut info = NodeInfo {
        events: s.events,
        ..NodeInfo::default()
    };
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

/// The states of the explored graph, for the searches in the lifted world: `state(id, r)`
/// gives a stored state back (replayed with `r`, one per thread), `find(t)` the stored state
/// `t` is a renaming of, with the renaming of phones from `t` into it. The searches run on
/// `threads` threads, stop at `deadline`, and report `progress(states done, states)`.
pub struct Lifted<'a> {
    pub config: &'a Config,
    pub state: &'a (dyn Fn(u32, &mut Replays) -> State + Sync),
    pub find: &'a (dyn Fn(&State) -> Option<(u32, u16)> + Sync),
    pub threads: usize,
    pub deadline: Option<std::time::Instant>,
    pub progress: &'a (dyn Fn(usize, usize) + Sync),
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
) -> Stranded {
    stranded_by(nodes, edges.len(), || edges.iter().copied(), phones, lifted).0
}

/// Stored states replayed in turn from the initial state, each from the deepest state its
/// path shares with the previous one: the analysis replays the states it searches from in id
/// order, and neighbours in that order share most of their paths.
#[derive(Default)]
pub struct Replays {
    /// The last path replayed (state ids from the initial state on) and its states.
    ids: Vec<u32>,
    states: Vec<State>,
}

impl Replays {
    /// State `id`: `parent(i)` is the parent of state `i` (`None` for the initial state),
    /// `root()` the initial state, `child(s, i)` state `i` from its parent's state `s`.
    pub fn state(
        &mut self,
        id: u32,
        parent: impl Fn(u32) -> Option<u32>,
        root: impl FnOnce() -> State,
        mut child: impl FnMut(&State, u32) -> State,
    ) -> State {
        let mut path = vec![id];
        while let Some(p) = parent(*path.last().expect("not empty")) {
            path.push(p);
        }
        path.reverse();
        let keep = self
            .ids
            .iter()
            .zip(&path)
            .take_while(|(a, b)| a == b)
            .count();
        self.ids.truncate(keep);
        self.states.truncate(keep);
        if keep == 0 {
            self.ids.push(path[0]);
            self.states.push(root());
        }
        for &i in &path[self.ids.len()..] {
            let next = child(self.states.last().expect("the initial state"), i);
            self.ids.push(i);
            self.states.push(next);
        }
        self.states.last().expect("the state replayed").clone()
    }
}

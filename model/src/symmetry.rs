//! Symmetry: persons are interchangeable, and so are phones. A permutation renames both in a
//! state or an action; the representative of a state is the least (by `Ord`) of all its
//! renamings, so two states have the same representative exactly when one is a renaming of
//! the other. Sound because the rules mention ids only through equality and lookup, and every
//! property quantifies over all persons and phones (tested in `tests/reference.rs`).

use crate::action::{Action, Recipient};
use crate::config::Config;
use crate::ids::{PersonId, PhoneId};
use crate::rules::step;
use crate::state::{Holder, Session, Slot, State};

/// A renaming: `persons[i]` is the new id of person `i`, likewise `phones`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Perm {
    pub persons: Vec<u8>,
    pub phones: Vec<u8>,
}

impl Perm {
    pub fn inverse(&self) -> Perm {
        let inv = |v: &[u8]| {
            let mut out = vec![0u8; v.len()];
            for (i, &j) in v.iter().enumerate() {
                out[usize::from(j)] = i as u8;
            }
            out
        };
        Perm {
            persons: inv(&self.persons),
            phones: inv(&self.phones),
        }
    }

    /// `self ∘ other`: rename by `other` first, then by `self`.
    pub fn compose(&self, other: &Perm) -> Perm {
        Perm {
            persons: other
                .persons
                .iter()
                .map(|&j| self.persons[usize::from(j)])
                .collect(),
            phones: other
                .phones
                .iter()
                .map(|&j| self.phones[usize::from(j)])
                .collect(),
        }
    }

    fn p(&self, p: PersonId) -> PersonId {
        PersonId(self.persons[p.index()])
    }

    fn h(&self, h: PhoneId) -> PhoneId {
        PhoneId(self.phones[h.index()])
    }

    /// Rename every person and phone in a state.
    pub fn state(&self, s: &State) -> State {
        let mut out = s.clone();
        for (i, person) in s.persons.iter().enumerate() {
            out.persons[usize::from(self.persons[i])] = *person;
        }
        for (i, phone) in s.phones.iter().enumerate() {
            let mut ph = *phone;
            if let Holder::Person(p) = ph.holder {
                ph.holder = Holder::Person(self.p(p));
            }
            for slot in &mut ph.slots {
                if let Slot::Key { person, .. } = slot {
                    *person = self.p(*person);
                }
            }
            if let Some(Session { person, .. }) = &mut ph.session {
                *person = self.p(*person);
            }
            ph.procedure_from = ph.procedure_from.map(|p| self.p(p));
            out.phones[usize::from(self.phones[i])] = ph;
        }
        for c in &mut out.registry {
            c.person = self.p(c.person);
            c.signer = self.p(c.signer);
            c.phone = self.h(c.phone);
        }
        for push in &mut out.pushes {
            push.phone = self.h(push.phone);
        }
        out.threats = s.threats.renamed(&self.phones, &self.persons);
        out
    }

    /// Rename every person and phone in an action.
    pub fn action(&self, a: &Action) -> Action {
        use Action::*;
        let r = |to: &Recipient| match to {
            Recipient::Person(p) => Recipient::Person(self.p(*p)),
            Recipient::Stranger => Recipient::Stranger,
        };
        match *a {
            GoOffline(h) => GoOffline(self.h(h)),
            GoOnline(h) => GoOnline(self.h(h)),
            Lose(h) => Lose(self.h(h)),
            Find(h) => Find(self.h(h)),
            Break(h) => Break(self.h(h)),
            InstallApp(h) => InstallApp(self.h(h)),
            UninstallApp(h) => UninstallApp(self.h(h)),
            InstallApplet(h) => InstallApplet(self.h(h)),
            CardRenew(p) => CardRenew(self.p(p)),
            CardRevoke(p) => CardRevoke(self.p(p)),
            CardExpire(p) => CardExpire(self.p(p)),
            Use(h, k, e) => Use(self.h(h), k, e),
            ChangePin(h, k, e) => ChangePin(self.h(h), k, e),
            InitPin(h, k) => InitPin(self.h(h), k),
            Suspend(p, k) => Suspend(self.p(p), k),
            Resume(h, k, e) => Resume(self.h(h), k, e),
            Apply(h, k) => Apply(self.h(h), k),
            GenerateKey(h) => GenerateKey(self.h(h)),
            CaIssue(h) => CaIssue(self.h(h)),
            WriteCert(h) => WriteCert(self.h(h)),
            SetUserPin(h) => SetUserPin(self.h(h)),
            AbandonIssuance(h) => AbandonIssuance(self.h(h)),
            RevokeFromPhone(h, k) => RevokeFromPhone(self.h(h), k),
            RevokeWithCard(p, k) => RevokeWithCard(self.p(p), k),
            DeliverPush(i) => DeliverPush(i),
            DropPush(i) => DropPush(i),
            CertExpire(i) => CertExpire(i),
            FactoryReset(h) => FactoryReset(self.h(h)),
            HandOver(h, to, proc_) => HandOver(self.h(h), r(&to), proc_),
            Dispose(h, proc_) => Dispose(self.h(h), proc_),
            StrangerFinds(h) => StrangerFinds(self.h(h)),
            ReaderUse(h, k, e) => ReaderUse(self.h(h), k, e),
            ReadAuthCert(h) => ReadAuthCert(self.h(h)),
            ReadSignCert(h, e) => ReadSignCert(self.h(h), e),
            SignOffline(h, e) => SignOffline(self.h(h), e),
            PresentSignature(i) => PresentSignature(i),
            EnrollFinger(h) => EnrollFinger(self.h(h)),
            BiometricUse(h) => BiometricUse(self.h(h)),
            SimSwap(h) => SimSwap(self.h(h)),
            ApplyWithCode(h, p, k) => ApplyWithCode(self.h(h), self.p(p), k),
        }
    }
}

fn permutations(n: u8) -> Vec<Vec<u8>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for pos in 0..=rest.len() {
            let mut v = rest.clone();
            v.insert(pos, n - 1);
            out.push(v);
        }
    }
    out.sort();
    out
}

/// Every renaming of `persons` persons and `phones` phones.
pub fn all_perms(persons: u8, phones: u8) -> Vec<Perm> {
    let ps = permutations(persons);
    let hs = permutations(phones);
    let mut out = Vec::with_capacity(ps.len() * hs.len());
    for p in &ps {
        for h in &hs {
            out.push(Perm {
                persons: p.clone(),
                phones: h.clone(),
            });
        }
    }
    out
}

/// The renamings of one world size (persons, phones), shared.
type PermCache = ((u8, u8), std::rc::Rc<Vec<Perm>>);

thread_local! {
    /// The renamings of the world size last asked for (a checker asks for one size only).
    static PERMS: std::cell::RefCell<PermCache> =
        std::cell::RefCell::new(((0, 0), std::rc::Rc::new(Vec::new())));
}

fn perms_cached(persons: u8, phones: u8) -> std::rc::Rc<Vec<Perm>> {
    PERMS.with(|cell| {
        let mut c = cell.borrow_mut();
        if c.0 != (persons, phones) || c.1.is_empty() {
            *c = (
                (persons, phones),
                std::rc::Rc::new(all_perms(persons, phones)),
            );
        }
        c.1.clone()
    })
}

/// The least renaming of `s`, and the renaming that produces it.
pub fn representative(s: &State) -> (State, Perm) {
    let mut best: Option<(State, &Perm)> = None;
    let perms = perms_cached(s.persons.len() as u8, s.phones.len() as u8);
    for perm in perms.iter() {
        let t = perm.state(s);
        if best.as_ref().is_none_or(|(b, _)| t < *b) {
            best = Some((t, perm));
        }
    }
    let best = best.map(|(t, p)| (t, p.clone()));
    best.unwrap_or_else(|| {
        let id = Perm {
            persons: (0..s.persons.len() as u8).collect(),
            phones: (0..s.phones.len() as u8).collect(),
        };
        (s.clone(), id)
    })
}

/// Turn a path found over representatives (each action taken in the stored representative
/// state) into a path of concrete actions from the concrete initial state.
pub fn concrete_path(config: &Config, stored: &[Action]) -> Vec<Action> {
    let init = State::initial(config);
    let (mut rep, pi0) = representative(&init);
    // concrete = sigma(rep)
    let mut sigma = pi0.inverse();
    let mut out = Vec::with_capacity(stored.len());
    for a in stored {
        out.push(sigma.action(a));
        let next = step(config, &rep, *a).next;
        let (r, pi) = representative(&next);
        sigma = sigma.compose(&pi.inverse());
        rep = r;
    }
    out
}

impl stateright::Representative for State {
    fn representative(&self) -> Self {
        representative(self).0
    }
}

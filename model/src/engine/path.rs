//! Exact shortest paths from the compact visited set: the chain of action indices from a
//! state back to the initial state, replayed forwards through the rules.

use super::visited::Visited;
use crate::action::Action;
use crate::config::Config;
use crate::rules::step;
use crate::state::State;
use crate::symmetry;

/// The stored state reached by `steps` (candidate-action indices) from the stored initial
/// state, and the actions taken, each in the stored state it was taken in.
fn replay_indices(
    config: &Config,
    sym: bool,
    only: Option<fn(Action) -> bool>,
    steps: &[usize],
) -> (State, Vec<Action>) {
    let canon = |s: State| canon(sym, s);
    let mut s = canon(State::initial(config));
    let mut actions = Vec::with_capacity(steps.len());
    let mut cands = Vec::new();
    for &i in steps {
        cands.clear();
        super::actions_of(config, only, &s, &mut cands);
        let a = cands[i];
        actions.push(a);
        s = canon(step(config, &s, a).next);
    }
    (s, actions)
}

/// The stored form of `s`: its representative under symmetry.
fn canon(sym: bool, s: State) -> State {
    if sym {
        symmetry::representative(&s).0
    } else {
        s
    }
}

/// The indices leading to state `id`.
fn indices_to(visited: &Visited, id: u32) -> Vec<usize> {
    let mut out = Vec::new();
    let mut cur = id;
    while let Some((parent, a)) = visited.parent(cur) {
        out.push(a);
        cur = parent;
    }
    out.reverse();
    out
}

/// The stored state `id`, replayed from the deepest state its path shares with the state
/// `replays` replayed last.
pub fn replay_state(
    config: &Config,
    sym: bool,
    only: Option<fn(Action) -> bool>,
    visited: &Visited,
    id: u32,
    replays: &mut crate::deadend::Replays,
) -> State {
    let mut cands = Vec::new();
    replays.state(
        id,
        |i| visited.parent(i).map(|(p, _)| p),
        || canon(sym, State::initial(config)),
        |s, i| {
            let (_, a) = visited.parent(i).expect("not the initial state");
            cands.clear();
            super::actions_of(config, only, s, &mut cands);
            canon(sym, step(config, s, cands[a]).next)
        },
    )
}

/// The concrete path to state `id`, followed by its candidate action `last` if given.
pub fn path_to(
    config: &Config,
    sym: bool,
    only: Option<fn(Action) -> bool>,
    visited: &Visited,
    id: u32,
    last: Option<usize>,
) -> Vec<Action> {
    let mut steps = indices_to(visited, id);
    steps.extend(last);
    replay_to_path(config, sym, only, &steps)
}

/// The concrete path taken by candidate-action indices from the initial state (each index
/// into the candidates of the stored, canonical state when `sym`).
pub fn replay_to_path(
    config: &Config,
    sym: bool,
    only: Option<fn(Action) -> bool>,
    steps: &[usize],
) -> Vec<Action> {
    let (_, stored) = replay_indices(config, sym, only, steps);
    if sym {
        symmetry::concrete_path(config, &stored)
    } else {
        stored
    }
}

//! The open properties of one BFS level, sorted by what they look at, so that expanding a
//! state only evaluates what can still be discovered.

use crate::action::ActionKind;
use crate::config::Config;
use crate::properties::{Condition, Expectation, Observer, Property};
use crate::state::State;

/// One discovery: property index, and the index of the action taken (edge properties).
pub type Hit = (u32, Option<u16>);

/// A state predicate.
pub type StatePredicate = fn(&Config, &State) -> bool;

pub struct Open {
    /// (property, predicate, expected value that makes a discovery).
    pub states: Vec<(u32, StatePredicate, bool)>,
    pub steps: Vec<(u32, Observer, bool)>,
    /// Per action kind (by discriminant), the open `Action` properties.
    pub actions: Vec<Vec<u32>>,
}

impl Open {
    pub fn new(props: &[Property], open: &[bool]) -> Open {
        let mut o = Open {
            states: Vec::new(),
            steps: Vec::new(),
            actions: vec![Vec::new(); ActionKind::ALL.len()],
        };
        for (i, p) in props.iter().enumerate() {
            if !open[i] {
                continue;
            }
            let hit_when = p.expectation == Expectation::Sometimes;
            match p.condition {
                Condition::State(f) => o.states.push((i as u32, f, hit_when)),
                Condition::Step(f) => o.steps.push((i as u32, f, hit_when)),
                Condition::Action(k) => o.actions[k as usize].push(i as u32),
                Condition::NoDeadEnd => {}
            }
        }
        o
    }
}

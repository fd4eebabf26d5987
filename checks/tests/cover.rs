//! `conform --cover-classes` (checks/src/cover.rs): the coverage-guided walks drive the
//! implementation through every edge class of the driven graph, counted apart from the
//! model's own graph export.

use phone_jpki_checks::cover::{cover_classes, Options};
use phone_jpki_checks::lockstep::{driven_config, realised};
use phone_jpki_model::vectors::{class_key, Graph};
use phone_jpki_model::Config;
use std::collections::BTreeSet;

/// The edge classes of the driven graph, from the whole graph in memory (what `vectors
/// export` explores), realised actions only.
fn classes_of_the_graph(config: &Config) -> usize {
    let c = driven_config(config).unwrap();
    let g = Graph::explore(&c);
    // Only states the realised actions reach: walk the graph from the root along them.
    let mut reach = vec![false; g.states.len()];
    reach[0] = true;
    let mut queue = vec![0usize];
    let mut keys = BTreeSet::new();
    while let Some(i) = queue.pop() {
        for e in g.edges[i].iter().filter(|e| realised(e.action)) {
            keys.insert(class_key(&c, &g.states[i], e, &g.states[e.to as usize]));
            if !reach[e.to as usize] {
                reach[e.to as usize] = true;
                queue.push(e.to as usize);
            }
        }
    }
    keys.len()
}

#[test]
fn walks_cover_every_class_of_the_single_world_with_one_detour() {
    // One detour: 755 classes, about 6 s in release (measured). The whole single world has
    // more than a hundred times as many; `conform --cover-classes --world single` runs it.
    let c = Config {
        max_events: Some(1),
        ..Config::single()
    };
    let (r, d) = cover_classes(&c, &Options::default()).unwrap();
    // The model pass lists exactly the classes of the whole driven graph.
    assert!(r.total_complete);
    assert_eq!(r.total, classes_of_the_graph(&c));
    // No divergence: the last one these walks found (a revocation from the phone after the
    // card's revocation, accepted by a model whose ALT-REVOKE-AUTH pin was knowledge only)
    // is settled; a new one is reported with its replayable walk.
    if let Some(d) = &d {
        panic!(
            "diverged after {} actions: {:?}",
            d.actions.len(),
            phone_jpki_checks::lockstep::replay(&c, 0, &d.actions).err()
        );
    }
    assert!(!r.cut);
    assert_eq!(r.covered, r.total);
    // Guided: far fewer walks than classes, each covering several.
    assert!(
        r.walks * 2 < r.total,
        "{} walks, {} classes",
        r.walks,
        r.total
    );
    assert!(r
        .line(true)
        .contains(&format!("{}/{} classes", r.total, r.total)));
}

#[test]
fn a_cut_short_model_pass_makes_the_total_a_lower_bound_and_the_run_undecided() {
    let c = Config::single();
    let o = Options {
        max_states: Some(50),
        ..Options::default()
    };
    let (r, d) = cover_classes(&c, &o).unwrap();
    assert!(d.is_none());
    assert!(!r.total_complete);
    assert!(r.model_states <= 50);
    let line = r.line(true);
    assert!(
        line.contains("at least") && line.contains("UNDECIDED"),
        "{line}"
    );
    assert!(!r.json(true)["complete"].as_bool().unwrap());
}

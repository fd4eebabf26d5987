//! Issue 16 finding 11: the checker's limits hold within a BFS level, not only between
//! levels (`--max-states 50000` used to stop at 148,222).

use phone_jpki_model::check::{check_properties, CheckOptions, Cut};
use phone_jpki_model::Config;

#[test]
fn state_budget_is_exact_within_a_level() {
    let config = Config::reference();
    for budget in [1, 2, 500, 5_000] {
        let opts = CheckOptions {
            max_states: Some(budget),
            threads: 2,
            ..CheckOptions::default()
        };
        let r = check_properties(&config, &opts, Vec::new(), &mut |_| {});
        assert_eq!(r.cut, Some(Cut::StateBudget), "budget {budget}");
        assert!(!r.complete);
        assert_eq!(r.unique_states, budget, "budget {budget}");
    }
}

#[test]
fn a_passed_deadline_stops_the_first_level() {
    let opts = CheckOptions {
        timeout: Some(std::time::Duration::ZERO),
        ..CheckOptions::default()
    };
    let r = check_properties(&Config::reference(), &opts, Vec::new(), &mut |_| {});
    assert_eq!(r.cut, Some(Cut::Timeout));
    assert_eq!(r.unique_states, 1);
}

/// `threads` beyond the machine's cores is accepted and changes nothing in the result.
#[test]
fn thread_count_is_capped_and_irrelevant_to_the_result() {
    let opts = |threads| CheckOptions {
        threads,
        max_states: Some(3_000),
        ..CheckOptions::default()
    };
    let config = Config::single();
    let a = check_properties(&config, &opts(1), Vec::new(), &mut |_| {});
    let b = check_properties(&config, &opts(30_000), Vec::new(), &mut |_| {});
    assert_eq!((a.unique_states, a.states), (b.unique_states, b.states));
}

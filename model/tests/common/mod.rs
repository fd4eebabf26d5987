//! Helpers shared by the model's test files.

use phone_jpki_model::check::replay;
use phone_jpki_model::ids::PhoneId;
use phone_jpki_model::state::State;
use phone_jpki_model::{Action, Config, Kind};

/// Person p0's credential of kind `k` issued on phone h0, its user PIN set: the issuance
/// session replayed from the initial state, each step offered and accepted.
pub fn issued(c: &Config, k: Kind) -> State {
    let h = PhoneId(0);
    let mut trace = replay(
        c,
        &[
            Action::InstallApp(h),
            Action::InstallApplet(h),
            Action::Apply(h, k),
            Action::GenerateKey(h),
            Action::CaIssue(h),
            Action::WriteCert(h),
            Action::SetUserPin(h),
        ],
    )
    .unwrap_or_else(|i| panic!("step {i} not offered"));
    for (i, (_, result)) in trace.iter().enumerate() {
        assert_eq!(*result, Ok(()), "step {i} refused");
    }
    trace.pop().expect("the initial state at least").0
}

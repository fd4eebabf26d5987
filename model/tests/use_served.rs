//! R-USE: the service is served. A login or a signature with the right user PIN, from a
//! phone in hand, online, with the app, of an active cert in its slot, is accepted. The
//! safety invariants all hold for a rule that refuses every signature; this observer does not
//! (found by the mutation run: `rules.rs` (now `rules/pin.rs`) `&&` -> `||` in the ALT-APPLET-STATUS gate of `Use`
//! refused every signature under the default policy and kept every other verdict).

mod common;

use common::issued;
use phone_jpki_model::ids::PhoneId;
use phone_jpki_model::invariants::use_served;
use phone_jpki_model::properties::Observed;
use phone_jpki_model::rules::step;
use phone_jpki_model::state::State;
use phone_jpki_model::{Action, Config, Kind, PinEntry, Refusal};

const H0: PhoneId = PhoneId(0);

fn observe(c: &Config, before: &State, action: Action, result: Result<(), Refusal>) -> bool {
    let after = step(c, before, action).next;
    use_served(&Observed {
        config: c,
        before,
        action,
        result,
        after: &after,
    })
}

#[test]
fn r_use_holds_for_the_rules_and_fails_on_a_refused_service() {
    let c = Config::reference();
    for k in Kind::ALL {
        let before = issued(&c, k);
        let right = Action::Use(H0, k, PinEntry::Right);
        let o = step(&c, &before, right);
        assert_eq!(o.result, Ok(()), "{k:?}: the owner is not served");
        assert!(observe(&c, &before, right, o.result));
        // What a rule that refuses the service would answer.
        for r in [
            Refusal::CertRevoked,
            Refusal::WrongPin,
            Refusal::PhoneOffline,
        ] {
            assert!(
                !observe(&c, &before, right, Err(r)),
                "{k:?}: R-USE keeps a refusal {r:?}"
            );
        }
        // Refusing a wrong entry, or a use while offline, is no refused service.
        let wrong = Action::Use(H0, k, PinEntry::Wrong);
        assert!(observe(&c, &before, wrong, Err(Refusal::WrongPin)));
        let offline = step(&c, &before, Action::GoOffline(H0)).next;
        assert!(observe(&c, &offline, right, Err(Refusal::PhoneOffline)));
    }
}

/// A suspended cert may be refused (R-SUSPEND): R-USE asks service only of active certs.
#[test]
fn a_suspended_cert_may_be_refused() {
    let c = Config::reference();
    let before = issued(&c, Kind::Auth);
    let suspended = step(
        &c,
        &before,
        Action::Suspend(phone_jpki_model::PersonId(0), Kind::Auth),
    );
    assert_eq!(suspended.result, Ok(()));
    let right = Action::Use(H0, Kind::Auth, PinEntry::Right);
    let o = step(&c, &suspended.next, right);
    assert!(o.result.is_err(), "a suspended cert served");
    assert!(observe(&c, &suspended.next, right, o.result));
}

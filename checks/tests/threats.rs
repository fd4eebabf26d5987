//! Lockstep scenarios of the threat actors (THREAT-FINDER, -READER, -READ-PII, -OFFLINE-SIGN,
//! -PIN-KNOWN): model and implementation side by side, outcomes and mapped states compared
//! at every step, and the threat facts (`State.threats`) observed from the implementation.

use phone_jpki_checks::lockstep::Lockstep;
use phone_jpki_model::state::Holder;
use phone_jpki_model::threats::Signature;
use phone_jpki_model::{Action, Config, Kind, PersonId, PhoneId, PinEntry, Serial};

/// The reference world without a detour budget (a scenario takes several detours).
fn world() -> Config {
    Config {
        max_events: None,
        ..Config::reference()
    }
}

/// `h` with a signing certificate of its holder, user PIN set.
fn issue_sign(h: PhoneId) -> Vec<Action> {
    vec![
        Action::InstallApp(h),
        Action::InstallApplet(h),
        Action::Apply(h, Kind::Sign),
        Action::GenerateKey(h),
        Action::CaIssue(h),
        Action::WriteCert(h),
        Action::SetUserPin(h),
    ]
}

/// THREAT-OFFLINE-SIGN: a signature made offline waits (mapped from the implementation's
/// waiting signatures) and is refused when presented after the revocation.
#[test]
fn offline_signature_presented_after_revocation_is_refused_by_both() {
    let (h0, p0) = (PhoneId(0), PersonId(0));
    let mut l = Lockstep::new(&world(), 0).unwrap();
    l.run(&issue_sign(h0)).unwrap();
    l.run(&[
        Action::GoOffline(h0),
        Action::SignOffline(h0, PinEntry::Right),
    ])
    .unwrap();
    assert_eq!(
        l.model().threats.signatures.as_slice(),
        &[Signature {
            serial: Serial(0),
            by: Holder::Person(p0)
        }]
    );
    l.step(Action::RevokeWithCard(p0, Kind::Sign)).unwrap();
    // Refused by the relying party (CertRevoked) on both sides; the signature stays.
    l.step(Action::PresentSignature(Serial(0))).unwrap();
    assert_eq!(l.model().threats.signatures.len(), 1);
    assert!(l.system().offline_signatures().len() == 1);
}

/// THREAT-FINDER, -READER, -PIN-KNOWN: the reference world has p0's PIN known, so the finder
/// of p0's phone signs at a card reader with it and reads the 基本4情報; the finder of p1's
/// phone (PIN not known) only has wrong entries, which the applet counts.
#[test]
fn finder_at_a_card_reader_gets_in_only_with_a_known_pin() {
    let (h0, h1) = (PhoneId(0), PhoneId(1));
    let mut l = Lockstep::new(&world(), 0).unwrap();
    l.run(&issue_sign(h0)).unwrap();
    l.run(&issue_sign(h1)).unwrap();
    l.run(&[Action::Lose(h0), Action::StrangerFinds(h0)])
        .unwrap();
    assert!(l.model().threats.is_found(h0));
    assert!(l
        .system()
        .found_by_stranger(phone_jpki_checks::map::phone(h0)));
    l.run(&[
        Action::ReaderUse(h0, Kind::Sign, PinEntry::Right),
        Action::ReadSignCert(h0, PinEntry::Right),
        Action::SignOffline(h0, PinEntry::Right),
        Action::PresentSignature(Serial(0)),
    ])
    .unwrap();
    l.run(&[Action::Lose(h1), Action::StrangerFinds(h1)])
        .unwrap();
    // p1's PIN is not known: the model offers the finder only wrong entries.
    assert!(!l
        .offered()
        .contains(&Action::ReaderUse(h1, Kind::Sign, PinEntry::Right)));
    l.step(Action::ReaderUse(h1, Kind::Sign, PinEntry::Wrong))
        .unwrap();
    assert!(l.model().threats.signatures.is_empty());
}

//! Unit tests of the facade's maps and helpers.

use super::pin_use::{pin_value, stranger_pin, wrong_pin};
use super::refusal::app_refusal;
use super::*;
use crate::apdu::StatusWord;
use crate::phone::AppError;
use crate::se::SeError;

fn status(sw: StatusWord) -> AppError {
    AppError::Status { what: "VERIFY", sw }
}

/// The applet's PIN status words become the refusals the model names (R-PIN-RETRY,
/// R-PIN-SETUP); channel refusals become R-ACL / missing-applet refusals; anything else
/// is a defect, never a business refusal.
#[test]
fn applet_answers_map_to_refusals() {
    assert_eq!(
        app_refusal(status(StatusWord::tries_left(2))),
        Refusal::WrongPin { tries_left: 2 }
    );
    assert_eq!(
        app_refusal(status(StatusWord::tries_left(0))),
        Refusal::WrongPin { tries_left: 0 }
    );
    assert_eq!(
        app_refusal(status(StatusWord::AUTH_BLOCKED)),
        Refusal::PinBlocked
    );
    assert_eq!(
        app_refusal(status(StatusWord::CONDITIONS_NOT_SATISFIED)),
        Refusal::TemporaryPin
    );
    assert_eq!(
        app_refusal(status(StatusWord::REF_DATA_NOT_FOUND)),
        Refusal::NoCredential
    );
    assert_eq!(
        app_refusal(AppError::Se(SeError::NoSuchApplet { aid: vec![0xD3] })),
        Refusal::NoApplet
    );
    assert!(matches!(
        app_refusal(status(StatusWord(0x6F00))),
        Refusal::Failure(m) if m.contains("VERIFY")
    ));
    assert!(matches!(
        app_refusal(AppError::Malformed("short".into())),
        Refusal::Failure(_)
    ));
}

/// A configuration out of range is refused before any key is made, naming what is wrong.
#[test]
fn bad_configurations_are_named() {
    let bad = |f: &dyn Fn(&mut SystemConfig)| {
        let mut c = SystemConfig::new(2, 3);
        f(&mut c);
        match System::new(c) {
            Err(SystemError::Config(m)) => m,
            Err(other) => panic!("expected a configuration error, got {other}"),
            Ok(_) => panic!("accepted a bad configuration"),
        }
    };
    assert!(bad(&|c| c.persons = 0).contains("persons"));
    assert!(bad(&|c| c.persons = 10).contains("persons"));
    assert!(bad(&|c| c.phones = 11).contains("phones"));
    assert!(System::new(SystemConfig::new(1, 10)).is_ok());
    assert!(bad(&|c| c.auth_tries = 0).contains("retry"));
    assert!(bad(&|c| c.sign_tries = 16).contains("retry"));
    // The edges of the ranges are fine.
    let mut c = SystemConfig::new(9, 0);
    c.auth_tries = 15;
    c.sign_tries = 1;
    assert!(System::new(c).is_ok());
}

#[test]
fn strangers_never_know_a_holders_pin() {
    // ALPHABET: only the person who set the PIN can enter it right. A stranger's
    // attempt is a fixed value no holder's PIN can equal.
    for p in 0..9 {
        for h in 0..10 {
            for kind in CertKind::ALL {
                for version in [0, 1, 57, 99] {
                    let pin = pin_value(PersonId(p), PhoneId(h), kind, version);
                    assert_ne!(pin, stranger_pin(kind));
                    assert_ne!(pin, wrong_pin(kind));
                }
            }
        }
    }
    assert_ne!(stranger_pin(CertKind::Auth), wrong_pin(CertKind::Auth));
}

/// THREAT-READ-PII on both routes (the app's OMAPI channel and a card reader): READ BINARY
/// of the sign certificate answers `6982` until the signing password is verified in that
/// session; the auth certificate is public. A VERIFY on one route opens nothing on the other.
#[test]
fn sign_cert_needs_the_password_on_both_routes() {
    use crate::applet::Kind;
    use crate::phone::GENUINE_APP_HASH;
    let (h, p) = (PhoneId(0), PersonId(0));
    let mut s = System::new(SystemConfig::new(1, 1)).unwrap();
    s.install_app(h).unwrap();
    s.install_applet(h).unwrap();
    for k in CertKind::ALL {
        s.apply(h, k).unwrap();
        s.generate_key(h).unwrap();
        s.ca_issue(h).unwrap();
        s.write_cert(h).unwrap();
        s.set_user_pin(h).unwrap();
    }
    let password = pin_value(p, h, CertKind::Sign, 0);
    let se = &mut s.phones.get_mut(&h).unwrap().se;
    let refused = |r: Result<Vec<u8>, AppError>| matches!(r, Err(AppError::Status { sw, .. }) if sw == StatusWord(0x6982));
    for contactless in [false, true] {
        let mut ch = if contactless {
            AppChannel::contactless(se).unwrap()
        } else {
            AppChannel::open(se, GENUINE_APP_HASH).unwrap()
        };
        assert!(ch.read_cert(Kind::Auth).is_ok(), "auth cert public");
        assert!(
            refused(ch.read_cert(Kind::Sign)),
            "contactless={contactless}"
        );
        assert!(ch.verify(Kind::Sign, "wrong99").is_err());
        assert!(
            refused(ch.read_cert(Kind::Sign)),
            "contactless={contactless}"
        );
        ch.verify(Kind::Sign, &password).unwrap();
        assert!(
            ch.read_cert(Kind::Sign).is_ok(),
            "contactless={contactless}"
        );
    }
    // A VERIFY on the app's channel does not carry over to a reader.
    let mut app = AppChannel::open(se, GENUINE_APP_HASH).unwrap();
    app.verify(Kind::Sign, &password).unwrap();
    drop(app);
    let mut reader = AppChannel::contactless(se).unwrap();
    assert!(refused(reader.read_cert(Kind::Sign)));
}

/// THREAT-READER, INV-PIN at the APDU level: over the contactless interface the applet signs
/// only after VERIFY in that reader session; a wrong PIN or a new session (the phone taken out
/// of the field) leaves it refusing `6982`.
#[test]
fn reader_route_signs_only_after_verify() {
    use crate::applet::Kind;
    let (h, p) = (PhoneId(0), PersonId(0));
    let mut s = System::new(SystemConfig::new(1, 1)).unwrap();
    s.install_app(h).unwrap();
    s.install_applet(h).unwrap();
    s.apply(h, CertKind::Auth).unwrap();
    s.generate_key(h).unwrap();
    s.ca_issue(h).unwrap();
    s.write_cert(h).unwrap();
    s.set_user_pin(h).unwrap();
    let pin = pin_value(p, h, CertKind::Auth, 0);
    let se = &mut s.phones.get_mut(&h).unwrap().se;
    let refused = |r: Result<Vec<u8>, AppError>| matches!(r, Err(AppError::Status { sw, .. }) if sw == StatusWord(0x6982));
    let mut reader = AppChannel::contactless(se).unwrap();
    assert!(refused(reader.sign(Kind::Auth, b"challenge")), "no VERIFY");
    assert!(reader
        .verify(Kind::Auth, wrong_pin(CertKind::Auth))
        .is_err());
    assert!(refused(reader.sign(Kind::Auth, b"challenge")), "wrong PIN");
    reader.verify(Kind::Auth, &pin).unwrap();
    assert!(reader.sign(Kind::Auth, b"challenge").is_ok());
    drop(reader);
    let mut again = AppChannel::contactless(se).unwrap();
    assert!(refused(again.sign(Kind::Auth, b"challenge")), "new session");
}

//! The prose of the threat actors' and the alternatives' actions (crate::threats), for
//! `docs/SEMANTICS.md` ([`crate::semantics::describe`] delegates here).

use crate::action::{ActionKind, Refusal};

type Doc = (&'static str, &'static str, &'static str, &'static [Refusal]);

/// Signature, precondition, effect and refusals of a threat or alternative action kind.
pub fn describe(k: ActionKind) -> Doc {
    use ActionKind as A;
    use Refusal as R;
    match k {
        A::StrangerFinds => (
            "StrangerFinds(phone)",
            "the phone is lost",
            "a stranger finds it and keeps it (THREAT-FINDER): held by a stranger, in hand, its session ends; the screen lock keeps the app and the settings closed to the finder (no app route, no enrolment) until a factory reset",
            &[],
        ),
        A::ReaderUse => (
            "ReaderUse(phone, kind, pin)",
            "the phone is in someone's hand (a person or a stranger), the applet holds a cert of that kind; `right` only when the holder knows the PIN (its owner, or anyone under THREAT-PIN-KNOWN); neither the app nor the network is needed",
            "a login or signature through an NFC card reader (THREAT-READER): the applet checks the PIN (no OMAPI access rule on this route), the relying party, online from the reader's PC, checks the status",
            &[R::StatusUnknown, R::PinBlocked, R::TemporaryPin, R::WrongPin, R::CertRevoked, R::CertExpired, R::CertSuspended],
        ),
        A::ReadAuthCert => (
            "ReadAuthCert(phone)",
            "as ReaderUse, an auth cert in the slot",
            "the auth certificate is read out of the applet; it is public (THREAT-READ-PII)",
            &[],
        ),
        A::ReadSignCert => (
            "ReadSignCert(phone, pin)",
            "as ReaderUse, a signing cert in the slot",
            "after the signing password, the signing certificate with the 基本4情報 is read out (THREAT-READ-PII; as on the card)",
            &[R::PinBlocked, R::TemporaryPin, R::WrongPin],
        ),
        A::SignOffline => (
            "SignOffline(phone, pin)",
            "as ReadSignCert, and no signature made with that cert is waiting",
            "the SE signs after the signing password, with no status check, and the signature waits to be presented (THREAT-OFFLINE-SIGN); under ALT-APPLET-STATUS only with the app online, opened by its holder (not a finder: the screen lock) and the cert active",
            &[R::StatusUnknown, R::CertRevoked, R::PinBlocked, R::TemporaryPin, R::WrongPin],
        ),
        A::PresentSignature => (
            "PresentSignature(serial)",
            "a signature made with that serial's key is waiting",
            "the relying party verifies it, checking the cert's status now, and accepts it (INV-NO-USE-AFTER-REVOKE)",
            &[R::CertRevoked, R::CertExpired, R::CertSuspended],
        ),
        A::EnrollFinger => (
            "EnrollFinger(phone)",
            "ALT-UNLOCK uses biometrics; the phone is in the hand of a person or a buyer (not a finder) whose finger is not enrolled",
            "the holder's finger is enrolled in the OS; under invalidate-on-enrol the biometric key is invalidated until a new user PIN is set",
            &[],
        ),
        A::BiometricUse => (
            "BiometricUse(phone)",
            "ALT-UNLOCK uses biometrics; the holder's finger is enrolled, the phone has the app and an auth cert",
            "a login through the app unlocked by the finger instead of the PIN; the relying party checks the status",
            &[R::PhoneOffline, R::BiometricInvalidated, R::PinBlocked, R::TemporaryPin, R::CertRevoked, R::CertExpired, R::CertSuspended],
        ),
        A::SimSwap => (
            "SimSwap(phone)",
            "ALT-STORAGE=sim; a stranger (finder or buyer) holds the phone, its applet is installed, its SIM not yet moved",
            "the SIM goes into the stranger's own phone (the model's phone follows the SIM): unlocked, online, with the genuine app, which OMAPI admits (THREAT-SIM-SWAP): a finder escapes the screen lock and reaches the app route, where the PIN still protects",
            &[],
        ),
        A::ApplyWithCode => (
            "ApplyWithCode(phone, person, kind)",
            "ALT-PROOFING=mailed-code; the phone is held by a person other than `person` (a co-resident who received `person`'s mailed access code), has the app, no session, and the bounds of Apply allow it",
            "an issuance session for `person`'s cert of that kind opens on this phone without any card signature; the holder goes on with the usual steps and sets, so knows, the user PIN",
            &[R::PhoneOffline, R::NoApplet, R::ReissueWhileLive],
        ),
        other => unreachable!("{} is described in semantics.rs", other.name()),
    }
}

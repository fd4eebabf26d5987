//! Using a credential and managing its PIN: login and signature, PIN change, PIN
//! initialisation, suspension and resumption (R-PIN-RETRY, R-PIN-CHANGE, R-PIN-INIT,
//! R-SUSPEND), and the applet's PIN check the threat actors' rules share ([`verify_pin`]).

use super::{ended, holder_person, need_online, slot_serial};
use crate::action::{PinEntry, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId};
use crate::state::{CertStatus, Pin, Slot, State};

/// Login (auth) or signature (sign): the applet checks the PIN, the relying party the
/// certificate status (INV-PIN, INV-NO-USE-AFTER-REVOKE).
pub(super) fn use_cert(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
    e: PinEntry,
) -> Result<(), Refusal> {
    let policy = config.policy;
    need_online(s, h)?;
    let serial = slot_serial(s, h, k)?;
    // ALT-APPLET-STATUS: the gated signing key signs only on a fresh grant, which the app asks
    // before the PIN and the SP-TSM gives only for an active cert.
    if k == Kind::Sign && policy.applet_checks_status && s.cert(serial).status != CertStatus::Active
    {
        return Err(Refusal::CertRevoked);
    }
    // The applet admits the user PIN, or a temporary PIN shown to the user under the
    // `temporary-pin-shown` variant; the relying party then checks the status.
    verify_pin(config, s, h, k, e)?;
    ended(s.cert(serial).status)?;
    if s.cert(serial).status == CertStatus::Suspended && policy.rp_checks_suspension {
        return Err(Refusal::CertSuspended);
    }
    Ok(())
}

/// R-PIN-CHANGE: on the phone alone, after verifying the current PIN.
pub(super) fn change_pin(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
    e: PinEntry,
) -> Result<(), Refusal> {
    slot_serial(s, h, k)?;
    if verify_pin(config, s, h, k, e)? != Verified::User {
        return Err(Refusal::TemporaryPin);
    }
    set_pin(
        s,
        h,
        k,
        Pin::User {
            tries_left: config.tries(k),
        },
    );
    Ok(())
}

/// R-PIN-INIT: online, with the card signature of the cert's owner; unblocks.
pub(super) fn init_pin(config: &Config, s: &mut State, h: PhoneId, k: Kind) -> Result<(), Refusal> {
    need_online(s, h)?;
    let serial = slot_serial(s, h, k)?;
    let p = holder_person(s, h);
    if !s.card_valid(p) {
        return Err(Refusal::CardNotValid);
    }
    if s.cert(serial).person != p {
        return Err(Refusal::NotCredentialOwner);
    }
    ended(s.cert(serial).status)?;
    set_pin(
        s,
        h,
        k,
        Pin::User {
            tries_left: config.tries(k),
        },
    );
    Ok(())
}

/// R-SUSPEND: call center; not terminal.
pub(super) fn suspend(s: &mut State, p: PersonId, k: Kind) -> Result<(), Refusal> {
    let serial = s.live_cert(p, k).ok_or(Refusal::NoLiveCert)?;
    let cert = &mut s.registry[serial.index()];
    if cert.status == CertStatus::Suspended {
        return Err(Refusal::AlreadySuspended);
    }
    cert.status = CertStatus::Suspended;
    Ok(())
}

/// R-SUSPEND: resumption from the phone with the phone cert and its PIN. The app asks the
/// status first, so a cert that is not suspended costs no PIN try.
pub(super) fn resume(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
    e: PinEntry,
) -> Result<(), Refusal> {
    need_online(s, h)?;
    let serial = slot_serial(s, h, k)?;
    ended(s.cert(serial).status)?;
    if s.cert(serial).status != CertStatus::Suspended {
        return Err(Refusal::NotSuspended);
    }
    if verify_pin(config, s, h, k, e)? != Verified::User {
        return Err(Refusal::TemporaryPin);
    }
    s.registry[serial.index()].status = CertStatus::Active;
    Ok(())
}

/// How a PIN check went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verified {
    /// The user PIN was entered right.
    User,
    /// The temporary PIN was entered (only possible when it is shown to the user).
    Temporary,
}

/// The applet's PIN check (R-PIN-RETRY): a wrong entry counts down and blocks at zero; a
/// right one resets the counter.
pub(crate) fn verify_pin(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
    e: PinEntry,
) -> Result<Verified, Refusal> {
    let Slot::Cert { pin, .. } = s.phone(h).slot(k) else {
        return Err(Refusal::NoCredential);
    };
    match (pin, e) {
        (Pin::Blocked, _) => Err(Refusal::PinBlocked),
        (Pin::Temporary, PinEntry::Right) if !config.policy.temporary_pin_secret => {
            Ok(Verified::Temporary)
        }
        (Pin::Temporary, _) => Err(Refusal::TemporaryPin),
        (Pin::User { .. }, PinEntry::Right) => {
            set_pin(
                s,
                h,
                k,
                Pin::User {
                    tries_left: config.tries(k),
                },
            );
            Ok(Verified::User)
        }
        (Pin::User { tries_left }, PinEntry::Wrong) => {
            let left = tries_left.saturating_sub(1);
            set_pin(
                s,
                h,
                k,
                if left == 0 {
                    Pin::Blocked
                } else {
                    Pin::User { tries_left: left }
                },
            );
            Err(Refusal::WrongPin)
        }
    }
}

/// The PIN state of the credential in a slot (nothing without one).
pub(super) fn set_pin(s: &mut State, h: PhoneId, k: Kind, new: Pin) {
    if let Slot::Cert { pin, .. } = &mut s.phones[h.index()].slots[k.index()] {
        *pin = new;
    }
}

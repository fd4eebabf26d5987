//! Refusal classes: the one place that says which refusal of the implementation is which
//! refusal of the model. Lockstep comparison (outcomes must match class for class) and
//! traces recorded from the implementation both go through [`class`].
//!
//! The implementation's `Refusal` is richer than the model's: it also refuses things the
//! model never offers (unknown ids, an action on a lost phone, going online twice, ...).
//! Those map to [`Class::Outside`]: seeing one while driving a model-offered action is a
//! divergence by itself.

use phone_jpki_impl::push::Undeliverable;
use phone_jpki_impl::system::Refusal as ImplRefusal;
use phone_jpki_model::Refusal;
use std::fmt;

/// The class of an implementation refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    /// The same reason as this model refusal.
    Model(Refusal),
    /// A refusal of an action the model never offers in any state; the name says which.
    Outside(&'static str),
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Class::Model(r) => write!(f, "{r}"),
            Class::Outside(name) => write!(f, "{name} (outside the model)"),
        }
    }
}

/// Classify an implementation refusal.
pub fn class(r: &ImplRefusal) -> Class {
    use ImplRefusal as I;
    let m = match r {
        I::PhoneOffline => Refusal::PhoneOffline,
        I::NoApp => Refusal::NoApp,
        I::NoApplet => Refusal::NoApplet,
        I::AppletAlreadyInstalled => Refusal::AppletAlreadyInstalled,
        I::IssuanceInProgress => Refusal::SessionInProgress,
        I::CardNotValid => Refusal::CardNotValid,
        I::ReissueWhileLive => Refusal::ReissueWhileLive,
        I::KeyMissing => Refusal::KeyMissing,
        I::NoCredential => Refusal::NoCredential,
        I::NotCredentialOwner => Refusal::NotCredentialOwner,
        I::NoLiveCert => Refusal::NoLiveCert,
        I::AlreadySuspended => Refusal::AlreadySuspended,
        I::NotSuspended => Refusal::NotSuspended,
        I::WrongPin { .. } => Refusal::WrongPin,
        I::PinBlocked => Refusal::PinBlocked,
        I::TemporaryPin => Refusal::TemporaryPin,
        I::CertRevoked => Refusal::CertRevoked,
        I::CertSuspended => Refusal::CertSuspended,
        I::CertExpired => Refusal::CertExpired,
        // ALT-APPLET-STATUS: the gated key signs nothing without the app's fresh status.
        I::StatusUnknown => Refusal::StatusUnknown,
        I::Undeliverable(Undeliverable::PhoneOffline | Undeliverable::InvalidToken) => {
            Refusal::Undeliverable
        }
        I::UnknownPerson(_) => return Class::Outside("UnknownPerson"),
        I::UnknownPhone(_) => return Class::Outside("UnknownPhone"),
        I::KindNotEnabled(_) => return Class::Outside("KindNotEnabled"),
        I::NotInHand => return Class::Outside("NotInHand"),
        I::PhoneBroken => return Class::Outside("PhoneBroken"),
        I::AppAlreadyInstalled => return Class::Outside("AppAlreadyInstalled"),
        I::AccessDenied => return Class::Outside("AccessDenied"),
        I::NoCard => return Class::Outside("NoCard"),
        I::NoSession => return Class::Outside("NoSession"),
        I::WrongStep => return Class::Outside("WrongStep"),
        I::NoSuchPush => return Class::Outside("NoSuchPush"),
        I::AlreadyOnline => return Class::Outside("AlreadyOnline"),
        I::AlreadyOffline => return Class::Outside("AlreadyOffline"),
        I::NotLost => return Class::Outside("NotLost"),
        I::SameHolder => return Class::Outside("SameHolder"),
        I::InvalidHolder => return Class::Outside("InvalidHolder"),
        // The model never offers the app route to a finder, suspension under ALT-SUSPEND
        // none, or a signature that is not waiting; the facade verifies before reading the
        // sign cert; a signature that does not verify is a defect.
        I::ScreenLocked => return Class::Outside("ScreenLocked"),
        I::NoSuspension => return Class::Outside("NoSuspension"),
        I::NoSuchSignature => return Class::Outside("NoSuchSignature"),
        I::PinRequired => return Class::Outside("PinRequired"),
        I::BadSignature => return Class::Outside("BadSignature"),
        I::Failure(_) => return Class::Outside("Failure"),
    };
    Class::Model(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_pin_is_one_class_whatever_the_tries_left() {
        for t in 0..3 {
            assert_eq!(
                class(&ImplRefusal::WrongPin { tries_left: t }),
                Class::Model(Refusal::WrongPin)
            );
        }
    }

    #[test]
    fn refusals_the_model_never_offers_are_outside() {
        assert_eq!(
            class(&ImplRefusal::AlreadyOnline),
            Class::Outside("AlreadyOnline")
        );
        assert!(class(&ImplRefusal::Failure("x".into()))
            .to_string()
            .contains("outside the model"));
    }
}

//! Phone life: loss, finding, breakage, hand-over, disposal, factory reset and network
//! (R-LOSS, R-FAILURE, R-TRANSFER, R-DISPOSE, R-RESET, R-CONTINUE).

use super::{Refusal, ResetPolicy, RevokeAuth, System};
use crate::ca::{CertKind, PhoneId, Serial};
use crate::phone::{Condition, Holder};

impl System {
    /// The hand-over / disposal procedure (R-TRANSFER, R-DISPOSE, INV-DELETE-ON-TRANSFER):
    /// online, the holder revokes from the phone every live credential of theirs that the
    /// SP-TSM's records bind to it (written into the applet or not), each with the proof a
    /// revocation from the phone asks (ALT-REVOKE-AUTH), and the SEI-TSM deletes the applet
    /// (others' credentials go with it); in any case, factory reset. The procedure is refused
    /// before anything is done, not halfway: offline (a broken phone is) `PhoneOffline` and
    /// without the app `NoApp`, unless the policy lets it reset alone offline
    /// ([`super::Policy::offline_procedure`]); and when one of the credentials cannot be
    /// proven ([`System::provable`]).
    fn procedure(&mut self, h: PhoneId) -> Result<(), Refusal> {
        let phone = self.phone(h)?;
        if !self.config.policy.offline_procedure {
            if !phone.online {
                return Err(Refusal::PhoneOffline);
            }
            if phone.app.is_none() {
                return Err(Refusal::NoApp);
            }
        }
        let (online, app, holder) = (phone.online, phone.app.is_some(), phone.holder);
        if online {
            if let (true, Holder::Person(p)) = (app, holder) {
                let live: Vec<_> = self
                    .ca
                    .registry()
                    .phone_certs_on(h)
                    .into_iter()
                    .filter(|r| r.person == p && r.status.is_live())
                    .filter_map(|r| Some((r.phone_kind()?, r.serial)))
                    .collect();
                for &(kind, serial) in &live {
                    self.provable(h, kind, serial)?;
                }
                for (kind, serial) in live {
                    self.revoke_held(h, kind, serial)?;
                }
            }
            let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
            if phone.has_applet() {
                self.sei.delete_applet(&mut phone.se, h)?;
            }
        }
        self.reset(h)
    }

    /// Whether the holder of `h` can prove the revocation of `serial` (slot `kind`) from the
    /// phone, asked before the procedure does anything. Under ALT-REVOKE-AUTH `pin` (and the
    /// phone's signing key) the app reads the applet's credential state: the credential must
    /// be in its slot with a user PIN (`PinBlocked`, `TemporaryPin`, `NoCredential` for one
    /// never written). Under `card` every revocation is signed by the same card, so the first
    /// refusal comes before anything is done; under `nothing` there is nothing to prove.
    fn provable(&mut self, h: PhoneId, kind: CertKind, serial: Serial) -> Result<(), Refusal> {
        match self.config.policy.revoke_auth {
            RevokeAuth::Nothing | RevokeAuth::Card => Ok(()),
            RevokeAuth::Pin | RevokeAuth::PhoneSignature => {
                if self.held_cert(h, kind).ok() != Some(serial) {
                    return Err(Refusal::NoCredential);
                }
                let key_kind = if self.config.policy.revoke_auth == RevokeAuth::PhoneSignature {
                    CertKind::Sign
                } else {
                    kind
                };
                self.usable_slot(h, key_kind).map(|_| ())
            }
        }
    }

    /// A factory reset (R-RESET, ALT-RESET): the app and its token go. Under
    /// [`ResetPolicy::Server`] the phone asks the server to delete the SE's JPKI data: online,
    /// the SEI-TSM deletes the applet with its related objects; offline the request cannot
    /// leave the phone and the SE keeps the applet. Under [`ResetPolicy::OsWipe`] the OS wipes
    /// it locally, online or not.
    fn reset(&mut self, h: PhoneId) -> Result<(), Refusal> {
        let wiped = match self.config.policy.reset {
            ResetPolicy::OsWipe => {
                self.phone_mut(h)?.factory_reset();
                true
            }
            ResetPolicy::Server => {
                let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
                let reachable = phone.online && phone.condition != Condition::Broken;
                if reachable && phone.has_applet() {
                    self.sei.delete_applet(&mut phone.se, h)?;
                }
                phone.app = None;
                reachable
            }
        };
        self.sp.drop_session(h);
        self.found.remove(&h);
        if wiped {
            self.pin_memory.retain(|(ph, _), _| *ph != h);
        }
        Ok(())
    }

    // ----- phone life events -----

    /// `Lose(h)`: the phone is mislaid (R-LOSS, R-TEMP-LOSS); it stays online if it was. An
    /// issuance session in progress on it is lost.
    pub fn lose(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        // A finder may lose it again: no screen needed.
        self.in_hand(h)?;
        self.phone_mut(h)?.condition = Condition::Lost;
        self.sp.drop_session(h);
        Ok(())
    }

    /// `Find(h)`: a lost phone is back in hand.
    pub fn find(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition != Condition::Lost {
            return Err(Refusal::NotLost);
        }
        phone.condition = Condition::InHand;
        Ok(())
    }

    /// `Break(h)`: broken for good (R-FAILURE): offline forever.
    pub fn r#break(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition == Condition::Broken {
            return Err(Refusal::PhoneBroken);
        }
        if phone.holder == Holder::Nobody {
            return Err(Refusal::NotInHand);
        }
        phone.condition = Condition::Broken;
        phone.online = false;
        self.sp.drop_session(h);
        Ok(())
    }

    /// Alias of [`System::r#break`].
    pub fn break_phone(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.r#break(h)
    }

    /// `HandOver(h, to, procedure)`: to a person or a stranger (R-TRANSFER); with the
    /// procedure the holder first revokes from the phone and deletes the applet (online),
    /// then factory-resets.
    pub fn hand_over(&mut self, h: PhoneId, to: Holder, procedure: bool) -> Result<(), Refusal> {
        self.tick();
        // Handing it over needs no screen; the procedure does (a finder: `ScreenLocked`).
        let phone = if procedure {
            self.operable(h)?
        } else {
            self.in_hand(h)?
        };
        if to == Holder::Nobody {
            return Err(Refusal::InvalidHolder);
        }
        if let Holder::Person(q) = to {
            if !self.cards.contains_key(&q) {
                return Err(Refusal::UnknownPerson(q));
            }
        }
        if phone.holder == to {
            return Err(Refusal::SameHolder);
        }
        if procedure {
            self.procedure(h)?;
        }
        self.sp.drop_session(h);
        self.phone_mut(h)?.holder = to;
        Ok(())
    }

    /// `Dispose(h, procedure)`: the phone is disposed of (R-DISPOSE); likewise with or
    /// without the procedure. Nobody holds it afterwards and it is offline.
    pub fn dispose(&mut self, h: PhoneId, procedure: bool) -> Result<(), Refusal> {
        self.tick();
        // A broken phone is disposed of too (R-FAILURE, R-DISPOSE); the procedure then does
        // what it can offline: the factory reset.
        let phone = self.phone(h)?;
        if phone.condition != Condition::Broken && procedure {
            self.operable(h)?;
        } else if phone.condition != Condition::Broken {
            self.in_hand(h)?;
        } else if phone.holder == Holder::Nobody {
            return Err(Refusal::NotInHand);
        }
        if procedure {
            self.procedure(h)?;
        }
        self.sp.drop_session(h);
        let phone = self.phone_mut(h)?;
        phone.holder = Holder::Nobody;
        phone.online = false;
        Ok(())
    }

    /// `FactoryReset(h)`: the app goes (token invalid) and the SE's JPKI data is wiped
    /// (R-RESET).
    pub fn factory_reset(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.operable(h)?;
        self.reset(h)
    }

    /// `GoOffline(h)`: network lost (R-CONTINUE).
    pub fn go_offline(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition == Condition::Broken {
            return Err(Refusal::PhoneBroken);
        }
        if !phone.online {
            return Err(Refusal::AlreadyOffline);
        }
        phone.online = false;
        Ok(())
    }

    /// `GoOnline(h)`: network back; the app syncs its credentials' status and has revoked
    /// ones deleted (R-CONTINUE, R-DELETE).
    pub fn go_online(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition == Condition::Broken {
            return Err(Refusal::PhoneBroken);
        }
        if phone.holder == Holder::Nobody {
            return Err(Refusal::NotInHand);
        }
        if phone.online {
            return Err(Refusal::AlreadyOnline);
        }
        phone.online = true;
        self.sync(h);
        Ok(())
    }
}

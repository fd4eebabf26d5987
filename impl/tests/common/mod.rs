//! Shared set-up of the facade-level scenario tests.
#![allow(dead_code)]

use phone_jpki_impl::ca::{CertKind, PersonId, PhoneId, Serial};
use phone_jpki_impl::system::{System, SystemConfig};

pub const AUTH: CertKind = CertKind::Auth;
pub const SIGN: CertKind = CertKind::Sign;
pub const P0: PersonId = PersonId(0);
pub const P1: PersonId = PersonId(1);
pub const H0: PhoneId = PhoneId(0);
pub const H1: PhoneId = PhoneId(1);

/// Two persons, two phones (h0 held by p0, h1 by p1), configured by `f`.
pub fn system_with(f: impl FnOnce(&mut SystemConfig)) -> System {
    let mut c = SystemConfig::new(2, 2);
    c.seed = 11;
    f(&mut c);
    System::new(c).expect("system")
}

/// App, applet and both kinds issued on `h` for its holder.
pub fn ready(s: &mut System, h: PhoneId) {
    s.install_app(h).unwrap();
    s.install_applet(h).unwrap();
    for k in [AUTH, SIGN] {
        issue(s, h, k);
    }
}

/// Phases 3 and 4 of an issuance of `k` on `h`.
pub fn issue(s: &mut System, h: PhoneId, k: CertKind) {
    s.apply(h, k).unwrap();
    s.generate_key(h).unwrap();
    s.ca_issue(h).unwrap();
    s.write_cert(h).unwrap();
    s.set_user_pin(h).unwrap();
}

/// The serial of the certificate in the slot.
pub fn slot_serial(s: &System, h: PhoneId, k: CertKind) -> Option<Serial> {
    s.slot(h, k).and_then(|x| x.cert_serial)
}

/// Tries left on the slot.
pub fn tries(s: &System, h: PhoneId, k: CertKind) -> u8 {
    s.slot(h, k).map(|x| x.tries_left).unwrap_or(0)
}

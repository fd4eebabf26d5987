//! The smartphone: who holds it and in what condition (R-LOSS, R-FAILURE, R-TRANSFER,
//! R-DISPOSE, R-CONTINUE), its GP-SE, and the JPKI app ([`app`]) that reaches the applet
//! over an OMAPI-like channel opened with its signing-certificate hash (R-ACL).

pub mod app;

pub use app::{AppError, GENUINE_APP_HASH};

use crate::ca::{PersonId, PhoneId};
use crate::se::SecureElement;
use std::fmt;

/// Who has the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder {
    /// A person of the system (has a My Number card).
    Person(PersonId),
    /// Someone outside the system (a buyer, a finder): no card, knows no PIN.
    Stranger,
    /// Nobody: the phone was disposed of.
    Nobody,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Person(p) => write!(f, "{p}"),
            Holder::Stranger => write!(f, "stranger"),
            Holder::Nobody => write!(f, "nobody"),
        }
    }
}

/// The physical condition of the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// With its holder.
    InHand,
    /// Mislaid (R-LOSS, R-TEMP-LOSS): still connected if online, but nobody operates it.
    Lost,
    /// Broken for good (R-FAILURE): offline forever.
    Broken,
}

/// The installed JPKI app: its installation number is its push token (R-TOKEN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstalledApp {
    /// Installation number (unique over the system).
    pub installation: u32,
    /// SHA-256 of the app's signing certificate (what the ARA checks, R-ACL).
    pub cert_hash: [u8; 32],
}

/// One smartphone.
#[derive(Debug, Clone)]
pub struct Phone {
    /// Its id.
    pub id: PhoneId,
    /// Who has it.
    pub holder: Holder,
    /// Its condition.
    pub condition: Condition,
    /// Whether it has network.
    pub online: bool,
    /// The JPKI app, if installed.
    pub app: Option<InstalledApp>,
    /// Its secure element.
    pub se: SecureElement,
}

impl Phone {
    /// A phone in hand, online, with no app.
    pub fn new(id: PhoneId, holder: Holder, se: SecureElement) -> Self {
        Phone {
            id,
            holder,
            condition: Condition::InHand,
            online: true,
            app: None,
            se,
        }
    }

    /// Whether the JPKI applet is installed in the SE.
    pub fn has_applet(&self) -> bool {
        !self.se.installed_applets().is_empty()
    }

    /// R-RESET: the app goes (its token becomes invalid) and the SE's JPKI data is wiped.
    pub fn factory_reset(&mut self) {
        self.app = None;
        self.se.factory_reset();
    }
}

//! Small identifiers: persons, phones, certificate kinds, serials.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A person (holds a My Number card). Displayed `p0`, `p1`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PersonId(pub u8);

/// A smartphone. Displayed `h0`, `h1`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PhoneId(pub u8);

/// Serial number of a phone certificate: its index in the J-LIS registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Serial(pub u8);

/// The two phone certificate kinds, mirroring the card (R-KINDS).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// User-authentication certificate (利用者証明用): Mynaportal login.
    Auth,
    /// Signing certificate (署名用): e-applications.
    Sign,
}

impl Kind {
    /// Both kinds, in slot order.
    pub const ALL: [Kind; 2] = [Kind::Auth, Kind::Sign];

    /// Slot index of this kind in a phone's SE.
    pub fn index(self) -> usize {
        match self {
            Kind::Auth => 0,
            Kind::Sign => 1,
        }
    }
}

impl PersonId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl PhoneId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl Serial {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl fmt::Display for PhoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "h{}", self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Auth => "auth",
            Kind::Sign => "sign",
        })
    }
}

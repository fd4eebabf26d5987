//! The concrete JPKI-on-smartphone system, with real protocols and real cryptography.
//!
//! Laid out by system part; this crate never depends on the model (`phone-jpki-model`), so that
//! agreement between the two, checked in `phone-jpki-checks`, means something.

pub mod apdu;
pub mod applet;
#[cfg(any(test, feature = "attack"))]
pub mod attack;
pub mod ca;
pub mod card;
pub mod crypto;
pub mod demo;
pub mod fsio;
pub mod phone;
pub mod push;
pub mod reader;
pub mod scp03;
pub mod se;
pub mod system;
pub mod tsm;

//! A card reader's view of a phone (THREAT-READER): the phone's SE served as a virtual smart
//! card to PC/SC middleware (OpenSC's `card-jpki` driver, `pkcs11-tool`, ...) through
//! vsmartcard's `vpcd` reader driver, over the SE's contactless interface
//! ([`crate::se::SecureElement::transmit_contactless`]): the same code path a card reader
//! held to the phone takes, no copy of it.

pub mod state;
pub mod vpcd;

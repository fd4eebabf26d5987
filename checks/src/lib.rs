//! Where the model and the implementation meet: lockstep conformance of
//! `phone-jpki-impl` against `phone-jpki-model`.

pub mod conform;
pub mod cover;
pub mod driver;
pub mod exhaustive;
pub mod lockstep;
pub mod map;
pub mod policy;
pub mod progress;
pub mod random;
pub mod record;
pub mod refusal;

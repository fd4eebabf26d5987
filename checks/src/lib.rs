//! Where the model and the implementation meet: lockstep conformance of
//! `phone-jpki-impl` against `phone-jpki-model`.

pub mod record;
pub mod refusal;

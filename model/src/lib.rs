//! Reference model of JPKI certificates on smartphones (公的個人認証のスマートフォン搭載).
//!
//! Pure and deterministic: no crypto, no I/O, no hash-map iteration in the rules. Requirement
//! and invariant IDs (R-*, INV-*) refer to `shared/DOMAIN.md`.

pub mod action;
pub mod config;
pub mod ids;
pub mod rules;
pub mod state;

pub use action::{Action, ActionKind, PinEntry, Recipient, Refusal};
pub use config::{Config, Policy, Variant};
pub use ids::{Kind, PersonId, PhoneId, Serial};
pub use rules::{candidate_actions, is_offered, step, Outcome};
pub use state::State;
pub mod check;
pub mod engine;
pub mod explore;
pub mod properties;
pub mod semantics;
pub mod symmetry;
pub mod trace;
pub mod vectors;

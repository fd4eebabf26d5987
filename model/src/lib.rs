//! Reference model of JPKI certificates on smartphones (公的個人認証のスマートフォン搭載).
//!
//! Pure and deterministic: no crypto, no I/O, no hash-map iteration in the rules. Requirement
//! and invariant IDs (R-*, INV-*) refer to `shared/DOMAIN.md`. The guarantees the model assumes
//! of SCP03 and of the SE's access control (THREAT-SKIM, THREAT-FAKE-APP), with the tests in
//! `impl/` that establish them: `docs/ASSUMPTIONS.md`.

pub mod action;
pub mod config;
pub mod ids;
pub mod policy;
pub mod rules;
pub mod state;

pub use action::{Action, ActionKind, PinEntry, Recipient, Refusal};
pub use config::{Config, Policy, Variant};
pub use ids::{Kind, PersonId, PhoneId, Serial};
pub use rules::{candidate_actions, is_offered, step, Outcome};
pub use state::State;
/// The model crate's version.
pub const MODEL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// SHA-256 of the model's source files (`model/src`, by path): what a conformance report
/// names so that `phone-jpki verify-report` can tell whether it was made against these rules.
pub const MODEL_HASH: &str = env!("PHONE_JPKI_MODEL_HASH");
pub mod alt_properties;
pub mod check;
pub mod deadend;
pub mod engine;
pub mod explore;
pub mod invariants;
pub mod itf;
pub mod properties;
pub mod risks;
pub mod semantics;
pub mod symmetry;
pub mod threats;
mod threats_doc;
pub mod trace;
pub mod vectors;

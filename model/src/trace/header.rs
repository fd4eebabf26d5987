//! The header line: format and configuration.

use super::FORMAT;
use crate::config::Config;
use crate::ids::Kind;
use crate::ids::PersonId;
use crate::policy::Choice;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The trace format versions this model reads.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum TraceFormat {
    /// Version 1: an omitted field, or `null` in a field that is not a bound, takes the
    /// reference world's value (PIN tries 1). Still read; `phone-jpki upgrade` converts.
    #[serde(rename = "phone-jpki-trace/1")]
    V1,
    /// Version 2 (current): an omitted field takes the reference world's value except
    /// `pin_tries`, which takes the cards' `[3, 5]`; `null` is allowed only in `max_events`,
    /// `max_certs` and `max_sessions`, where it means "no bound".
    #[serde(rename = "phone-jpki-trace/2")]
    V2,
}

impl TraceFormat {
    /// The name in the header.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::V1 => "phone-jpki-trace/1",
            TraceFormat::V2 => FORMAT,
        }
    }

    /// The format named `name`, if this model reads it.
    pub fn from_name(name: &str) -> Option<TraceFormat> {
        [TraceFormat::V1, TraceFormat::V2]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// PIN tries of a version-2 trace whose header omits `pin_tries`: the cards' 3 (auth) and 5
/// (sign) (R-PIN-RETRY).
pub const CARD_PIN_TRIES: [u8; 2] = [3, 5];

/// The fields of [`TraceConfig`] where `null` means "no bound".
pub const NULLABLE: [&str; 3] = ["max_events", "max_certs", "max_sessions"];

/// The configuration in a header: the model [`Config`]'s fields, each optional (the reference
/// configuration's value when omitted, but PIN tries 3/5 in version 2); `policy` lists
/// non-default variants by CLI name. The initial world is `docs/WORLD.md`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct TraceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persons: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phones: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<Kind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_card_generations: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_issuances: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_app_installs: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_handovers: Option<u8>,
    /// A number, or `null` for unbounded.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub max_events: Option<Option<u8>>,
    /// A number, or `null` for unbounded.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub max_certs: Option<Option<u8>>,
    /// A number, or `null` for one per phone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub max_sessions: Option<Option<u8>>,
    /// Wrong-PIN tries before blocking: `[auth, sign]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_tries: Option<[u8; 2]>,
    /// THREAT-PIN-KNOWN: the persons whose PINs everyone else knows too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_known: Option<Vec<u8>>,
    /// Non-default policy choices (fault variants and ALT-* alternatives) by name
    /// (`phone-jpki check --policy list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Vec<String>>,
}

/// A field that is present (possibly `null`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u8>>, D::Error> {
    Option::<u8>::deserialize(d).map(Some)
}

impl TraceConfig {
    /// Every field of `c` spelled out.
    pub fn of(c: &Config) -> TraceConfig {
        let mut policy = Vec::new();
        for v in Choice::all() {
            // A variant is on when the field it flips already has its flipped value in `c`.
            let mut q = c.policy;
            v.apply(&mut q);
            if q == c.policy {
                policy.push(v.name().to_string());
            }
        }
        TraceConfig {
            persons: Some(c.persons),
            phones: Some(c.phones),
            kinds: Some(c.kinds.clone()),
            max_card_generations: Some(c.max_card_generations),
            max_issuances: Some(c.max_issuances),
            max_app_installs: Some(c.max_app_installs),
            max_handovers: Some(c.max_handovers),
            max_events: Some(c.max_events),
            max_certs: Some(c.max_certs),
            max_sessions: Some(c.max_sessions),
            pin_tries: Some(c.pin_tries),
            pin_known: Some(c.pin_known.iter().map(|p| p.0).collect()),
            policy: Some(policy),
        }
    }

    /// The model configuration of a trace of format `format`: the reference one with the
    /// given fields (PIN tries 3/5 when omitted in version 2), validated.
    pub fn to_config(&self, format: TraceFormat) -> Result<Config, String> {
        let mut c = Config::reference();
        if format == TraceFormat::V2 {
            c.pin_tries = CARD_PIN_TRIES;
        }
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        set!(
            persons,
            phones,
            max_card_generations,
            max_issuances,
            max_app_installs,
            max_handovers,
            max_events,
            max_certs,
            max_sessions,
            pin_tries
        );
        match &self.pin_known {
            Some(p) => c.pin_known = p.iter().map(|&x| PersonId(x)).collect(),
            // Omitted: nobody's PIN is known to others, as in every trace written before
            // THREAT-PIN-KNOWN existed (docs/WORLD.md), not the reference world's p0.
            None => c.pin_known = Vec::new(),
        }
        if let Some(k) = &self.kinds {
            c.kinds = k.clone();
            c.kinds.sort();
            c.kinds.dedup();
        }
        if let Some(p) = &self.policy {
            for name in p {
                let v = Choice::from_name(name)
                    .ok_or_else(|| format!("unknown policy choice {name:?}"))?;
                c = c.with_choice(v);
            }
        }
        c.validate()?;
        Ok(c)
    }
}

/// The first line of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// `phone-jpki-trace/2` (current) or `phone-jpki-trace/1`.
    pub format: TraceFormat,
    /// The model configuration the trace runs in (omitted fields: the reference one's).
    #[serde(default)]
    pub config: TraceConfig,
    /// What the trace shows (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Requirement and property IDs the trace exercises.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rids: Vec<String>,
}

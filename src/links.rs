//! Explorer links: a world and its policies written as the CLI's own flags in a URL query, a
//! path written as action labels in the URL path, and the way back (labels -> actions under
//! that world). A link pasted into a report keeps working on any `phone-jpki explore`, since
//! it carries its world; when it cannot (a label not offered where it stands), the error
//! says which step and why.

use crate::variants::policy_names;
use crate::WorldArgs;
use clap::Parser;
#[cfg(test)]
use phone_jpki_model::Variant;
use phone_jpki_model::{candidate_actions, step, Action, Config, Kind, State};

/// Where `phone-jpki explore` listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// The world flags of a link, parsed with the CLI's own parser and checks.
#[derive(Parser)]
#[command(name = "link", no_binary_name = true)]
struct LinkArgs {
    #[command(flatten)]
    world: WorldArgs,
    #[arg(long, value_delimiter = ',')]
    policy: Vec<String>,
}

/// The flags (name without `--`, value) that rebuild `c`, relative to the named world that
/// needs the fewest; `Err` when no flags can express it.
pub fn config_flags(c: &Config) -> Result<Vec<(String, String)>, String> {
    let mut best: Option<Vec<(String, String)>> = None;
    for (name, base) in [
        ("deep", Config::deep()),
        ("reference", Config::reference()),
        ("single", Config::single()),
        ("new-phone", Config::new_phone()),
        ("storyline", Config::storyline()),
    ] {
        let mut f = vec![("world".to_string(), name.to_string())];
        let mut num = |flag: &str, a: u8, b: u8| {
            if a != b {
                f.push((flag.into(), a.to_string()));
            }
        };
        num("persons", c.persons, base.persons);
        num("phones", c.phones, base.phones);
        num("max-issuances", c.max_issuances, base.max_issuances);
        num(
            "max-card-generations",
            c.max_card_generations,
            base.max_card_generations,
        );
        num(
            "max-app-installs",
            c.max_app_installs,
            base.max_app_installs,
        );
        num("max-handovers", c.max_handovers, base.max_handovers);
        if c.pin_tries != base.pin_tries {
            f.push(("pin-tries".into(), c.pin_tries[0].to_string()));
        }
        if c.kinds != base.kinds {
            let k = match c.kinds.as_slice() {
                [Kind::Auth] => "auth",
                [Kind::Sign] => "sign",
                _ => "both",
            };
            f.push(("kinds".into(), k.into()));
        }
        let mut bound = |flag: &str, a: Option<u8>, b: Option<u8>| {
            if a != b {
                f.push((flag.into(), a.map_or("none".into(), |n| n.to_string())));
            }
        };
        bound("max-events", c.max_events, base.max_events);
        bound("max-sessions", c.max_sessions, base.max_sessions);
        bound("max-certs", c.max_certs, base.max_certs);
        if c.pin_known != base.pin_known {
            let v: Vec<String> = c.pin_known.iter().map(|p| p.to_string()).collect();
            let v = if v.is_empty() {
                "none".into()
            } else {
                v.join(",")
            };
            f.push(("pin-known".into(), v));
        }
        let names = policy_names(&c.policy);
        if !names.is_empty() {
            f.push(("policy".into(), names.join(",")));
        }
        match &best {
            Some(b) if b.len() <= f.len() => {}
            _ => best = Some(f),
        }
    }
    let flags = best.unwrap_or_default();
    // Only a round trip proves the flags say it all (fields added later, per-kind PIN tries).
    match config_from_flags(&flags) {
        Ok(back) if &back == c => Ok(flags),
        _ => Err("this world has settings no command-line flag expresses".into()),
    }
}

/// Build a world from flags (name without `--`, value), with the CLI's checks.
pub fn config_from_flags(flags: &[(String, String)]) -> Result<Config, String> {
    let mut argv = Vec::new();
    for (k, v) in flags {
        argv.push(format!("--{k}"));
        argv.push(v.clone());
    }
    let a = LinkArgs::try_parse_from(argv).map_err(|e| {
        e.to_string()
            .lines()
            .next()
            .unwrap_or("bad flag")
            .to_string()
    })?;
    crate::config(&a.world, &a.policy)
}

/// `k=v&k=v`, percent-encoded.
pub fn query(flags: &[(String, String)]) -> String {
    flags
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parse a query string into flags.
pub fn parse_query(q: &str) -> Result<Vec<(String, String)>, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// Percent-encode all but unreserved characters and those that keep labels legible.
pub fn encode(s: &str) -> String {
    encode_keeping(s, b"-_.~(),")
}

/// Encode an action label for a URL path segment (`=` is plain there).
pub fn encode_label(s: &str) -> String {
    encode_keeping(s, b"-_.~(),=")
}

fn encode_keeping(s: &str, keep: &[u8]) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undo [`encode`] (and `+` for a space, as forms send it).
pub fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape at {i} in {s:?}"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("not UTF-8 after decoding {s:?}"))
}

/// The Explorer link that opens `path` in world `c` on the Explorer at `addr`.
pub fn explorer_link(addr: &str, c: &Config, path: &[Action]) -> Result<String, String> {
    let flags = config_flags(c)?;
    let steps: String = path
        .iter()
        .map(|a| format!("/{}", encode_label(&a.to_string())))
        .collect();
    Ok(format!("http://{addr}/path{steps}?{}", query(&flags)))
}

/// The action with this label among those offered in `s`.
pub fn offered_by_label(c: &Config, s: &State, label: &str) -> Option<Action> {
    let mut offered = Vec::new();
    candidate_actions(c, s, &mut offered);
    offered.into_iter().find(|a| a.to_string() == label)
}

/// Labels to actions from the initial state; the error names the step and why.
pub fn actions_from_labels(c: &Config, labels: &[String]) -> Result<Vec<Action>, String> {
    let mut s = State::initial(c);
    let mut out = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let Some(a) = offered_by_label(c, &s, l) else {
            let why = crate::whynot::explain_label(c, &s, l);
            return Err(format!("step {}: {l} is not offered there: {why}", i + 1));
        };
        s = step(c, &s, a).next;
        out.push(a);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_for_worlds_overrides_and_policies() {
        let mut c = Config::reference().with_variant(Variant::KeygenAtTsm);
        c.max_events = None;
        c.persons = 1;
        let flags = config_flags(&c).unwrap();
        assert_eq!(flags[0], ("world".into(), "reference".into()));
        assert!(flags.contains(&("max-events".into(), "none".into())));
        assert!(flags.contains(&("policy".into(), "keygen-at-tsm".into())));
        assert_eq!(config_from_flags(&flags).unwrap(), c);
        // Two policies and the deep world.
        let d = Config::deep()
            .with_variant(Variant::ResetKeepsSe)
            .with_variant(Variant::TemporaryPinShown);
        let f = config_flags(&d).unwrap();
        assert_eq!(
            config_from_flags(&parse_query(&query(&f)).unwrap()).unwrap(),
            d
        );
    }

    #[test]
    fn per_kind_pin_tries_have_no_flag() {
        let mut c = Config::reference();
        c.pin_tries = [1, 3];
        assert!(config_flags(&c)
            .unwrap_err()
            .contains("no command-line flag"));
    }

    #[test]
    fn labels_survive_encoding_and_map_back_to_actions() {
        let c = Config::reference();
        let h0 = phone_jpki_model::PhoneId(0);
        let path = [
            Action::InstallApp(h0),
            Action::HandOver(h0, phone_jpki_model::Recipient::Stranger, false),
        ];
        let link = explorer_link(DEFAULT_ADDR, &c, &path).unwrap();
        assert_eq!(
            link,
            "http://127.0.0.1:3000/path/InstallApp(h0)/HandOver(h0-%3Estranger,careless)?world=reference"
        );
        let labels: Vec<String> = link["http://127.0.0.1:3000/path/".len()..]
            .split('?')
            .next()
            .unwrap()
            .split('/')
            .map(|l| decode(l).unwrap())
            .collect();
        assert_eq!(actions_from_labels(&c, &labels).unwrap(), path);
        let err = actions_from_labels(&c, &["Apply(h0,auth)".into()]).unwrap_err();
        assert!(
            err.starts_with("step 1: Apply(h0,auth) is not offered there: "),
            "{err}"
        );
        assert!(decode("%G1").is_err());
    }
}

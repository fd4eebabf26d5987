//! One JSON line to a `serde_json::Value`, refusing what `serde_json` would let through
//! silently (a repeated key: the last one would win) and saying what is wrong without the
//! parser's internals.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// A JSON value whose objects have no repeated key.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Unique, E> {
        Ok(Unique(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Unique, E> {
        Ok(Unique(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<Unique, E> {
        Ok(Unique(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Unique, E> {
        Ok(Unique(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut v = Vec::new();
        while let Some(Unique(x)) = seq.next_element()? {
            v.push(x);
        }
        Ok(Unique(Value::Array(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut m = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if m.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?} (each key may appear once per object)"
                )));
            }
            let Unique(v) = map.next_value()?;
            m.insert(key, v);
        }
        Ok(Unique(Value::Object(m)))
    }
}

/// Why a line is not acceptable JSON: the 1-based column and a message.
pub struct JsonError {
    /// 1-based column from the parser.
    pub column: usize,
    /// What is wrong, without the parser's position suffix.
    pub message: String,
}

/// Parse one line of JSON; a UTF-8 byte order mark at its start is skipped.
pub fn parse_line(text: &str) -> Result<Value, JsonError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str::<Unique>(text)
        .map(|u| u.0)
        .map_err(|e| JsonError {
            column: e.column(),
            message: plain(&e.to_string()),
        })
}

/// A `serde` message in plain words: without ` at line N column M` and with Rust type names
/// replaced by what the JSON must hold.
pub fn plain(message: &str) -> String {
    let mut m = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    };
    for (from, to) in [
        (
            "invalid type: unit variant, expected newtype variant",
            "expected an object like {\"refused\": NAME}",
        ),
        (
            "invalid type: newtype variant, expected unit variant",
            "expected a string",
        ),
        ("unit variant", "string"),
        ("newtype variant", "object"),
        ("expected u8", "expected a number 0..=255"),
        ("expected usize", "expected a non-negative number"),
        ("expected u64", "expected a non-negative number"),
        ("a borrowed string", "a string"),
        (
            "internally tagged enum TraceAction",
            "a step object with an \"action\" field",
        ),
        (
            "data did not match any variant of untagged enum",
            "not one of the accepted forms of",
        ),
        ("EOF while parsing", "the line ends inside"),
        ("expected value", "expected a JSON value"),
    ] {
        m = m.replace(from, to);
    }
    m
}

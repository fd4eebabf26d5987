//! Minimal BER-TLV reading for the GlobalPlatform command data the SE parses (INSTALL
//! parameters, DELETE, GET STATUS, STORE DATA access rules). Never panics on input.

use std::fmt;

/// Why bytes are not a BER-TLV sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlvError {
    /// The data ended inside a tag, a length or a value (at this offset).
    Truncated { at: usize },
    /// A length form this reader does not take (indefinite, or more than two length bytes).
    UnsupportedLength { at: usize },
    /// A tag of more than three bytes.
    TagTooLong { at: usize },
}

impl fmt::Display for TlvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvError::Truncated { at } => write!(f, "BER-TLV truncated at offset {at}"),
            TlvError::UnsupportedLength { at } => {
                write!(f, "unsupported BER length form at offset {at}")
            }
            TlvError::TagTooLong { at } => write!(f, "BER tag longer than 3 bytes at offset {at}"),
        }
    }
}

impl std::error::Error for TlvError {}

/// One data object: tag (as its bytes big-endian in a u32) and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes, e.g. `0x9F70`.
    pub tag: u32,
    /// The value field.
    pub value: &'a [u8],
}

/// Parse `data` as a sequence of BER-TLV objects (the whole input must be consumed).
pub fn parse(data: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < data.len() {
        let start = i;
        let first = *data.get(i).ok_or(TlvError::Truncated { at: i })?;
        let mut tag = u32::from(first);
        i += 1;
        if first & 0x1F == 0x1F {
            loop {
                let b = *data.get(i).ok_or(TlvError::Truncated { at: i })?;
                if i - start >= 3 {
                    return Err(TlvError::TagTooLong { at: start });
                }
                tag = (tag << 8) | u32::from(b);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let l0 = *data.get(i).ok_or(TlvError::Truncated { at: i })?;
        i += 1;
        let len = match l0 {
            0x00..=0x7F => usize::from(l0),
            0x81 => {
                let b = *data.get(i).ok_or(TlvError::Truncated { at: i })?;
                i += 1;
                usize::from(b)
            }
            0x82 => {
                let hi = *data.get(i).ok_or(TlvError::Truncated { at: i })?;
                let lo = *data.get(i + 1).ok_or(TlvError::Truncated { at: i + 1 })?;
                i += 2;
                usize::from(u16::from_be_bytes([hi, lo]))
            }
            _ => return Err(TlvError::UnsupportedLength { at: i - 1 }),
        };
        let end = i.checked_add(len).ok_or(TlvError::Truncated { at: i })?;
        let value = data.get(i..end).ok_or(TlvError::Truncated { at: i })?;
        out.push(Tlv { tag, value });
        i = end;
    }
    Ok(out)
}

/// The value of the first object with `tag` in `objs`.
pub fn find<'a>(objs: &[Tlv<'a>], tag: u32) -> Option<&'a [u8]> {
    objs.iter().find(|t| t.tag == tag).map(|t| t.value)
}

/// Encode one object (tag of 1 or 2 bytes, definite length).
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if tag > 0xFF {
        out.extend_from_slice(&(tag as u16).to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    out.extend(crate::applet::ber_len(value.len()));
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_short_long_and_two_byte_tags() {
        let mut data = vec![
            0x4F, 0x02, 0xA0, 0x00, 0x9F, 0x70, 0x01, 0x07, 0xC9, 0x81, 0x80,
        ];
        data.extend_from_slice(&[0x55; 0x80]);
        let objs = parse(&data).unwrap();
        assert_eq!(objs.len(), 3);
        assert_eq!(find(&objs, 0x4F), Some(&[0xA0, 0x00][..]));
        assert_eq!(find(&objs, 0x9F70), Some(&[0x07][..]));
        assert_eq!(find(&objs, 0xC9).map(<[u8]>::len), Some(0x80));
        assert_eq!(encode(0x9F70, &[7]), vec![0x9F, 0x70, 1, 7]);
    }

    #[test]
    fn rejects_truncation_and_odd_lengths() {
        assert_eq!(parse(&[0x4F, 0x05, 1]), Err(TlvError::Truncated { at: 2 }));
        assert_eq!(parse(&[0x4F]), Err(TlvError::Truncated { at: 1 }));
        assert_eq!(
            parse(&[0x4F, 0x80]),
            Err(TlvError::UnsupportedLength { at: 1 })
        );
        assert_eq!(
            parse(&[0x5F, 0xFF, 0xFF, 0xFF, 0x01]),
            Err(TlvError::TagTooLong { at: 0 })
        );
        assert_eq!(parse(&[]), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&data);
        }
    }
}

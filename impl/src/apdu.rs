//! ISO/IEC 7816-4 command and response APDUs: parsing never panics; every malformed input is a
//! typed [`ApduError`] that the card side answers with a status word.

use std::fmt;

/// A status word (SW1 SW2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    pub const OK: StatusWord = StatusWord(0x9000);
    /// Wrong length (Lc/Le inconsistent with the data).
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// Security status not satisfied (e.g. no secure channel, PIN not verified).
    pub const SECURITY_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// Authentication method blocked (PIN blocked).
    pub const AUTH_BLOCKED: StatusWord = StatusWord(0x6983);
    /// Conditions of use not satisfied (e.g. temporary PIN, wrong life-cycle state).
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// Command not allowed: no current EF.
    pub const NO_CURRENT_EF: StatusWord = StatusWord(0x6986);
    /// Incorrect parameters in the command data field.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// File or application not found.
    pub const NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// Referenced data not found.
    pub const REF_DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// Incorrect P1-P2.
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6A86);
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// No precise diagnosis.
    pub const UNKNOWN: StatusWord = StatusWord(0x6F00);

    /// `63Cx`: verification failed, `x` tries left.
    pub fn tries_left(x: u8) -> StatusWord {
        StatusWord(0x63C0 | u16::from(x.min(15)))
    }

    /// The tries left if this is a `63Cx` word.
    pub fn as_tries_left(self) -> Option<u8> {
        (self.0 & 0xFFF0 == 0x63C0).then_some((self.0 & 0x0F) as u8)
    }

    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    pub fn is_ok(self) -> bool {
        self == StatusWord::OK
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// Why a byte string is not a command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApduError {
    /// Fewer than the four header bytes.
    TooShort { len: usize },
    /// The body does not match any ISO 7816-4 case (short or extended).
    BadLength { len: usize },
}

impl ApduError {
    /// The status word a card answers to this malformed command.
    pub fn status(&self) -> StatusWord {
        StatusWord::WRONG_LENGTH
    }
}

impl fmt::Display for ApduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApduError::TooShort { len } => {
                write!(f, "APDU of {len} bytes is shorter than its 4-byte header")
            }
            ApduError::BadLength { len } => write!(
                f,
                "APDU of {len} bytes: Lc/Le do not match the body (ISO 7816-4 cases 1-4)"
            ),
        }
    }
}

impl std::error::Error for ApduError {}

/// A command APDU. `le` is `None` when absent; `Some(0)` with `extended == false` means 256,
/// and with `extended == true` means 65536 (kept as written, not expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<u32>,
    pub extended: bool,
}

impl Command {
    /// A short command with data and no Le.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: impl Into<Vec<u8>>) -> Self {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: data.into(),
            le: None,
            extended: false,
        }
    }

    /// The same command with Le set (0 = maximum).
    pub fn with_le(mut self, le: u32) -> Self {
        self.le = Some(le);
        self
    }

    /// Parse a command APDU (ISO 7816-4 §5.1, cases 1, 2S, 3S, 4S, 2E, 3E, 4E).
    pub fn parse(bytes: &[u8]) -> Result<Command, ApduError> {
        let len = bytes.len();
        if len < 4 {
            return Err(ApduError::TooShort { len });
        }
        let (cla, ins, p1, p2) = (bytes[0], bytes[1], bytes[2], bytes[3]);
        let body = &bytes[4..];
        let head = |data: &[u8], le: Option<u32>, extended: bool| Command {
            cla,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            le,
            extended,
        };
        let bad = Err(ApduError::BadLength { len });
        match body.len() {
            0 => return Ok(head(&[], None, false)),
            1 => return Ok(head(&[], Some(u32::from(body[0])), false)),
            _ => {}
        }
        if body[0] != 0 {
            // Short case 3 or 4.
            let lc = usize::from(body[0]);
            return match body.len() - 1 {
                n if n == lc => Ok(head(&body[1..], None, false)),
                n if n == lc + 1 => Ok(head(&body[1..=lc], Some(u32::from(body[lc + 1])), false)),
                _ => bad,
            };
        }
        // Extended: body[0] == 0.
        if body.len() == 3 {
            let le = u32::from(u16::from_be_bytes([body[1], body[2]]));
            return Ok(head(&[], Some(le), true));
        }
        if body.len() < 3 {
            return bad;
        }
        let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
        if lc == 0 {
            return bad;
        }
        let rest = &body[3..];
        match rest.len() {
            n if n == lc => Ok(head(rest, None, true)),
            n if n == lc + 2 => {
                let le = u32::from(u16::from_be_bytes([rest[lc], rest[lc + 1]]));
                Ok(head(&rest[..lc], Some(le), true))
            }
            _ => bad,
        }
    }

    /// Encode; uses the extended form when `extended` is set or the data does not fit a short Lc.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        let ext = self.extended || self.data.len() > 255 || self.le.is_some_and(|l| l > 256);
        if ext {
            if !self.data.is_empty() {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&((le & 0xFFFF) as u16).to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push((le & 0xFF) as u8);
            }
        }
        out
    }
}

/// A response APDU: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl Response {
    pub fn ok(data: impl Into<Vec<u8>>) -> Self {
        Response {
            data: data.into(),
            sw: StatusWord::OK,
        }
    }

    pub fn status(sw: StatusWord) -> Self {
        Response {
            data: Vec::new(),
            sw,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.push(self.sw.sw1());
        out.push(self.sw.sw2());
        out
    }

    /// Split raw response bytes into data and status word.
    pub fn parse(bytes: &[u8]) -> Result<Response, ApduError> {
        if bytes.len() < 2 {
            return Err(ApduError::TooShort { len: bytes.len() });
        }
        let (data, sw) = bytes.split_at(bytes.len() - 2);
        Ok(Response {
            data: data.to_vec(),
            sw: StatusWord(u16::from_be_bytes([sw[0], sw[1]])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_all_short_cases() {
        let c1 = Command::parse(&[0x00, 0xA4, 0x04, 0x0C]).unwrap();
        assert!(c1.data.is_empty() && c1.le.is_none());
        let c2 = Command::parse(&[0x00, 0xB0, 0x00, 0x00, 0x00]).unwrap();
        assert_eq!(c2.le, Some(0));
        let c3 = Command::parse(&[0x00, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32]).unwrap();
        assert_eq!(c3.data, vec![0x31, 0x32]);
        let c4 = Command::parse(&[0x80, 0x2A, 0x00, 0x80, 0x01, 0xAA, 0x00]).unwrap();
        assert_eq!((c4.data.clone(), c4.le), (vec![0xAA], Some(0)));
        assert_eq!(Command::parse(&c4.to_bytes()).unwrap(), c4);
    }

    #[test]
    fn parses_extended_cases() {
        let data = vec![7u8; 300];
        let c = Command::new(0x80, 0x2A, 0, 0x80, data.clone()).with_le(0);
        let bytes = c.to_bytes();
        assert_eq!(&bytes[4..7], &[0, 0x01, 0x2C]);
        let back = Command::parse(&bytes).unwrap();
        assert_eq!(back.data, data);
        assert!(back.extended);
        let le_only = Command::parse(&[0, 0xB0, 0, 0, 0, 0x01, 0x00]).unwrap();
        assert_eq!(le_only.le, Some(256));
    }

    #[test]
    fn rejects_malformed_lengths() {
        assert_eq!(
            Command::parse(&[0x00, 0xA4]),
            Err(ApduError::TooShort { len: 2 })
        );
        // Lc says 5, only 2 bytes follow.
        assert_eq!(
            Command::parse(&[0, 0x20, 0, 0x80, 5, 1, 2]),
            Err(ApduError::BadLength { len: 7 })
        );
        // Extended Lc of zero.
        assert!(Command::parse(&[0, 0x20, 0, 0x80, 0, 0, 0, 1]).is_err());
        assert!(Command::parse(&[0, 0x20, 0, 0x80, 0, 1]).is_err());
    }

    #[test]
    fn tries_left_round_trips() {
        assert_eq!(StatusWord::tries_left(3), StatusWord(0x63C3));
        assert_eq!(StatusWord(0x63C2).as_tries_left(), Some(2));
        assert_eq!(StatusWord::OK.as_tries_left(), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(c) = Command::parse(&bytes) {
                let again = Command::parse(&c.to_bytes()).unwrap();
                prop_assert_eq!(again.data, c.data);
                prop_assert_eq!((again.cla, again.ins, again.p1, again.p2), (c.cla, c.ins, c.p1, c.p2));
            }
        }
    }
}

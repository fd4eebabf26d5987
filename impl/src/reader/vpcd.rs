//! vsmartcard's vpcd protocol, card side (the "vicc"): the `vpcd` driver inside `pcscd`
//! listens on a TCP port (default 35963, `CHANNELID 0x8C7B` in `/etc/reader.conf.d/vpcd`) and
//! the virtual card connects to it as a client. Every message either way is a frame: a
//! 2-byte big-endian length, then that many bytes (vsmartcard `vpcd.c`, `sendToVICC` /
//! `recvFromVICC`). From the reader, a 1-byte payload is a control code and anything longer a
//! command APDU; the card answers an APDU with its response APDU and `GET ATR` with the ATR,
//! and nothing to power off / on / reset.
//!
//! A reset, power-off or power-on takes the phone out of and back into the field: the applet
//! session ends as on a card (verification, current EF and selection are forgotten).

use std::fmt;
use std::io::{self, Read, Write};

/// The JPKI ATR that OpenSC's `card-jpki.c` matches (`3b:e0:00:ff:81:31:fe:45:14`): T0 `E0`
/// announces TB1, TC1, TD1 and no historical bytes; TD1 `81` and TD2 `31` announce T=1 (IFSC
/// `FE`, BWI/CWI `45`); TCK `14`.
pub const JPKI_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// vsmartcard's default vpcd port.
pub const DEFAULT_PORT: u16 = 35963;

/// A message from the reader (`pcscd`'s vpcd driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderMessage {
    /// Control `00`: power off.
    PowerOff,
    /// Control `01`: power on.
    PowerOn,
    /// Control `02`: reset.
    Reset,
    /// Control `04`: send the ATR.
    GetAtr,
    /// A command APDU (2 bytes or more; the card answers with a status word whatever it is).
    Apdu(Vec<u8>),
}

/// What went wrong on the vpcd link.
#[derive(Debug)]
pub enum VpcdError {
    /// The reader closed the connection between frames (pcscd stopped or ejected the card).
    Closed,
    /// The stream ended inside a frame: `got` of `expected` bytes (after the length prefix
    /// when `in_payload`).
    Truncated {
        /// Whether the length prefix was complete.
        in_payload: bool,
        /// Bytes the frame needed.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// A frame of length 0 (vpcd never sends one).
    EmptyFrame,
    /// A 1-byte frame with a control code vpcd does not define.
    UnknownControl(u8),
    /// An answer longer than a frame can carry.
    TooLong(usize),
    /// Socket error.
    Io(io::Error),
}

impl fmt::Display for VpcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VpcdError::Closed => write!(f, "the reader closed the connection"),
            VpcdError::Truncated {
                in_payload: false,
                got,
                ..
            } => write!(
                f,
                "bad frame: the stream ended after {got} of the 2 length bytes"
            ),
            VpcdError::Truncated {
                in_payload: true,
                expected,
                got,
            } => write!(
                f,
                "bad frame: length prefix says {expected} bytes, the stream ended after {got}"
            ),
            VpcdError::EmptyFrame => write!(f, "bad frame: length 0"),
            VpcdError::UnknownControl(c) => write!(
                f,
                "bad frame: unknown control code {c:#04x} (vpcd defines 00 off, 01 on, 02 reset, 04 ATR)"
            ),
            VpcdError::TooLong(n) => {
                write!(f, "answer of {n} bytes does not fit a frame (max 65535)")
            }
            VpcdError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

impl std::error::Error for VpcdError {}

/// Read exactly `buf.len()` bytes; `Ok(n)` with `n < len` when the stream ended first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, VpcdError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(VpcdError::Io(e)),
        }
    }
    Ok(got)
}

/// Read one frame from the reader and decode it.
pub fn read_message(r: &mut impl Read) -> Result<ReaderMessage, VpcdError> {
    let mut len = [0u8; 2];
    match read_full(r, &mut len)? {
        0 => return Err(VpcdError::Closed),
        1 => {
            return Err(VpcdError::Truncated {
                in_payload: false,
                expected: 2,
                got: 1,
            })
        }
        _ => {}
    }
    let n = usize::from(u16::from_be_bytes(len));
    let mut payload = vec![0u8; n];
    let got = read_full(r, &mut payload)?;
    if got < n {
        return Err(VpcdError::Truncated {
            in_payload: true,
            expected: n,
            got,
        });
    }
    decode(payload)
}

/// Decode a frame's payload.
pub fn decode(payload: Vec<u8>) -> Result<ReaderMessage, VpcdError> {
    match payload.as_slice() {
        [] => Err(VpcdError::EmptyFrame),
        [0x00] => Ok(ReaderMessage::PowerOff),
        [0x01] => Ok(ReaderMessage::PowerOn),
        [0x02] => Ok(ReaderMessage::Reset),
        [0x04] => Ok(ReaderMessage::GetAtr),
        [c] => Err(VpcdError::UnknownControl(*c)),
        _ => Ok(ReaderMessage::Apdu(payload)),
    }
}

/// Write one frame.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> Result<(), VpcdError> {
    let n = u16::try_from(payload.len()).map_err(|_| VpcdError::TooLong(payload.len()))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&n.to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame).map_err(VpcdError::Io)?;
    w.flush().map_err(VpcdError::Io)
}

/// A card a reader can talk to: raw APDUs in and out, and the field going away.
pub trait Card {
    /// One raw command APDU; the raw response (data and status word).
    fn exchange(&mut self, apdu: &[u8]) -> Vec<u8>;
    /// Power off / reset: the session ends.
    fn field_off(&mut self);
}

impl Card for crate::se::SecureElement {
    fn exchange(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.transmit_contactless(apdu)
    }

    fn field_off(&mut self) {
        self.contactless_field_off();
    }
}

/// Counts of what one connection carried (for the log and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// APDUs answered.
    pub apdus: u64,
    /// Power-on, power-off and reset controls.
    pub power_events: u64,
    /// ATR requests.
    pub atr_requests: u64,
}

/// Serve one reader connection until it closes: `Ok(stats)` when the reader closed between
/// frames, an error on a bad frame or a socket error (the caller drops the connection).
pub fn serve_connection(
    stream: &mut (impl Read + Write),
    card: &mut impl Card,
    atr: &[u8],
) -> Result<LinkStats, (VpcdError, LinkStats)> {
    let mut stats = LinkStats::default();
    loop {
        let msg = match read_message(stream) {
            Ok(m) => m,
            Err(VpcdError::Closed) => {
                card.field_off();
                return Ok(stats);
            }
            Err(e) => {
                card.field_off();
                return Err((e, stats));
            }
        };
        let answer = match msg {
            ReaderMessage::PowerOff | ReaderMessage::PowerOn | ReaderMessage::Reset => {
                card.field_off();
                stats.power_events += 1;
                None
            }
            ReaderMessage::GetAtr => {
                stats.atr_requests += 1;
                Some(atr.to_vec())
            }
            ReaderMessage::Apdu(apdu) => {
                stats.apdus += 1;
                Some(card.exchange(&apdu))
            }
        };
        if let Some(a) = answer {
            if let Err(e) = write_frame(stream, &a) {
                card.field_off();
                return Err((e, stats));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A reader conversation in memory: frames in, frames out.
    struct Duplex {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for p in payloads {
            write_frame(&mut v, p).unwrap();
        }
        v
    }

    fn split_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let [a, b, rest @ ..] = bytes {
            let n = usize::from(u16::from_be_bytes([*a, *b]));
            out.push(rest[..n].to_vec());
            bytes = &rest[n..];
        }
        assert!(bytes.is_empty(), "trailing bytes");
        out
    }

    /// Records what reached it; answers `90 00` plus the APDU's INS byte.
    #[derive(Default)]
    struct Probe {
        apdus: Vec<Vec<u8>>,
        field_offs: usize,
    }

    impl Card for Probe {
        fn exchange(&mut self, apdu: &[u8]) -> Vec<u8> {
            self.apdus.push(apdu.to_vec());
            vec![apdu[1], 0x90, 0x00]
        }
        fn field_off(&mut self) {
            self.field_offs += 1;
        }
    }

    #[test]
    fn control_codes_and_apdus_as_vpcd_sends_them() {
        let input = frames(&[
            &[0x04],
            &[0x01],
            &[0x00, 0xA4, 0x04, 0x0C],
            &[0x02],
            &[0x00],
        ]);
        let mut link = Duplex {
            input: Cursor::new(input),
            output: Vec::new(),
        };
        let mut card = Probe::default();
        let stats = serve_connection(&mut link, &mut card, &JPKI_ATR).unwrap();
        // Answers only to GET ATR and the APDU, in order.
        assert_eq!(
            split_frames(&link.output),
            vec![JPKI_ATR.to_vec(), vec![0xA4, 0x90, 0x00]]
        );
        assert_eq!(card.apdus, vec![vec![0x00, 0xA4, 0x04, 0x0C]]);
        // on, reset, off, and the close: each ends the session.
        assert_eq!(card.field_offs, 4);
        assert_eq!(
            stats,
            LinkStats {
                apdus: 1,
                power_events: 3,
                atr_requests: 1
            }
        );
    }

    #[test]
    fn bad_frames_are_named() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0x00, 0x00], "length 0"),
            (vec![0x00, 0x01, 0x03], "unknown control code 0x03"),
            (vec![0x00], "after 1 of the 2 length bytes"),
            (
                vec![0x00, 0x05, 0x00, 0xA4],
                "length prefix says 5 bytes, the stream ended after 2",
            ),
        ];
        for (input, needle) in cases {
            let mut link = Duplex {
                input: Cursor::new(input.clone()),
                output: Vec::new(),
            };
            let mut card = Probe::default();
            let (e, _) = serve_connection(&mut link, &mut card, &JPKI_ATR).unwrap_err();
            assert!(
                e.to_string().contains(needle),
                "{input:02x?}: {e} lacks {needle}"
            );
            assert!(card.apdus.is_empty(), "nothing reached the card");
            assert_eq!(card.field_offs, 1, "the session ends with the link");
        }
        assert!(matches!(
            read_message(&mut Cursor::new(Vec::new())),
            Err(VpcdError::Closed)
        ));
        assert!(matches!(
            write_frame(&mut Vec::new(), &vec![0; 65536]),
            Err(VpcdError::TooLong(65536))
        ));
    }

    #[test]
    fn over_tcp_with_a_fake_pcscd() {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            write_frame(&mut s, &[0x01]).unwrap();
            write_frame(&mut s, &[0x04]).unwrap();
            let atr = read_message(&mut s);
            write_frame(&mut s, &[0x80, 0x3C, 0x00, 0x00, 0x00]).unwrap();
            let resp = read_message(&mut s);
            (
                atr.map_err(|e| e.to_string()),
                resp.map_err(|e| e.to_string()),
            )
        });
        let mut stream = TcpStream::connect(addr).unwrap();
        let mut card = Probe::default();
        let stats = serve_connection(&mut stream, &mut card, &JPKI_ATR).unwrap();
        let (atr, resp) = reader.join().unwrap();
        // The reader decodes our answers as APDU-sized frames (its decode is the same).
        assert_eq!(atr.unwrap(), ReaderMessage::Apdu(JPKI_ATR.to_vec()));
        assert_eq!(resp.unwrap(), ReaderMessage::Apdu(vec![0x3C, 0x90, 0x00]));
        assert_eq!(stats.apdus, 1);
    }
}

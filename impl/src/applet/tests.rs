use super::test_support::*;
use super::*;
use crate::apdu::{Command, StatusWord};
use proptest::prelude::*;
use rsa::pkcs8::DecodePublicKey;

const SC: ChannelContext = ChannelContext::SecureChannel { level: 0x03 };
const APP: ChannelContext = ChannelContext::Omapi { channel: 1 };
const AUTH_PIN: &[u8] = b"1234";
const SIGN_PIN: &[u8] = b"PASSWORD1";

/// An applet with a recording key source; every response is scanned for private key bytes.
struct H {
    applet: JpkiApplet,
    keys: RecordingKeys,
}

impl H {
    fn new() -> Self {
        H {
            applet: JpkiApplet::new(AppletConfig::default()),
            keys: RecordingKeys::new(0x5E_0001),
        }
    }

    fn run(&mut self, ctx: ChannelContext, raw: &[u8]) -> Response {
        let cmd = Command::parse(raw).unwrap();
        let r = self.applet.process(&cmd, ctx, &mut self.keys);
        assert_no_secret(&r.data, &self.keys.secrets);
        r
    }

    fn sw(&mut self, ctx: ChannelContext, raw: &[u8]) -> u16 {
        self.run(ctx, raw).sw.0
    }

    fn cmd(
        &mut self,
        ctx: ChannelContext,
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: &[u8],
    ) -> Response {
        let c = Command::new(cla, ins, p1, p2, data.to_vec()).with_le(0);
        self.run(ctx, &c.to_bytes())
    }

    fn generate(&mut self, kind: Kind) -> RsaPublicKey {
        let r = self.cmd(SC, 0x80, ins::GENERATE_KEY_PAIR, 0, kind.p2(), &[]);
        assert_eq!(r.sw, StatusWord::OK);
        RsaPublicKey::from_public_key_der(&r.data).unwrap()
    }

    fn write_cert(&mut self, kind: Kind, der: &[u8]) -> u16 {
        // Upload in 200-byte blocks (P1 80 = more follow).
        let blocks: Vec<&[u8]> = der.chunks(200).collect();
        let n = blocks.len();
        for (i, b) in blocks.into_iter().enumerate() {
            let p1 = if i + 1 < n { 0x80 } else { 0x00 };
            let r = self.cmd(SC, 0x80, ins::WRITE_CERTIFICATE, p1, kind.p2(), b);
            if i + 1 == n || r.sw != StatusWord::OK {
                return r.sw.0;
            }
        }
        unreachable!("at least one block")
    }

    /// Generate, write a cert with `serial`, set temporary PIN `temp`.
    fn issue_temporary(&mut self, kind: Kind, serial: u32, temp: &[u8]) -> (RsaPublicKey, Vec<u8>) {
        let pk = self.generate(kind);
        let cert = make_cert(&pk, serial);
        assert_eq!(self.write_cert(kind, &cert), 0x9000);
        let r = self.cmd(SC, 0x80, ins::SET_TEMPORARY_PIN, 0, kind.p2(), temp);
        assert_eq!(r.sw, StatusWord::OK);
        (pk, cert)
    }

    fn set_user_pin(&mut self, kind: Kind, temp: &[u8], new: &[u8]) -> u16 {
        let mut data = vec![temp.len() as u8];
        data.extend_from_slice(temp);
        data.extend_from_slice(new);
        self.cmd(APP, 0x80, ins::SET_USER_PIN, 0, kind.p2(), &data)
            .sw
            .0
    }

    fn issue(&mut self, kind: Kind, serial: u32, pin: &[u8]) -> (RsaPublicKey, Vec<u8>) {
        let temp: &[u8] = match kind {
            Kind::Auth => b"9876",
            Kind::Sign => b"TEMPPW99",
        };
        let out = self.issue_temporary(kind, serial, temp);
        assert_eq!(self.set_user_pin(kind, temp, pin), 0x9000);
        out
    }

    fn select_ef(&mut self, ctx: ChannelContext, fid: u16) -> u16 {
        let [a, b] = fid.to_be_bytes();
        self.sw(ctx, &[0x00, 0xA4, 0x02, 0x0C, 0x02, a, b])
    }

    fn verify(&mut self, ctx: ChannelContext, kind: Kind, pin: &[u8]) -> u16 {
        assert_eq!(self.select_ef(ctx, kind.pin_fid()), 0x9000);
        self.cmd(ctx, 0x00, ins::VERIFY, 0x00, 0x80, pin).sw.0
    }

    fn sign(&mut self, ctx: ChannelContext, kind: Kind, msg: &[u8]) -> Response {
        assert_eq!(self.select_ef(ctx, kind.key_fid()), 0x9000);
        self.cmd(ctx, 0x80, 0x2A, 0x00, 0x80, &digest_info(msg))
    }

    fn read_all(&mut self, ctx: ChannelContext, fid: u16) -> Result<Vec<u8>, u16> {
        let sw = self.select_ef(ctx, fid);
        if sw != 0x9000 {
            return Err(sw);
        }
        let mut out = Vec::new();
        loop {
            let [p1, p2] = (out.len() as u16).to_be_bytes();
            let r = self.run(ctx, &[0x00, 0xB0, p1, p2, 0x00]);
            match r.sw.0 {
                0x9000 => out.extend_from_slice(&r.data),
                0x6B00 if !out.is_empty() => return Ok(out),
                sw => return Err(sw),
            }
        }
    }

    fn state(&mut self, kind: Kind) -> (PinState, u8, Option<Vec<u8>>) {
        let v = self.applet.view(kind);
        (v.pin_state, v.tries_left, v.cert_serial)
    }
}

fn verify_sig(pk: &RsaPublicKey, msg: &[u8], sig: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    pk.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg), sig)
        .is_ok()
}

#[test]
fn select_by_aid_and_read_token() {
    let mut h = H::new();
    let mut sel = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
    sel.extend_from_slice(&JPKI_AID);
    assert_eq!(h.sw(APP, &sel), 0x9000);
    // 32 bytes, space-padded, as clients read it (`READ BINARY` Le 20).
    let token = h.read_all(APP, fid::TOKEN).unwrap();
    assert_eq!(token.len(), 32);
    assert_eq!(token.trim_ascii_end(), b"JPKIAPGPSETOKEN");
    assert_eq!(h.run(APP, &[0, 0xB0, 0, 0, 0x20]).data, token);
    // Another AID, and card-only files, are not here.
    assert_eq!(
        h.sw(APP, &[0x00, 0xA4, 0x04, 0x0C, 0x02, 0xA0, 0x00]),
        0x6A82
    );
    assert_eq!(h.select_ef(APP, 0x000B), 0x6A82);
    // Cert and key EFs exist only once written / generated.
    assert_eq!(h.select_ef(APP, fid::AUTH_CERT), 0x6A82);
    assert_eq!(h.select_ef(APP, fid::AUTH_KEY), 0x6A82);
    // READ BINARY without a current EF, with bad P1, past the end.
    assert_eq!(
        h.sw(ChannelContext::Omapi { channel: 2 }, &[0, 0xB0, 0, 0, 0]),
        0x6986
    );
    h.select_ef(APP, fid::TOKEN);
    assert_eq!(h.sw(APP, &[0, 0xB0, 0x80, 0, 0]), 0x6A86);
    assert_eq!(h.sw(APP, &[0, 0xB0, 0, 32, 0]), 0x6B00);
    let r = h.run(APP, &[0, 0xB0, 0, 4, 3]);
    assert_eq!((r.data, r.sw.0), (b"APG".to_vec(), 0x9000));
}

/// R-SCP03: every personalisation command over a plain channel, or a secure channel without
/// C-DEC, is refused with 6982 and changes nothing.
#[test]
fn personalisation_over_plain_channel_is_refused_6982() {
    let mut h = H::new();
    let weak = ChannelContext::SecureChannel { level: 0x01 };
    for ctx in [APP, weak] {
        for ins in [0x30, 0x32, 0x34, 0x36, 0x38] {
            let r = h.cmd(ctx, 0x80, ins, 0, 0x01, b"1234");
            assert_eq!(r.sw.0, 0x6982, "INS {ins:02X} over {ctx:?}");
        }
    }
    assert_eq!(h.state(Kind::Auth).0, PinState::Empty);
    assert!(h.keys.keys.is_empty(), "no key generated");
    // Over C-MAC + C-DEC (+R-MAC) it works.
    let full = ChannelContext::SecureChannel { level: 0x33 };
    assert_eq!(h.cmd(full, 0x80, 0x30, 0, 0x01, &[]).sw.0, 0x9000);
}

/// R-KEYGEN + R-PIN-SETUP + INV-PIN: the whole issuance flow of one kind, and a signature that
/// verifies against the public key GENERATE KEY PAIR returned.
#[test]
fn issuance_flow_then_signature_verifies() {
    let mut h = H::new();
    let pk = h.generate(Kind::Auth);
    assert_eq!(pk, h.keys.keys[0].to_public_key());
    assert_eq!(h.state(Kind::Auth).0, PinState::KeyGenerated);
    // No PIN before the temporary one.
    assert_eq!(h.set_user_pin(Kind::Auth, b"0000", b"1111"), 0x6985);
    assert_eq!(
        h.cmd(SC, 0x80, 0x34, 0, 0x01, b"9876").sw.0,
        0x6985,
        "no cert yet"
    );
    let cert = make_cert(&pk, 0x1001);
    assert_eq!(h.write_cert(Kind::Auth, &cert), 0x9000);
    assert_eq!(
        h.cmd(SC, 0x80, 0x34, 0, 0x01, b"98765").sw.0,
        0x6A80,
        "format"
    );
    assert_eq!(h.cmd(SC, 0x80, 0x34, 0, 0x01, b"9876").sw.0, 0x9000);
    assert_eq!(
        h.state(Kind::Auth),
        (PinState::Temporary, 3, Some(vec![0x10, 0x01]))
    );
    // Temporary PIN: no service use, even with the temporary PIN itself.
    assert_eq!(h.verify(APP, Kind::Auth, b"9876"), 0x6985);
    assert_eq!(h.sign(APP, Kind::Auth, b"m").sw.0, 0x6985);
    assert_eq!(h.cmd(APP, 0, 0x24, 1, 0x81, b"1111").sw.0, 0x6985);
    // SET USER PIN needs the temporary PIN; a wrong one costs a try.
    assert_eq!(h.set_user_pin(Kind::Auth, b"0000", AUTH_PIN), 0x63C2);
    assert_eq!(h.set_user_pin(Kind::Auth, b"9876", b"12a4"), 0x6A80);
    assert_eq!(h.set_user_pin(Kind::Auth, b"9876", AUTH_PIN), 0x9000);
    assert_eq!(h.state(Kind::Auth).0, PinState::User);
    assert_eq!(
        h.set_user_pin(Kind::Auth, b"9876", b"5555"),
        0x6985,
        "only once"
    );
    // Signing needs VERIFY in this session.
    assert_eq!(h.sign(APP, Kind::Auth, b"m").sw.0, 0x6982);
    assert_eq!(h.verify(APP, Kind::Auth, AUTH_PIN), 0x9000);
    let r = h.sign(APP, Kind::Auth, b"login challenge");
    assert_eq!(r.sw.0, 0x9000);
    assert_eq!(r.data.len(), 256);
    assert!(verify_sig(&pk, b"login challenge", &r.data));
    assert!(!verify_sig(&pk, b"other", &r.data));
    // The verification belongs to the session: another channel must verify itself.
    let other = ChannelContext::Omapi { channel: 2 };
    assert_eq!(h.sign(other, Kind::Auth, b"m").sw.0, 0x6982);
    // Input empty or over k-11 = 245 bytes, bad P1P2, wrong current EF.
    h.select_ef(APP, fid::AUTH_KEY);
    assert_eq!(h.cmd(APP, 0x80, 0x2A, 0, 0x80, &[]).sw.0, 0x6700);
    assert_eq!(h.cmd(APP, 0x80, 0x2A, 0, 0x80, &[0x30; 246]).sw.0, 0x6700);
    assert_eq!(
        h.cmd(APP, 0x80, 0x2A, 0, 0x81, &digest_info(b"m")).sw.0,
        0x6A86
    );
    h.select_ef(APP, fid::TOKEN);
    assert_eq!(
        h.cmd(APP, 0x80, 0x2A, 0, 0x80, &digest_info(b"m")).sw.0,
        0x6986
    );
    // The other kind is untouched (R-KINDS).
    assert_eq!(h.state(Kind::Sign).0, PinState::Empty);
    // Reading the auth cert returns it whole.
    assert_eq!(h.read_all(other, fid::AUTH_CERT).unwrap(), cert);
}

/// R-PIN-RETRY: 63C2, 63C1, 6983; blocked refuses even the right PIN; empty VERIFY queries.
#[test]
fn verify_counts_down_to_blocked_and_reset_unblocks() {
    let mut h = H::new();
    h.issue(Kind::Auth, 7, AUTH_PIN);
    assert_eq!(h.verify(APP, Kind::Auth, b""), 0x63C3);
    assert_eq!(h.verify(APP, Kind::Auth, b"0000"), 0x63C2);
    assert_eq!(h.verify(APP, Kind::Auth, b""), 0x63C2);
    assert_eq!(
        h.verify(APP, Kind::Auth, AUTH_PIN),
        0x9000,
        "right PIN resets the counter"
    );
    assert_eq!(h.verify(APP, Kind::Auth, b""), 0x63C3);
    assert_eq!(h.verify(APP, Kind::Auth, b"0000"), 0x63C2);
    assert_eq!(h.verify(APP, Kind::Auth, b"0001"), 0x63C1);
    assert_eq!(
        h.sign(APP, Kind::Auth, b"m").sw.0,
        0x6982,
        "failed VERIFY clears status"
    );
    assert_eq!(h.verify(APP, Kind::Auth, b"0002"), 0x6983);
    assert_eq!(h.state(Kind::Auth).0, PinState::Blocked);
    assert_eq!(h.verify(APP, Kind::Auth, AUTH_PIN), 0x6983);
    assert_eq!(
        h.verify(APP, Kind::Auth, b""),
        0x63C0,
        "the query says 0 left"
    );
    assert_eq!(h.sign(APP, Kind::Auth, b"m").sw.0, 0x6983);
    // Malformed PIN costs nothing (checked on an unblocked sign password).
    h.issue(Kind::Sign, 8, SIGN_PIN);
    assert_eq!(h.verify(APP, Kind::Sign, b"abc"), 0x6A80);
    assert_eq!(
        h.verify(APP, Kind::Sign, b""),
        0x63C5,
        "sign default limit 5"
    );
    // R-PIN-INIT: only over SCP03.
    assert_eq!(h.cmd(APP, 0x80, 0x36, 0, 0x01, b"4321").sw.0, 0x6982);
    assert_eq!(h.cmd(SC, 0x80, 0x36, 0, 0x01, b"4321").sw.0, 0x9000);
    assert_eq!(h.state(Kind::Auth), (PinState::User, 3, Some(vec![7])));
    assert_eq!(
        h.verify(APP, Kind::Auth, AUTH_PIN),
        0x63C2,
        "old PIN is gone"
    );
    assert_eq!(h.verify(APP, Kind::Auth, b"4321"), 0x9000);
    // RESET PIN to a temporary PIN puts the slot back to Temporary.
    assert_eq!(h.cmd(SC, 0x80, 0x36, 1, 0x01, b"5678").sw.0, 0x9000);
    assert_eq!(h.state(Kind::Auth).0, PinState::Temporary);
    assert_eq!(h.sign(APP, Kind::Auth, b"m").sw.0, 0x6985);
    // Temporary PIN exhausted by SET USER PIN guesses blocks too.
    for expect in [0x63C2, 0x63C1, 0x6983, 0x6983] {
        assert_eq!(h.set_user_pin(Kind::Auth, b"0000", b"1111"), expect);
    }
    assert_eq!(h.state(Kind::Auth).0, PinState::Blocked);
}

#[test]
fn retry_limits_are_configurable() {
    let mut h = H::new();
    h.applet = JpkiApplet::new(AppletConfig {
        auth_max_tries: 1,
        sign_max_tries: 2,
    });
    h.issue(Kind::Auth, 1, AUTH_PIN);
    h.issue(Kind::Sign, 2, SIGN_PIN);
    assert_eq!(h.verify(APP, Kind::Sign, b"WRONGPW"), 0x63C1);
    assert_eq!(h.verify(APP, Kind::Sign, b"WRONGPW"), 0x6983);
    assert_eq!(h.verify(APP, Kind::Auth, b"0000"), 0x6983);
}

/// R-PIN-CHANGE: both forms of CHANGE REFERENCE DATA.
#[test]
fn change_reference_data() {
    let mut h = H::new();
    h.issue(Kind::Sign, 3, SIGN_PIN);
    // P1 00: old PIN length-prefixed; a wrong old PIN counts down.
    let mut data = vec![7];
    data.extend_from_slice(b"WRONGPW");
    data.extend_from_slice(b"NEWPASS1");
    assert_eq!(h.cmd(APP, 0, 0x24, 0, 0x82, &data).sw.0, 0x63C4);
    let mut data = vec![SIGN_PIN.len() as u8];
    data.extend_from_slice(SIGN_PIN);
    data.extend_from_slice(b"NEWPASS1");
    assert_eq!(h.cmd(APP, 0, 0x24, 0, 0x82, &data).sw.0, 0x9000);
    assert_eq!(h.verify(APP, Kind::Sign, b""), 0x63C5);
    assert_eq!(h.verify(APP, Kind::Sign, SIGN_PIN), 0x63C4);
    // Truncated / bad format.
    assert_eq!(h.cmd(APP, 0, 0x24, 0, 0x82, &[20, b'A']).sw.0, 0x6700);
    assert_eq!(h.cmd(APP, 0, 0x24, 0, 0x82, &[]).sw.0, 0x6700);
    // P1 01: new PIN only, after VERIFY (current EF reference P2 80).
    assert_eq!(h.cmd(APP, 0, 0x24, 1, 0x82, b"THIRDPW3").sw.0, 0x6982);
    assert_eq!(h.verify(APP, Kind::Sign, b"NEWPASS1"), 0x9000);
    assert_eq!(h.cmd(APP, 0, 0x24, 1, 0x80, b"short").sw.0, 0x6A80);
    assert_eq!(h.cmd(APP, 0, 0x24, 1, 0x80, b"THIRDPW3").sw.0, 0x9000);
    assert_eq!(
        h.sign(APP, Kind::Sign, b"m").sw.0,
        0x6982,
        "change clears the status"
    );
    assert_eq!(h.verify(APP, Kind::Sign, b"THIRDPW3"), 0x9000);
    assert_eq!(h.cmd(APP, 0, 0x24, 2, 0x82, b"THIRDPW3").sw.0, 0x6A86);
}

/// INV-NO-STALE-DELETE: a delete for the old serial leaves the newer credential.
#[test]
fn delete_by_serial_with_stale_serial_leaves_newer_credential() {
    let mut h = H::new();
    h.issue(Kind::Sign, 0x0100, SIGN_PIN);
    // Reissue on the same phone: new key, new cert, serial 0x0200.
    let (pk2, _) = h.issue(Kind::Sign, 0x0200, b"OTHERPW2");
    let stale = h.cmd(SC, 0x80, 0x38, 0, 0x02, &[0x01, 0x00]);
    assert_eq!(stale.sw, sw::SERIAL_NOT_FOUND);
    assert_eq!(
        h.state(Kind::Sign),
        (PinState::User, 5, Some(vec![0x02, 0x00]))
    );
    assert_eq!(h.applet.view(Kind::Sign).public_key, Some(pk2));
    // Wrong kind, over OMAPI, empty serial: refused.
    assert_eq!(h.cmd(SC, 0x80, 0x38, 0, 0x01, &[0x02, 0x00]).sw.0, 0x6A88);
    assert_eq!(h.cmd(APP, 0x80, 0x38, 0, 0x02, &[0x02, 0x00]).sw.0, 0x6982);
    assert_eq!(h.cmd(SC, 0x80, 0x38, 0, 0x02, &[]).sw.0, 0x6700);
    // The right serial (leading zeros ignored) deletes key, cert and PIN.
    assert_eq!(
        h.cmd(SC, 0x80, 0x38, 0, 0x02, &[0x00, 0x02, 0x00]).sw.0,
        0x9000
    );
    assert_eq!(h.state(Kind::Sign), (PinState::Empty, 0, None));
    assert_eq!(h.select_ef(APP, fid::SIGN_KEY), 0x6A82);
    assert_eq!(h.select_ef(APP, fid::SIGN_CERT), 0x6A82);
    assert_eq!(
        h.verify(APP, Kind::Sign, b""),
        0x63C5,
        "no PIN: the retry limit"
    );
    assert_eq!(h.verify(APP, Kind::Sign, SIGN_PIN), 0x6A88);
}

/// OpenSC's bind-time probe (empty `00 20 00 80` after selecting the PIN EF) answers `63Cx`
/// in every slot state, while a VERIFY with data keeps its refusal.
#[test]
fn empty_verify_answers_63cx_in_every_state() {
    let mut h = H::new();
    // Empty slot, then key only (cert written, no PIN): the retry limit.
    assert_eq!(h.verify(APP, Kind::Auth, b""), 0x63C3);
    h.generate(Kind::Auth);
    assert_eq!(h.verify(APP, Kind::Auth, b""), 0x63C3);
    assert_eq!(h.verify(APP, Kind::Auth, AUTH_PIN), 0x6A88);
    // Temporary PIN: its own counter, which SET USER PIN counts down.
    h.issue_temporary(Kind::Sign, 3, b"TEMPPW99");
    assert_eq!(h.verify(APP, Kind::Sign, b""), 0x63C5);
    assert_eq!(h.set_user_pin(Kind::Sign, b"WRONG999", SIGN_PIN), 0x63C4);
    assert_eq!(h.verify(APP, Kind::Sign, b""), 0x63C4);
    assert_eq!(h.verify(APP, Kind::Sign, b"TEMPPW99"), 0x6985);
    // Blocked temporary PIN: 63C0.
    for _ in 0..4 {
        h.set_user_pin(Kind::Sign, b"WRONG999", SIGN_PIN);
    }
    assert_eq!(h.state(Kind::Sign).0, PinState::Blocked);
    assert_eq!(h.verify(APP, Kind::Sign, b""), 0x63C0);
}

/// The sign password is upper case as on the card: the applet upper-cases what it gets, so a
/// client that upper-cases and one that does not both work.
#[test]
fn sign_password_is_upper_cased() {
    let mut h = H::new();
    h.issue(Kind::Sign, 4, b"passWord1");
    assert_eq!(h.verify(APP, Kind::Sign, b"PASSWORD1"), 0x9000);
    assert_eq!(h.verify(APP, Kind::Sign, b"password1"), 0x9000);
    assert_eq!(h.verify(APP, Kind::Sign, b"PASSWORD2"), 0x63C4);
    // The auth PIN is digits only: nothing to fold.
    h.issue(Kind::Auth, 5, AUTH_PIN);
    assert_eq!(h.verify(APP, Kind::Auth, AUTH_PIN), 0x9000);
}

/// COMPUTE DIGITAL SIGNATURE pads what it gets (OpenSC `SC_ALGORITHM_RSA_PAD_PKCS1`): a
/// DigestInfo of any hash, or raw data up to k-11 bytes; each verifies as PKCS#1 v1.5.
#[test]
fn signature_pads_any_digest_info_or_raw_input() {
    use sha1::Sha1;
    use sha2::{Digest, Sha384, Sha512};
    let mut h = H::new();
    let (pk, _) = h.issue(Kind::Auth, 6, AUTH_PIN);
    assert_eq!(h.verify(APP, Kind::Auth, AUTH_PIN), 0x9000);
    let sign_raw = |h: &mut H, data: &[u8]| {
        h.select_ef(APP, fid::AUTH_KEY);
        let r = h.cmd(APP, 0x80, 0x2A, 0, 0x80, data);
        assert_eq!(r.sw.0, 0x9000, "input of {} bytes", data.len());
        r.data
    };
    let m = b"any hash";
    let prefixed = |scheme: Pkcs1v15Sign, digest: &[u8]| {
        let mut v = scheme.prefix.to_vec();
        v.extend_from_slice(digest);
        v
    };
    let cases: Vec<(Pkcs1v15Sign, Vec<u8>)> = vec![
        (Pkcs1v15Sign::new::<Sha1>(), Sha1::digest(m).to_vec()),
        (Pkcs1v15Sign::new::<Sha384>(), Sha384::digest(m).to_vec()),
        (Pkcs1v15Sign::new::<Sha512>(), Sha512::digest(m).to_vec()),
    ];
    for (scheme, digest) in cases {
        let input = prefixed(scheme.clone(), &digest);
        let sig = sign_raw(&mut h, &input);
        assert!(pk.verify(scheme, &digest, &sig).is_ok());
    }
    // Raw RSA-PKCS: 1 byte and the maximum k-11 = 245 bytes.
    for data in [vec![0x42], vec![0xA5; 245]] {
        let sig = sign_raw(&mut h, &data);
        assert!(pk
            .verify(Pkcs1v15Sign::new_unprefixed(), &data, &sig)
            .is_ok());
    }
}

#[test]
fn write_certificate_refusals() {
    let mut h = H::new();
    let stranger = stranger_key(0x77);
    let cert = make_cert(&stranger, 5);
    assert_eq!(h.write_cert(Kind::Auth, &cert), 0x6985, "no key yet");
    h.generate(Kind::Auth);
    assert_eq!(
        h.write_cert(Kind::Auth, &cert),
        0x6A80,
        "cert for another key"
    );
    assert_eq!(
        h.write_cert(Kind::Auth, &[0x30, 0x03, 1, 2, 3]),
        0x6A80,
        "not a cert"
    );
    assert_eq!(h.cmd(SC, 0x80, 0x32, 0x40, 0x01, &[1]).sw.0, 0x6A86);
    assert_eq!(
        h.cmd(SC, 0x80, 0x32, 0x00, 0x03, &[1]).sw.0,
        0x6A86,
        "bad kind"
    );
    let big = vec![0u8; 255];
    for _ in 0..32 {
        h.cmd(SC, 0x80, 0x32, 0x80, 0x01, &big);
    }
    assert_eq!(h.cmd(SC, 0x80, 0x32, 0x80, 0x01, &big).sw.0, 0x6A84);
    // An interrupted upload is discarded by any other command.
    let pk = h.applet.view(Kind::Auth).public_key.unwrap();
    let good = make_cert(&pk, 6);
    h.cmd(SC, 0x80, 0x32, 0x80, 0x01, &good[..100]);
    h.cmd(SC, 0x80, 0x3C, 0x00, 0x00, &[]);
    assert_eq!(h.cmd(SC, 0x80, 0x32, 0x00, 0x01, &good[100..]).sw.0, 0x6A80);
    assert_eq!(h.write_cert(Kind::Auth, &good), 0x9000);
    // Once the PIN is set the cert cannot be overwritten.
    h.cmd(SC, 0x80, 0x34, 0, 0x01, b"1111");
    assert_eq!(h.write_cert(Kind::Auth, &good), 0x6985);
}

fn stranger_key(seed: u64) -> RsaPublicKey {
    crate::crypto::SeededKeyPool::key(seed, 0)
        .unwrap()
        .to_public_key()
}

/// The sign cert is PIN-protected as on the card; the auth cert is public.
#[test]
fn sign_cert_read_needs_verify() {
    let mut h = H::new();
    let (_, cert) = h.issue(Kind::Sign, 9, SIGN_PIN);
    assert_eq!(h.read_all(APP, fid::SIGN_CERT), Err(0x6982));
    assert_eq!(h.verify(APP, Kind::Sign, SIGN_PIN), 0x9000);
    assert_eq!(h.read_all(APP, fid::SIGN_CERT).unwrap(), cert);
    assert_eq!(h.select_ef(APP, fid::SIGN_KEY), 0x9000);
    assert_eq!(h.sw(APP, &[0, 0xB0, 0, 0, 0]), 0x6981);
    assert_eq!(h.select_ef(APP, fid::SIGN_PIN), 0x9000);
    assert_eq!(h.sw(APP, &[0, 0xB0, 0, 0, 0]), 0x6981);
}

#[test]
fn get_state_reports_both_kinds() {
    let mut h = H::new();
    h.issue(Kind::Auth, 0x42, AUTH_PIN);
    h.generate(Kind::Sign);
    let r = h.cmd(APP, 0x80, 0x3C, 0, 0, &[]);
    assert_eq!(r.sw.0, 0x9000);
    let expect = [
        0xA1, 12, 0x80, 1, 3, 0x81, 1, 3, 0x82, 1, 3, 0x83, 1,
        0x42, // auth: user, 3/3, serial 42
        0xA2, 9, 0x80, 1, 1, 0x81, 1, 0, 0x82, 1, 5, // sign: key generated
    ];
    assert_eq!(r.data, expect.to_vec());
    let only_sign = h.cmd(SC, 0x80, 0x3C, 0, 2, &[]);
    assert_eq!(only_sign.data, expect[14..].to_vec());
    assert_eq!(h.cmd(APP, 0x80, 0x3C, 0, 3, &[]).sw.0, 0x6A86);
}

#[test]
fn unknown_class_instruction_and_chaining() {
    let mut h = H::new();
    assert_eq!(h.sw(APP, &[0xFF, 0xA4, 0, 0]), 0x6E00);
    assert_eq!(h.sw(APP, &[0x20, 0xA4, 0, 0]), 0x6E00);
    assert_eq!(h.sw(APP, &[0x10, 0xA4, 0, 0]), 0x6884);
    assert_eq!(
        h.sw(APP, &[0x00, 0x2A, 0, 0x80]),
        0x6D00,
        "PSO is proprietary class here"
    );
    assert_eq!(
        h.sw(APP, &[0x80, 0xE6, 0x0C, 0]),
        0x6D00,
        "GP commands are not the applet's"
    );
    // Logical-channel bits in CLA are accepted.
    assert_eq!(h.select_ef(APP, fid::TOKEN), 0x9000);
    assert_eq!(h.sw(APP, &[0x03, 0xB0, 0, 0, 0]), 0x9000);
}

/// Snapshot/restore: the serialised applet behaves like the original, and its debug output
/// and JSON never show the key in any APDU-visible form (the PKCS#8 bytes are there, by design,
/// for state snapshots only).
#[test]
fn serde_round_trip_keeps_behaviour() {
    let mut h = H::new();
    let (pk, _) = h.issue(Kind::Auth, 11, AUTH_PIN);
    h.verify(APP, Kind::Auth, b"0000");
    let json = serde_json::to_string(&h.applet).unwrap();
    let back: JpkiApplet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h.applet);
    h.applet = back;
    assert_eq!(h.verify(APP, Kind::Auth, b""), 0x63C2);
    assert_eq!(h.verify(APP, Kind::Auth, AUTH_PIN), 0x9000);
    let sig = h.sign(APP, Kind::Auth, b"after restore").data;
    assert!(verify_sig(&pk, b"after restore", &sig));
    let dbg = format!("{:?}", h.applet);
    assert!(dbg.contains("private part hidden"));
    assert_no_secret(dbg.as_bytes(), &h.keys.secrets);
}

/// INV-KEY-IN-SE: across a scripted life of both slots with every command, no response
/// contains private key bytes (the harness scans each one).
#[test]
fn no_response_contains_private_key_bytes() {
    let mut h = H::new();
    h.issue(Kind::Auth, 1, AUTH_PIN);
    h.issue(Kind::Sign, 2, SIGN_PIN);
    for kind in Kind::ALL {
        for fid in [kind.key_fid(), kind.pin_fid(), kind.cert_fid(), fid::TOKEN] {
            h.select_ef(APP, fid);
            for off in [0u8, 1, 2, 4] {
                h.run(APP, &[0, 0xB0, off, 0, 0]);
                h.run(APP, &[0, 0xB0, 0, off, 0]);
            }
        }
    }
    for ins in 0..=255u8 {
        for cla in [0x00, 0x80] {
            for ctx in [APP, SC] {
                h.cmd(ctx, cla, ins, 0, 0x01, &[]);
                h.cmd(ctx, cla, ins, 0, 0x02, &[]);
            }
        }
    }
    assert!(h.keys.secrets.len() >= 6);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Any command, however malformed, in any context gets a status word; never a panic.
    #[test]
    fn process_never_panics(
        cmds in proptest::collection::vec(
            (prop_oneof![Just(0x00u8), Just(0x80), Just(0x84), any::<u8>()],
             prop_oneof![Just(0xA4u8), Just(0xB0), Just(0x20), Just(0x24), Just(0x2A),
                         (0x30u8..0x3E), any::<u8>()],
             any::<u8>(), prop_oneof![Just(0x01u8), Just(0x02), Just(0x80), any::<u8>()],
             proptest::collection::vec(any::<u8>(), 0..64),
             any::<bool>()),
            1..12)
    ) {
        let mut applet = JpkiApplet::new(AppletConfig::default());
        let mut keys = SameKey(0x5E_0002);
        let secrets = secrets(&crate::crypto::SeededKeyPool::key(0x5E_0002, 0).unwrap());
        for (cla, ins, p1, p2, data, secure) in cmds {
            let ctx = if secure { SC } else { APP };
            let cmd = Command::new(cla, ins, p1, p2, data);
            let r = applet.process(&cmd, ctx, &mut keys);
            prop_assert!(r.sw.sw1() >= 0x61 && r.sw.sw1() <= 0x6F || r.sw == StatusWord::OK);
            assert_no_secret(&r.data, &secrets);
        }
    }
}

/// The secret scan itself detects a leak (so the scans above can fail).
#[test]
#[should_panic(expected = "private key bytes")]
fn secret_scan_detects_a_leak() {
    let key = crate::crypto::SeededKeyPool::key(0x5E_0002, 0).unwrap();
    let s = secrets(&key);
    let mut leak = b"prefix".to_vec();
    leak.extend_from_slice(&s[1][40..80]);
    assert_no_secret(&leak, &s);
}

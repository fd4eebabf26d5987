use super::*;
use crate::applet::test_support::{assert_no_secret, digest_info, make_cert, secrets};
use crate::applet::{fid, ins, PinState};
use crate::crypto::SeededKeyPool;
use crate::scp03::{HostSession, SecurityLevel};
use proptest::prelude::*;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

const KEY_SEED: u64 = 0x5E_1000;

fn isd_keys() -> KeysetSpec {
    KeysetSpec::new(0x30, &[0x11; 16], &[0x12; 16], &[0x13; 16])
}

fn apsd_keys() -> KeysetSpec {
    KeysetSpec::new(0x31, &[0x21; 16], &[0x22; 16], &[0x23; 16])
}

fn new_se() -> SecureElement {
    let config = SeConfig::new(isd_keys(), apsd_keys(), [0xAB; 10]);
    SecureElement::new(config, KeyGen::seeded(KEY_SEED)).unwrap()
}

fn app_hash(name: &str) -> [u8; 32] {
    Sha256::digest(name.as_bytes()).into()
}

/// Secrets of the first few keys the SE will draw.
fn se_secrets(n: u64) -> Vec<Vec<u8>> {
    (0..n)
        .flat_map(|i| secrets(&SeededKeyPool::key(KEY_SEED, i).unwrap()))
        .collect()
}

/// A TSM's SCP03 host session with one security domain.
struct Tsm {
    sd: SdId,
    keys: KeysetSpec,
    host: Option<HostSession>,
    challenge: u8,
}

impl Tsm {
    fn new(sd: SdId) -> Self {
        let keys = match sd {
            SdId::Isd => isd_keys(),
            SdId::Apsd => apsd_keys(),
        };
        Tsm {
            sd,
            keys,
            host: None,
            challenge: 0,
        }
    }

    fn open(&mut self, se: &mut SecureElement, level: SecurityLevel) {
        self.challenge = self.challenge.wrapping_add(1);
        let hc = [self.challenge; 8];
        let iu = HostSession::initialize_update_command(self.keys.kvn, hc);
        let r = Response::parse(&se.transmit_tsm(self.sd, &iu.to_bytes())).unwrap();
        assert_eq!(r.sw, StatusWord::OK);
        let mut host = HostSession::open(self.keys.static_keys().unwrap(), hc, &r.data).unwrap();
        let ea = host.external_authenticate_command(level).unwrap();
        assert_eq!(se.transmit_tsm(self.sd, &ea), vec![0x90, 0x00]);
        self.host = Some(host);
    }

    fn send(&mut self, se: &mut SecureElement, cmd: Command) -> Response {
        let host = self.host.as_mut().expect("session open");
        let raw = host.wrap_command(&cmd).unwrap();
        let resp = se.transmit_tsm(self.sd, &raw);
        host.unwrap_response(&resp).unwrap()
    }

    fn sw(&mut self, se: &mut SecureElement, cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> u16 {
        self.send(se, Command::new(cla, ins, p1, p2, data.to_vec()))
            .sw
            .0
    }
}

fn install_data(params: &[u8]) -> Vec<u8> {
    let mut d = vec![JPKI_ELF_AID.len() as u8];
    d.extend_from_slice(&JPKI_ELF_AID);
    d.push(JPKI_MODULE_AID.len() as u8);
    d.extend_from_slice(&JPKI_MODULE_AID);
    d.push(JPKI_AID.len() as u8);
    d.extend_from_slice(&JPKI_AID);
    d.extend_from_slice(&[0x01, 0x00]); // privileges
    d.push(params.len() as u8);
    d.extend_from_slice(params);
    d.push(0x00); // no token
    d
}

fn rule_do(tag: u32, aid: &[u8], hash: &[u8], allow: Option<u8>) -> Vec<u8> {
    let mut refs = tlv::encode(0x4F, aid);
    refs.extend(tlv::encode(0xC1, hash));
    let mut e2 = tlv::encode(0xE1, &refs);
    if let Some(a) = allow {
        e2.extend(tlv::encode(0xE3, &tlv::encode(0xD0, &[a])));
    }
    tlv::encode(tag, &tlv::encode(0xE2, &e2))
}

/// SEI-TSM: install the applet and grant `app`.
fn install_applet(se: &mut SecureElement, app: [u8; 32]) -> Tsm {
    let mut sei = Tsm::new(SdId::Isd);
    sei.open(se, SecurityLevel::C_DEC_C_MAC_R_MAC);
    assert_eq!(
        sei.send(
            se,
            Command::new(0x80, 0xE6, 0x0C, 0x00, install_data(&[0xC9, 0x00]))
        ),
        Response::ok(vec![0x00])
    );
    assert_eq!(
        sei.sw(
            se,
            0x80,
            0xE2,
            0x90,
            0x00,
            &rule_do(0xF0, &JPKI_AID, &app, None)
        ),
        0x9000
    );
    sei
}

/// SP-TSM: key, cert with `serial`, temporary PIN for `kind`; returns the public key.
fn personalise(
    se: &mut SecureElement,
    sp: &mut Tsm,
    kind: Kind,
    serial: u32,
    temp: &[u8],
) -> RsaPublicKey {
    let r = sp.send(
        se,
        Command::new(0x80, ins::GENERATE_KEY_PAIR, 0, kind.p2(), vec![]).with_le(0),
    );
    assert_eq!(r.sw, StatusWord::OK);
    let pk = RsaPublicKey::from_public_key_der(&r.data).unwrap();
    let cert = make_cert(&pk, serial);
    let (a, b) = cert.split_at(cert.len() / 2);
    assert_eq!(
        sp.sw(se, 0x80, ins::WRITE_CERTIFICATE, 0x80, kind.p2(), a),
        0x9000
    );
    assert_eq!(
        sp.sw(se, 0x80, ins::WRITE_CERTIFICATE, 0x00, kind.p2(), b),
        0x9000
    );
    assert_eq!(
        sp.sw(se, 0x80, ins::SET_TEMPORARY_PIN, 0, kind.p2(), temp),
        0x9000
    );
    pk
}

fn omapi(se: &mut SecureElement, ch: ChannelId, cmd: Command, secrets: &[Vec<u8>]) -> Response {
    let owner = se.channels.get(&ch.0).copied().unwrap_or_default();
    let raw = se.transmit(owner, ch, &cmd.to_bytes());
    assert_no_secret(&raw, secrets);
    Response::parse(&raw).unwrap()
}

fn select_ef(se: &mut SecureElement, ch: ChannelId, fid: u16) -> u16 {
    omapi(
        se,
        ch,
        Command::new(0, 0xA4, 0x02, 0x0C, fid.to_be_bytes().to_vec()),
        &[],
    )
    .sw
    .0
}

fn set_user_pin(se: &mut SecureElement, ch: ChannelId, kind: Kind, temp: &[u8], pin: &[u8]) -> u16 {
    let mut d = vec![temp.len() as u8];
    d.extend_from_slice(temp);
    d.extend_from_slice(pin);
    omapi(
        se,
        ch,
        Command::new(0x80, ins::SET_USER_PIN, 0, kind.p2(), d),
        &[],
    )
    .sw
    .0
}

fn verify(se: &mut SecureElement, ch: ChannelId, kind: Kind, pin: &[u8]) -> u16 {
    select_ef(se, ch, kind.pin_fid());
    omapi(se, ch, Command::new(0, 0x20, 0, 0x80, pin.to_vec()), &[])
        .sw
        .0
}

/// The four phases (R-ACL, R-SCP03, R-KEYGEN, R-PIN-SETUP) end to end, every response scanned
/// for private key bytes (INV-KEY-IN-SE).
#[test]
fn install_personalise_and_sign_end_to_end() {
    let mut se = new_se();
    let secrets = se_secrets(2);
    let app = app_hash("genuine JPKI app");
    let mut sei = install_applet(&mut se, app);
    let status = sei.send(
        &mut se,
        Command::new(0x80, 0xF2, 0x40, 0x02, vec![0x4F, 0x00]),
    );
    let mut expect = tlv::encode(0x4F, &JPKI_AID);
    expect.extend(tlv::encode(0x9F70, &[0x07]));
    expect.extend(tlv::encode(0xC5, &[0, 0, 0]));
    let expect = tlv::encode(0xE3, &expect);
    assert!(
        status.data.ends_with(&expect),
        "applet SELECTABLE in GET STATUS"
    );

    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::FULL);
    let pk = personalise(&mut se, &mut sp, Kind::Auth, 0xA1, b"2468");
    assert_eq!(pk, SeededKeyPool::key(KEY_SEED, 0).unwrap().to_public_key());
    assert_eq!(se.slot(Kind::Auth).unwrap().pin_state, PinState::Temporary);

    let ch = se.open_channel(app, &JPKI_AID).unwrap();
    select_ef(&mut se, ch, fid::AUTH_KEY);
    let r = omapi(
        &mut se,
        ch,
        Command::new(0x80, 0x2A, 0, 0x80, digest_info(b"x")),
        &secrets,
    );
    assert_eq!(r.sw.0, 0x6985, "temporary PIN: no service use");
    assert_eq!(
        set_user_pin(&mut se, ch, Kind::Auth, b"2468", b"1357"),
        0x9000
    );
    assert_eq!(verify(&mut se, ch, Kind::Auth, b"1357"), 0x9000);
    select_ef(&mut se, ch, fid::AUTH_KEY);
    let r = omapi(
        &mut se,
        ch,
        Command::new(0x80, 0x2A, 0, 0x80, digest_info(b"login")).with_le(0),
        &secrets,
    );
    assert_eq!(r.sw, StatusWord::OK);
    let digest = Sha256::digest(b"login");
    pk.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &r.data)
        .unwrap();
    // Sweep every command over both paths: nothing returns private key bytes.
    for i in 0..=255u8 {
        for p2 in [0x00, 0x01, 0x02, 0x80] {
            omapi(
                &mut se,
                ch,
                Command::new(0x80, i, 0, p2, vec![]).with_le(0),
                &secrets,
            );
            omapi(
                &mut se,
                ch,
                Command::new(0x00, i, 0, p2, vec![]).with_le(0),
                &secrets,
            );
            if i == ins::GENERATE_KEY_PAIR {
                continue; // would replace the credential
            }
            let sp_r = sp.send(&mut se, Command::new(0x80, i, 0, p2, vec![]));
            assert_no_secret(&sp_r.data, &secrets);
            if sp_r.sw.0 == 0x6982 {
                sp.open(&mut se, SecurityLevel::FULL);
            }
        }
    }
    let status = sei.send(
        &mut se,
        Command::new(0x80, 0xF2, 0x40, 0x02, vec![0x4F, 0x00]),
    );
    assert_eq!(status.sw, StatusWord::OK);
    assert!(
        status
            .data
            .windows(4)
            .any(|w| w == [0x9F, 0x70, 0x01, 0x0F]),
        "PERSONALIZED"
    );
    assert_eq!(
        se.installed_applets()[0].life_cycle,
        AppLifeCycle::Personalized
    );
}

/// R-SCP03: personalisation is refused without SCP03, through the ISD, and below C-DEC.
#[test]
fn personalisation_without_apsd_secure_channel_is_refused() {
    let mut se = new_se();
    let app = app_hash("app");
    let mut sei = install_applet(&mut se, app);
    let gen = Command::new(0x80, ins::GENERATE_KEY_PAIR, 0, 0x01, vec![]);
    assert_eq!(
        se.transmit_tsm(SdId::Apsd, &gen.to_bytes()),
        vec![0x69, 0x82]
    );
    assert_eq!(
        sei.send(&mut se, gen.clone()).sw.0,
        0x6D00,
        "ISD does not forward"
    );
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::C_MAC);
    assert_eq!(sp.send(&mut se, gen.clone()).sw.0, 0x6982, "C-MAC only");
    // Over OMAPI, even for the whitelisted app.
    let ch = se.open_channel(app, &JPKI_AID).unwrap();
    assert_eq!(se.transmit(app, ch, &gen.to_bytes()), vec![0x69, 0x82]);
    assert_eq!(se.slot(Kind::Auth).unwrap().pin_state, PinState::Empty);
    // The wrong APSD keys cannot open a session.
    let mut fake = Tsm::new(SdId::Apsd);
    fake.keys = KeysetSpec::new(0x31, &[0x99; 16], &[0x98; 16], &[0x97; 16]);
    let iu = HostSession::initialize_update_command(0x31, [7; 8]);
    let r = Response::parse(&se.transmit_tsm(SdId::Apsd, &iu.to_bytes())).unwrap();
    assert!(HostSession::open(fake.keys.static_keys().unwrap(), [7; 8], &r.data).is_err());
    // A tampered wrapped command is refused and ends the session.
    sp.open(&mut se, SecurityLevel::FULL);
    let mut raw = sp.host.as_mut().unwrap().wrap_command(&gen).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    assert_eq!(se.transmit_tsm(SdId::Apsd, &raw), vec![0x69, 0x82]);
    assert_eq!(se.slot(Kind::Auth).unwrap().pin_state, PinState::Empty);
}

/// R-ACL: only a whitelisted app hash opens a channel; typed errors otherwise.
#[test]
fn ara_refuses_non_whitelisted_app() {
    let mut se = new_se();
    let good = app_hash("genuine");
    let evil = app_hash("repackaged");
    assert_eq!(
        se.open_channel(good, &JPKI_AID),
        Err(SeError::NoSuchApplet {
            aid: JPKI_AID.to_vec()
        })
    );
    let mut sei = install_applet(&mut se, good);
    assert_eq!(
        se.open_channel(evil, &JPKI_AID),
        Err(SeError::AccessDenied {
            aid: JPKI_AID.to_vec(),
            app_cert_hash: evil
        })
    );
    assert!(matches!(
        se.open_channel(good, &[0xA0, 0, 0, 0, 1]),
        Err(SeError::NoSuchApplet { .. })
    ));
    let c1 = se.open_channel(good, &JPKI_AID).unwrap();
    let c2 = se.open_channel(good, &JPKI_AID).unwrap();
    let c3 = se.open_channel(good, &JPKI_AID).unwrap();
    assert_eq!((c1, c2, c3), (ChannelId(1), ChannelId(2), ChannelId(3)));
    assert_eq!(
        se.open_channel(good, &JPKI_AID),
        Err(SeError::NoChannelAvailable { max: 3 })
    );
    se.close_channel(good, c2).unwrap();
    assert_eq!(se.close_channel(good, c2), Err(SeError::UnknownChannel(c2)));
    assert_eq!(se.transmit(good, c2, &[0, 0xA4, 0, 0]), vec![0x68, 0x81]);
    assert_eq!(
        se.transmit(good, c1, &[0, 0x70, 0, 1]),
        vec![0x6D, 0x00],
        "no MANAGE CHANNEL"
    );
    // A "never" rule removes the grant; a rule with a short hash is malformed.
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE2,
            0x90,
            0,
            &rule_do(0xF0, &JPKI_AID, &good, Some(0))
        ),
        0x9000
    );
    assert!(matches!(
        se.open_channel(good, &JPKI_AID),
        Err(SeError::AccessDenied { .. })
    ));
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE2,
            0x90,
            0,
            &rule_do(0xF0, &JPKI_AID, &[1; 20], None)
        ),
        0x6A80
    );
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE2,
            0x90,
            0,
            &rule_do(0xF0, &JPKI_AID, &evil, Some(1))
        ),
        0x9000
    );
    assert!(se.open_channel(evil, &JPKI_AID).is_ok());
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE2,
            0x90,
            0,
            &rule_do(0xF1, &JPKI_AID, &evil, None)
        ),
        0x9000
    );
    assert!(se.access_rules().is_empty());
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE2,
            0x90,
            0,
            &rule_do(0xF1, &JPKI_AID, &evil, None)
        ),
        0x6A88
    );
    // Only the ISD takes access rules.
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::FULL);
    assert_eq!(
        sp.sw(
            &mut se,
            0x80,
            0xE2,
            0x90,
            0,
            &rule_do(0xF0, &JPKI_AID, &evil, None)
        ),
        0x6D00
    );
}

/// INSTALL / DELETE / GET STATUS / SET STATUS and their refusals.
#[test]
fn install_delete_get_status_set_status() {
    let mut se = new_se();
    let app = app_hash("app");
    let mut sei = Tsm::new(SdId::Isd);
    // Unauthenticated GP commands are refused.
    let gs = Command::new(0x80, 0xF2, 0x80, 0x02, vec![0x4F, 0x00]);
    assert_eq!(se.transmit_tsm(SdId::Isd, &gs.to_bytes()), vec![0x69, 0x82]);
    sei.open(&mut se, SecurityLevel::C_MAC);
    let isd = sei.send(&mut se, gs.clone());
    let mut e = tlv::encode(0x4F, &ISD_AID);
    e.extend(tlv::encode(0x9F70, &[0x0F]));
    e.extend(tlv::encode(0xC5, &[0x9E, 0xFE, 0x80]));
    assert_eq!(isd, Response::ok(tlv::encode(0xE3, &e)));
    let elfs = sei.send(
        &mut se,
        Command::new(0x80, 0xF2, 0x10, 0x02, vec![0x4F, 0x00]),
    );
    assert!(elfs
        .data
        .windows(JPKI_MODULE_AID.len())
        .any(|w| w == JPKI_MODULE_AID));
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xF2,
            0x40,
            0x02,
            &tlv::encode(0x4F, &JPKI_AID)
        ),
        0x6A88
    );
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xF2, 0x40, 0x01, &[0x4F, 0x00]),
        0x6A86
    );
    // INSTALL for install only: INSTALLED, not selectable.
    let mut bad = install_data(&[]);
    bad[1] ^= 0xFF;
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE6, 0x0C, 0, &bad),
        0x6A88,
        "unknown ELF"
    );
    assert_eq!(sei.sw(&mut se, 0x80, 0xE6, 0x0C, 0, &[1, 2]), 0x6A80);
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE6, 0x0C, 0, &install_data(&[0xC9, 1, 3])),
        0x6A80
    );
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE6, 0x04, 0, &install_data(&[])),
        0x9000
    );
    assert_eq!(
        se.installed_applets()[0].life_cycle,
        AppLifeCycle::Installed
    );
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE6, 0x0C, 0, &install_data(&[])),
        0x6985,
        "exists"
    );
    sei.sw(
        &mut se,
        0x80,
        0xE2,
        0x90,
        0,
        &rule_do(0xF0, &JPKI_AID, &app, None),
    );
    assert!(matches!(
        se.open_channel(app, &JPKI_AID),
        Err(SeError::NotSelectable { .. })
    ));
    // INSTALL for make selectable, from the APSD.
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::FULL);
    let mut ms = vec![0, 0, JPKI_AID.len() as u8];
    ms.extend_from_slice(&JPKI_AID);
    ms.extend_from_slice(&[0, 0, 0]);
    assert_eq!(sp.sw(&mut se, 0x80, 0xE6, 0x08, 0, &ms), 0x9000);
    assert_eq!(sp.sw(&mut se, 0x80, 0xE6, 0x08, 0, &ms), 0x6985);
    assert_eq!(
        se.installed_applets()[0].life_cycle,
        AppLifeCycle::Selectable
    );
    let ch = se.open_channel(app, &JPKI_AID).unwrap();
    // Lock the applet: channels close, opening refused, APSD forwarding refused.
    let aid_do = tlv::encode(0x4F, &JPKI_AID);
    assert_eq!(sp.sw(&mut se, 0x80, 0xF0, 0x40, 0x80, &aid_do), 0x9000);
    assert_eq!(
        se.installed_applets()[0].life_cycle,
        AppLifeCycle::Locked(0x07)
    );
    assert_eq!(se.installed_applets()[0].life_cycle.byte(), 0x87);
    assert_eq!(se.transmit(app, ch, &[0, 0xA4, 0, 0]), vec![0x68, 0x81]);
    assert!(matches!(
        se.open_channel(app, &JPKI_AID),
        Err(SeError::AppletLocked { .. })
    ));
    assert_eq!(sp.sw(&mut se, 0x80, ins::GET_STATE, 0, 0, &[]), 0x6985);
    assert_eq!(sp.sw(&mut se, 0x80, 0xF0, 0x40, 0x00, &aid_do), 0x9000);
    // Card lock (ISD only), unlock.
    assert_eq!(sp.sw(&mut se, 0x80, 0xF0, 0x80, 0x7F, &[]), 0x6982);
    assert_eq!(sei.sw(&mut se, 0x80, 0xF0, 0x80, 0x7F, &[]), 0x9000);
    assert_eq!(se.card_life_cycle(), CardLifeCycle::CardLocked);
    assert_eq!(
        se.open_channel(app, &JPKI_AID),
        Err(SeError::CardNotAvailable(CardLifeCycle::CardLocked))
    );
    assert_eq!(sei.sw(&mut se, 0x80, 0xE4, 0, 0, &aid_do), 0x6985);
    assert_eq!(sei.sw(&mut se, 0x80, 0xF0, 0x80, 0x0F, &[]), 0x9000);
    // DELETE: ROM ELF and SDs refused; the instance with related objects (its rules).
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE4,
            0,
            0x80,
            &tlv::encode(0x4F, &JPKI_ELF_AID)
        ),
        0x6985
    );
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE4, 0, 0, &tlv::encode(0x4F, &ISD_AID)),
        0x6985
    );
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE4,
            0,
            0,
            &tlv::encode(0x4F, &[1, 2, 3, 4, 5])
        ),
        0x6A88
    );
    assert_eq!(sei.sw(&mut se, 0x80, 0xE4, 0, 0x01, &aid_do), 0x6A86);
    assert_eq!(sei.sw(&mut se, 0x80, 0xE4, 0, 0x80, &aid_do), 0x9000);
    assert!(se.installed_applets().is_empty());
    assert!(
        se.access_rules().is_empty(),
        "P2 80 deleted related access rules"
    );
    assert_eq!(sei.sw(&mut se, 0x80, 0xE4, 0, 0x00, &aid_do), 0x6A88);
    let apps = sei.send(
        &mut se,
        Command::new(0x80, 0xF2, 0x40, 0x02, vec![0x4F, 0x00]),
    );
    assert!(apps.data.windows(APSD_AID.len()).any(|w| w == APSD_AID));
    assert!(!apps.data.windows(JPKI_AID.len()).any(|w| w == JPKI_AID));
    // Terminate: irreversible.
    assert_eq!(sei.sw(&mut se, 0x80, 0xF0, 0x80, 0xFF, &[]), 0x9000);
    assert_eq!(sei.sw(&mut se, 0x80, 0xF0, 0x80, 0x0F, &[]), 0x6985);
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE6, 0x0C, 0, &install_data(&[])),
        0x6985
    );
}

/// R-PIN-RETRY: retry limits from the INSTALL parameters.
#[test]
fn install_parameters_configure_retry_limits() {
    let mut se = new_se();
    let mut sei = Tsm::new(SdId::Isd);
    sei.open(&mut se, SecurityLevel::C_MAC);
    assert_eq!(
        sei.sw(
            &mut se,
            0x80,
            0xE6,
            0x0C,
            0,
            &install_data(&[0xC9, 2, 4, 10])
        ),
        0x9000
    );
    assert_eq!(
        se.applet_config(),
        Some(AppletConfig {
            auth_max_tries: 4,
            sign_max_tries: 10
        })
    );
}

/// INV-NO-STALE-DELETE through the APSD: a stale serial leaves the newer credential.
#[test]
fn delete_by_serial_via_apsd_keeps_newer_credential() {
    let mut se = new_se();
    let app = app_hash("app");
    install_applet(&mut se, app);
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::FULL);
    personalise(&mut se, &mut sp, Kind::Sign, 0x0300, b"TEMPPASS");
    personalise(&mut se, &mut sp, Kind::Sign, 0x0400, b"TEMPPASS");
    assert_eq!(
        sp.sw(&mut se, 0x80, ins::DELETE_BY_SERIAL, 0, 0x02, &[0x03, 0x00]),
        0x6A88
    );
    assert_eq!(
        se.slot(Kind::Sign).unwrap().cert_serial,
        Some(vec![0x04, 0x00])
    );
    assert_eq!(
        sp.sw(&mut se, 0x80, ins::DELETE_BY_SERIAL, 0, 0x02, &[0x04, 0x00]),
        0x9000
    );
    assert_eq!(se.slot(Kind::Sign).unwrap().pin_state, PinState::Empty);
}

/// R-RESET: factory reset wipes the applet, its data, rules and channels; a reinstall starts
/// empty and draws new keys.
#[test]
fn factory_reset_wipes_applet_and_data() {
    let mut se = new_se();
    let app = app_hash("app");
    install_applet(&mut se, app);
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::FULL);
    let pk1 = personalise(&mut se, &mut sp, Kind::Auth, 1, b"1111");
    let ch = se.open_channel(app, &JPKI_AID).unwrap();
    se.factory_reset();
    assert!(se.installed_applets().is_empty());
    assert_eq!(se.slot(Kind::Auth), None);
    assert!(se.access_rules().is_empty());
    assert!(se.open_channels().is_empty());
    assert_eq!(se.transmit(app, ch, &[0, 0xA4, 0, 0]), vec![0x68, 0x81]);
    assert_eq!(
        sp.sw_raw(&mut se),
        vec![0x69, 0x82],
        "secure channels ended"
    );
    install_applet(&mut se, app);
    assert_eq!(se.slot(Kind::Auth).unwrap().pin_state, PinState::Empty);
    sp.open(&mut se, SecurityLevel::FULL);
    let pk2 = personalise(&mut se, &mut sp, Kind::Auth, 2, b"2222");
    assert_ne!(pk1, pk2, "no key reuse after reset");
}

impl Tsm {
    /// Send a wrapped GET CREDENTIAL STATE and return the raw response.
    fn sw_raw(&mut self, se: &mut SecureElement) -> Vec<u8> {
        let raw = self
            .host
            .as_mut()
            .unwrap()
            .wrap_command(&Command::new(0x80, ins::GET_STATE, 0, 0, vec![]))
            .unwrap();
        se.transmit_tsm(self.sd, &raw)
    }
}

/// Snapshot/restore with serde: the restored SE has the same applet state, rules and key
/// sequence, and no open secure channel (sessions are transient).
#[test]
fn serde_snapshot_restores_state() {
    let mut se = new_se();
    let app = app_hash("app");
    install_applet(&mut se, app);
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::FULL);
    let pk = personalise(&mut se, &mut sp, Kind::Auth, 5, b"1111");
    let json = serde_json::to_string(&se).unwrap();
    let mut back: SecureElement = serde_json::from_str(&json).unwrap();
    assert_eq!(back.slot(Kind::Auth), se.slot(Kind::Auth));
    assert_eq!(back.access_rules(), se.access_rules());
    assert_eq!(
        back.key_gen(),
        &KeyGen::Seeded {
            seed: KEY_SEED,
            next: 1
        }
    );
    assert_eq!(
        sp.sw_raw(&mut back),
        vec![0x69, 0x82],
        "no secure channel after restore"
    );
    let ch = back.open_channel(app, &JPKI_AID).unwrap();
    assert_eq!(
        set_user_pin(&mut back, ch, Kind::Auth, b"1111", b"4444"),
        0x9000
    );
    assert_eq!(verify(&mut back, ch, Kind::Auth, b"4444"), 0x9000);
    select_ef(&mut back, ch, fid::AUTH_KEY);
    let r = omapi(
        &mut back,
        ch,
        Command::new(0x80, 0x2A, 0, 0x80, digest_info(b"m")),
        &[],
    );
    pk.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(b"m"),
        &r.data,
    )
    .unwrap();
    // The sequence counter carried over: a new session on the restored SE works.
    sp.open(&mut back, SecurityLevel::FULL);
    assert_eq!(
        sp.send(&mut back, Command::new(0x80, ins::GET_STATE, 0, 1, vec![]))
            .sw
            .0,
        0x9000
    );
    // Clone behaves the same way.
    let cloned = back.clone();
    assert_eq!(cloned.slot(Kind::Auth), back.slot(Kind::Auth));
}

#[test]
fn bad_keys_are_a_typed_error() {
    let config = SeConfig::new(
        KeysetSpec::new(1, &[0; 5], &[0; 16], &[0; 16]),
        apsd_keys(),
        [0; 10],
    );
    assert!(matches!(
        SecureElement::new(config, KeyGen::seeded(1)),
        Err(SeError::BadKeys { sd: SdId::Isd, .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    /// Arbitrary bytes to either entry point, interleaved with real session opening: never a
    /// panic, always a status word.
    #[test]
    fn transmit_never_panics(
        msgs in proptest::collection::vec(
            (0u8..4, proptest::collection::vec(any::<u8>(), 0..80)), 1..16)
    ) {
        let mut se = new_se();
        let app = app_hash("app");
        install_applet(&mut se, app);
        let ch = se.open_channel(app, &JPKI_AID).unwrap();
        let mut sp = Tsm::new(SdId::Apsd);
        sp.open(&mut se, SecurityLevel::FULL);
        for (target, bytes) in msgs {
            let raw = match target {
                0 => se.transmit(app, ch, &bytes),
                1 => se.transmit_tsm(SdId::Isd, &bytes),
                2 => se.transmit_tsm(SdId::Apsd, &bytes),
                _ => {
                    // A well-wrapped arbitrary command to the applet.
                    let cmd = Command::parse(&bytes).unwrap_or(Command::new(0x80, 0x3C, 0, 0, vec![]));
                    if cmd.cla == 0xFF || cmd.cla & 0x0C != 0 || cmd.data.len() > 200 {
                        continue;
                    }
                    sp.open(&mut se, SecurityLevel::FULL);
                    let Ok(wrapped) = sp.host.as_mut().unwrap().wrap_command(&cmd) else {
                        continue;
                    };
                    se.transmit_tsm(SdId::Apsd, &wrapped)
                }
            };
            prop_assert!(raw.len() >= 2);
            let r = Response::parse(&raw).unwrap();
            prop_assert!(r.sw.is_ok() || (0x61..=0x6F).contains(&r.sw.sw1()), "sw {}", r.sw);
        }
    }
}

fn reader(se: &mut SecureElement, cmd: Command, secrets: &[Vec<u8>]) -> Response {
    let raw = se.transmit_contactless(&cmd.to_bytes());
    assert_no_secret(&raw, secrets);
    Response::parse(&raw).unwrap()
}

fn reader_sw(se: &mut SecureElement, cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> u16 {
    reader(se, Command::new(cla, ins, p1, p2, data.to_vec()), &[])
        .sw
        .0
}

/// THREAT-READER: with no app, no channel and no access rule for the reader, the applet is
/// reached over the contactless interface after SELECT by AID; only the PIN protects the key,
/// and taking the phone out of the field forgets the verification.
#[test]
fn contactless_route_needs_select_and_pin_but_no_access_rule() {
    let mut se = new_se();
    let secrets = se_secrets(1);
    assert_eq!(
        reader_sw(&mut se, 0, 0xA4, 0x04, 0x0C, &JPKI_AID),
        0x6A82,
        "no applet yet"
    );
    let app = app_hash("app");
    let mut sei = install_applet(&mut se, app);
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::FULL);
    let pk = personalise(&mut se, &mut sp, Kind::Auth, 7, b"2468");
    let ch = se.open_channel(app, &JPKI_AID).unwrap();
    assert_eq!(
        set_user_pin(&mut se, ch, Kind::Auth, b"2468", b"1357"),
        0x9000
    );
    se.close_channel(app, ch).unwrap();
    // The access rules are removed: OMAPI is closed to the app, the reader route is not.
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE2, 0x80, 0x00, &[0xF1, 0x00]),
        0x9000
    );
    assert!(se.open_channel(app, &JPKI_AID).is_err());

    assert_eq!(
        reader_sw(&mut se, 0, 0xA4, 0x02, 0x0C, &fid::AUTH_PIN.to_be_bytes()),
        0x6986,
        "nothing selected yet"
    );
    assert_eq!(
        reader_sw(&mut se, 0, 0xA4, 0x04, 0x0C, &[0xA0, 0, 0, 0, 1]),
        0x6A82
    );
    assert_eq!(reader_sw(&mut se, 0, 0xA4, 0x04, 0x0C, &JPKI_AID), 0x9000);
    assert!(se.contactless_selected());
    assert_eq!(reader_sw(&mut se, 0, 0x70, 0x00, 0x00, &[]), 0x6D00);
    let sign = |se: &mut SecureElement| {
        reader_sw(se, 0, 0xA4, 0x02, 0x0C, &fid::AUTH_KEY.to_be_bytes());
        reader(
            se,
            Command::new(0x80, 0x2A, 0, 0x80, digest_info(b"login")),
            &secrets,
        )
    };
    assert_eq!(sign(&mut se).sw.0, 0x6982, "no PIN verified");
    reader_sw(&mut se, 0, 0xA4, 0x02, 0x0C, &fid::AUTH_PIN.to_be_bytes());
    assert_eq!(reader_sw(&mut se, 0, 0x20, 0, 0x80, b"0000"), 0x63C2);
    assert_eq!(reader_sw(&mut se, 0, 0x20, 0, 0x80, b"1357"), 0x9000);
    let r = sign(&mut se);
    assert_eq!(r.sw, StatusWord::OK);
    pk.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(b"login"),
        &r.data,
    )
    .unwrap();
    // Personalisation is still refused on this route.
    assert_eq!(
        reader_sw(&mut se, 0x80, ins::GENERATE_KEY_PAIR, 0, 0x80, &[]),
        0x6982
    );

    se.contactless_field_off();
    assert!(!se.contactless_selected());
    assert_eq!(reader_sw(&mut se, 0, 0x20, 0, 0x80, b"1357"), 0x6986);
    assert_eq!(reader_sw(&mut se, 0, 0xA4, 0x04, 0x0C, &JPKI_AID), 0x9000);
    assert_eq!(sign(&mut se).sw.0, 0x6982, "verification forgotten");

    // Deleting the applet deselects it; a reinstalled instance must be selected again.
    se.factory_reset();
    assert_eq!(reader_sw(&mut se, 0, 0x20, 0, 0x80, b"1357"), 0x6986);
    install_applet(&mut se, app);
    assert_eq!(reader_sw(&mut se, 0, 0x20, 0, 0x80, b"1357"), 0x6986);
}

/// THREAT-SKIM: the APSD forwards applet commands only in a session at its configured
/// personalisation level (`33` by default), whatever level the card's i-parameter allowed the
/// host to choose; a lower configured level admits the lower session.
#[test]
fn personalisation_needs_the_configured_level() {
    let app = app_hash("app");
    let gen = Command::new(0x80, ins::GENERATE_KEY_PAIR, 0, Kind::Auth.p2(), vec![]).with_le(0);
    for level in [SecurityLevel::C_DEC_C_MAC, SecurityLevel::C_DEC_C_MAC_R_MAC] {
        let mut se = new_se();
        install_applet(&mut se, app);
        let mut sp = Tsm::new(SdId::Apsd);
        sp.open(&mut se, level);
        assert_eq!(sp.send(&mut se, gen.clone()).sw.0, 0x6982, "level {level}");
        assert_eq!(se.key_gen(), &KeyGen::seeded(KEY_SEED), "no key drawn");
        sp.open(&mut se, SecurityLevel::FULL);
        assert_eq!(sp.send(&mut se, gen.clone()).sw, StatusWord::OK);
    }
    let mut config = SeConfig::new(isd_keys(), apsd_keys(), [0xAB; 10]);
    config.personalisation_level = SecurityLevel::C_DEC_C_MAC.byte();
    let mut se = SecureElement::new(config.clone(), KeyGen::seeded(KEY_SEED)).unwrap();
    install_applet(&mut se, app);
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(&mut se, SecurityLevel::C_DEC_C_MAC);
    assert_eq!(sp.send(&mut se, gen).sw, StatusWord::OK);
    config.personalisation_level = 0x02;
    assert_eq!(
        SecureElement::new(config, KeyGen::seeded(KEY_SEED)).err(),
        Some(SeError::BadLevel(0x02))
    );
}

/// Finding 4 of issue 16: a secured command whose length field was broken in transit got
/// `6700` and left the session open. Now any refusal, malformed input included, ends it, at
/// every level and on both security domains.
#[test]
fn malformed_secured_command_ends_the_session() {
    let app = app_hash("app");
    for sd in [SdId::Isd, SdId::Apsd] {
        for level in SecurityLevel::ALL {
            let mut se = new_se();
            install_applet(&mut se, app);
            let mut tsm = Tsm::new(sd);
            tsm.open(&mut se, level);
            let gs = Command::new(0x80, 0xF2, 0x40, 0x02, vec![0x4F, 0x00]);
            let raw = tsm.host.as_mut().unwrap().wrap_command(&gs).unwrap();
            let mut tampered = raw.clone();
            tampered[4] = tampered[4].wrapping_add(1); // Lc no longer matches the data
            assert_eq!(
                se.transmit_tsm(sd, &tampered),
                vec![0x67, 0x00],
                "{sd:?} {level}"
            );
            assert_eq!(se.scp_level(sd), None, "{sd:?} {level}");
            // The genuine command, delivered after its tampered copy, is refused.
            assert_eq!(
                se.transmit_tsm(sd, &raw),
                vec![0x69, 0x82],
                "{sd:?} {level}"
            );
        }
    }
}

/// A channel with a verified PIN, ready to sign (finding 2 of issue 16).
fn verified_channel(se: &mut SecureElement, app: [u8; 32]) -> (Tsm, ChannelId) {
    let sei = install_applet(se, app);
    let mut sp = Tsm::new(SdId::Apsd);
    sp.open(se, SecurityLevel::FULL);
    personalise(se, &mut sp, Kind::Auth, 0xA1, b"2468");
    let ch = se.open_channel(app, &JPKI_AID).unwrap();
    assert_eq!(set_user_pin(se, ch, Kind::Auth, b"2468", b"1357"), 0x9000);
    assert_eq!(verify(se, ch, Kind::Auth, b"1357"), 0x9000);
    assert_eq!(select_ef(se, ch, fid::AUTH_KEY), 0x9000);
    (sei, ch)
}

fn sign_cmd() -> Vec<u8> {
    Command::new(0x80, 0x2A, 0, 0x80, digest_info(b"login"))
        .with_le(0)
        .to_bytes()
}

/// Finding 2 of issue 16 (THREAT-FAKE-APP): after the ISD removed the app's access rule, a
/// channel the app opened earlier still signed. Now removing the grant closes the channel.
#[test]
fn removed_access_rule_closes_open_channels() {
    let mut se = new_se();
    let app = app_hash("app");
    let (mut sei, ch) = verified_channel(&mut se, app);
    let never = rule_do(0xF0, &JPKI_AID, &app, Some(0x00));
    assert_eq!(sei.sw(&mut se, 0x80, 0xE2, 0x90, 0x00, &never), 0x9000);
    assert_eq!(se.open_channels(), vec![]);
    assert_eq!(se.transmit(app, ch, &sign_cmd()), vec![0x68, 0x81]);
    // Granted again, a new channel starts without the verified PIN.
    let grant = rule_do(0xF0, &JPKI_AID, &app, None);
    assert_eq!(sei.sw(&mut se, 0x80, 0xE2, 0x90, 0x00, &grant), 0x9000);
    let ch = se.open_channel(app, &JPKI_AID).unwrap();
    assert_eq!(select_ef(&mut se, ch, fid::AUTH_KEY), 0x9000);
    let r = Response::parse(&se.transmit(app, ch, &sign_cmd())).unwrap();
    assert_eq!(r.sw.0, 0x6982, "the PIN must be verified again");
    // Deleting every rule has the same effect.
    assert_eq!(
        sei.sw(&mut se, 0x80, 0xE2, 0x90, 0x00, &[0xF1, 0x00]),
        0x9000
    );
    assert_eq!(se.open_channels(), vec![]);
}

/// THREAT-FAKE-APP: a channel answers only the app that opened it; another app, with or
/// without its own grant, cannot use or close it.
#[test]
fn a_channel_answers_only_its_app() {
    let mut se = new_se();
    let app = app_hash("app");
    let (mut sei, ch) = verified_channel(&mut se, app);
    let evil = app_hash("evil");
    assert_eq!(se.transmit(evil, ch, &sign_cmd()), vec![0x68, 0x81]);
    assert_eq!(se.close_channel(evil, ch), Err(SeError::UnknownChannel(ch)));
    let grant = rule_do(0xF0, &JPKI_AID, &evil, None);
    assert_eq!(sei.sw(&mut se, 0x80, 0xE2, 0x90, 0x00, &grant), 0x9000);
    assert_eq!(se.transmit(evil, ch, &sign_cmd()), vec![0x68, 0x81]);
    // The owner is unaffected.
    let r = Response::parse(&se.transmit(app, ch, &sign_cmd())).unwrap();
    assert_eq!(r.sw, StatusWord::OK);
}

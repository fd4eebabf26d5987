//! Criterion benchmarks of the concrete system's costs (R-SCP03, R-KEYGEN, R-ISSUE):
//! SCP03 protection of one APDU against the raw AES-CMAC it is built on, an applet signature
//! (COMPUTE DIGITAL SIGNATURE through the APDU layer) against a raw RSA signature, and one
//! end-to-end issuance through the facade. Keys come from the seeded pool; the issuance
//! bench restarts from a snapshot, so the SE's key is the pool's cached one and key
//! generation is NOT measured (only the protocols and RSA operations).

use cmac::{Cmac, Mac};
use criterion::{criterion_group, criterion_main, Criterion};
use phone_jpki_impl::apdu::Command;
use phone_jpki_impl::applet::{
    ins, AppletConfig, ChannelContext, JpkiApplet, Kind, SHA256_DIGEST_INFO_PREFIX,
};
use phone_jpki_impl::ca::{Ca, CertKind, LogicalTime, PersonId, PhoneId};
use phone_jpki_impl::card::MyNumberCard;
use phone_jpki_impl::crypto::SeededKeyPool;
use phone_jpki_impl::scp03::{CardSession, HostSession, SecurityLevel, StaticKeys};
use phone_jpki_impl::system::{System, SystemConfig};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Signer;
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn keys() -> StaticKeys {
    StaticKeys::new(0x30, [0x40u8; 16], [0x41u8; 16], [0x42u8; 16]).unwrap()
}

/// An authenticated host/card SCP03 session pair at `level`.
fn session_pair(level: SecurityLevel) -> (HostSession, CardSession) {
    let mut card = CardSession::new(keys(), [7; 10], vec![0xA0, 0, 0, 1, 0x51], 1);
    let challenge = [9u8; 8];
    let iu = HostSession::initialize_update_command(0x30, challenge);
    let data = card.initialize_update(&iu).unwrap();
    let mut host = HostSession::open(keys(), challenge, &data).unwrap();
    let ea = host.external_authenticate_command(level).unwrap();
    card.external_authenticate(&ea).unwrap();
    (host, card)
}

fn scp03(c: &mut Criterion) {
    let cmd = Command::new(0x80, 0x32, 0x00, 0x01, vec![0x5A; 200]);
    let mut g = c.benchmark_group("scp03_vs_cmac");
    for (name, level) in [
        ("scp03_wrap_unwrap_cmac", SecurityLevel::C_MAC),
        ("scp03_wrap_unwrap_cdec_cmac", SecurityLevel::C_DEC_C_MAC),
    ] {
        let (mut host, mut card) = session_pair(level);
        g.bench_function(name, |b| {
            b.iter(|| {
                let raw = host.wrap_command(black_box(&cmd)).unwrap();
                black_box(card.unwrap_command(&raw).unwrap())
            })
        });
    }
    let bytes = cmd.to_bytes();
    g.bench_function("raw_aes_cmac", |b| {
        b.iter(|| {
            let mut mac = <Cmac<aes::Aes128> as Mac>::new_from_slice(&[0x41; 16]).unwrap();
            mac.update(black_box(&bytes));
            black_box(mac.finalize().into_bytes())
        })
    });
    g.finish();
}

/// A personalised applet with a verified auth PIN on OMAPI channel 1.
fn personalised_applet() -> JpkiApplet {
    let mut pool = SeededKeyPool::new(0xBE7C);
    let now = LogicalTime(10);
    let mut ca = Ca::new(&mut pool, LogicalTime::BASE).unwrap();
    let mut card = MyNumberCard::new(PersonId(0), &mut pool, "cardpw0", "1234").unwrap();
    let card_serial = card.enrol(&mut ca, now).unwrap().serial;
    let mut applet = JpkiApplet::new(AppletConfig::default());
    let sc = ChannelContext::SecureChannel { level: 0x33 };
    let omapi = ChannelContext::Omapi { channel: 1 };
    let mut run = |applet: &mut JpkiApplet, cmd: Command, ctx| {
        let r = applet.process(&cmd, ctx, &mut pool);
        assert!(r.sw.is_ok(), "{cmd:?}: {:?}", r.sw);
        r.data
    };
    let spki = run(
        &mut applet,
        Command::new(0x80, ins::GENERATE_KEY_PAIR, 0, 1, vec![]).with_le(0),
        sc,
    );
    let public = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
    let der = ca
        .issue_phone_cert(
            PersonId(0),
            CertKind::Auth,
            PhoneId(0),
            &public,
            card_serial,
            now,
        )
        .unwrap()
        .der;
    run(
        &mut applet,
        Command::new(0x80, ins::WRITE_CERTIFICATE, 0, 1, der),
        sc,
    );
    run(
        &mut applet,
        Command::new(0x80, ins::SET_TEMPORARY_PIN, 0, 1, b"1111".to_vec()),
        sc,
    );
    let mut data = vec![4];
    data.extend_from_slice(b"11112222");
    run(
        &mut applet,
        Command::new(0x80, ins::SET_USER_PIN, 0, 1, data),
        omapi,
    );
    run(
        &mut applet,
        Command::new(0x00, ins::VERIFY, 0, 0x81, b"2222".to_vec()),
        omapi,
    );
    run(
        &mut applet,
        Command::new(
            0x00,
            ins::SELECT,
            0x02,
            0x0C,
            Kind::Auth.key_fid().to_be_bytes().to_vec(),
        ),
        omapi,
    );
    applet
}

fn signatures(c: &mut Criterion) {
    let mut applet = personalised_applet();
    let mut pool = SeededKeyPool::new(0xBE7C);
    let mut digest_info = SHA256_DIGEST_INFO_PREFIX.to_vec();
    digest_info.extend(Sha256::digest(b"relying party challenge"));
    let cmd = Command::new(0x80, ins::COMPUTE_SIGNATURE, 0x00, 0x80, digest_info).with_le(0);
    let omapi = ChannelContext::Omapi { channel: 1 };
    let mut g = c.benchmark_group("signature");
    g.sample_size(20);
    g.bench_function("applet_compute_digital_signature", |b| {
        b.iter(|| {
            let r = applet.process(black_box(&cmd), omapi, &mut pool);
            assert!(r.sw.is_ok());
            black_box(r.data)
        })
    });
    let key = SigningKey::<Sha256>::new(SeededKeyPool::key(0xBE7C, 9).unwrap());
    g.bench_function("raw_rsa_pkcs1v15_sha256", |b| {
        b.iter(|| black_box(key.sign(black_box(b"relying party challenge"))))
    });
    g.finish();
}

fn issuance(c: &mut Criterion) {
    let mut config = SystemConfig::new(1, 1);
    config.seed = 0xBE7C;
    let mut base = System::new(config).unwrap();
    let h = PhoneId(0);
    base.install_app(h).unwrap();
    base.install_applet(h).unwrap();
    // Warm the key pool with the one key the issuance will draw.
    {
        let mut s = base.clone();
        s.apply(h, CertKind::Auth).unwrap();
        s.generate_key(h).unwrap();
    }
    let mut g = c.benchmark_group("issuance");
    g.sample_size(10);
    g.bench_function("end_to_end_apply_to_set_user_pin", |b| {
        b.iter(|| {
            let mut s = base.clone();
            s.apply(h, CertKind::Auth).unwrap();
            s.generate_key(h).unwrap();
            s.ca_issue(h).unwrap();
            s.write_cert(h).unwrap();
            s.set_user_pin(h).unwrap();
            black_box(s)
        })
    });
    g.finish();
}

criterion_group!(benches, scp03, signatures, issuance);
criterion_main!(benches);

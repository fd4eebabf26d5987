//! The end-to-end demonstration behind the root CLI: person p0 has both kinds issued on phone
//! h0, changes model to phone h2, then h2's auth certificate is suspended and its sign
//! certificate revoked with the card; person p1 has both kinds issued on phone h1 and keeps
//! them live. Every certificate and the CRL are written as PEM files whose names say which
//! phone, kind and state (R-ISSUE, R-MODEL-CHANGE, R-SUSPEND, R-REVOKE, R-DELETE).
//!
//! `openssl verify -CAfile ca.pem -crl_check -CRLfile crl.pem <cert>` accepts the live
//! certificates and rejects the revoked and held ones; with `phone-jpki ca serve --dir DIR`
//! running, `openssl verify -CAfile ca.pem -crl_check -crl_download <cert>` does the same from
//! the certificate's cRLDistributionPoints alone. [`demo`] anchors the logical clock one hour
//! before the real current time, so no `-attime` is needed; [`demo_at`] takes the start time
//! explicitly (then pass `-attime <unix secs of the CRL's thisUpdate>` to openssl).
//!
//! WARNING: the keys come from the seeded pool ([`KEY_WARNING`]): deterministic, fast, and
//! rebuildable by anyone; only the times follow the clock.

use crate::ca::{cert, CertKind, CertStatus, LogicalTime, PersonId, PhoneId};
use crate::system::{Refusal, System, SystemConfig, SystemError};
use std::path::{Path, PathBuf};

/// Printed with the demo's output: the keys are test keys.
pub const KEY_WARNING: &str = "WARNING: deterministic test keys: anyone can rebuild the CA's and \
every holder's private key from the project's seeds; never trust these certificates outside tests";

/// One certificate file written by the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    /// Where.
    pub path: PathBuf,
    /// Its serial.
    pub serial: u64,
    /// Whether a relying party must accept it (Active) or reject it (revoked or held).
    pub live: bool,
}

/// What the demo produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// The CA root certificate.
    pub ca: PathBuf,
    /// The CRL.
    pub crl: PathBuf,
    /// The card and phone certificates.
    pub certs: Vec<DemoFile>,
    /// The CRL's thisUpdate, seconds since the Unix epoch (for `openssl -attime`).
    pub crl_time_unix: u64,
    /// A line per step, for the CLI to print.
    pub log: Vec<String>,
}

/// Run the demo into `out_dir` with the logical clock anchored one hour before now.
pub fn demo(out_dir: &Path) -> Result<DemoReport, SystemError> {
    demo_at(out_dir, one_hour_ago()?)
}

/// The logical time one hour before the real current time (certificates issued then are
/// valid now without `openssl -attime`).
pub fn one_hour_ago() -> Result<LogicalTime, SystemError> {
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| SystemError::Config(format!("system clock before 1970: {e}")))?
        .as_secs();
    Ok(LogicalTime(
        now_unix
            .saturating_sub(3600)
            .saturating_sub(LogicalTime::BASE_UNIX_SECS),
    ))
}

/// Run the demo into `out_dir` with the logical clock starting at `start`.
pub fn demo_at(out_dir: &Path, start: LogicalTime) -> Result<DemoReport, SystemError> {
    // The output location is checked before the work; each file is written atomically.
    crate::fsio::prepare_output_dir(out_dir).map_err(SystemError::Io)?;
    let mut config = SystemConfig::new(2, 3);
    config.seed = 2026;
    config.start = start;
    let mut s = System::new(config)?;
    let mut log = vec![KEY_WARNING.to_string()];
    // Phone h starts with person h % 2: h0 and h2 are p0's, h1 is p1's.
    let (old, live, new, p0) = (PhoneId(0), PhoneId(1), PhoneId(2), PersonId(0));
    let mut step = |s: &mut System,
                    name: &str,
                    f: &dyn Fn(&mut System) -> Result<(), Refusal>|
     -> Result<(), SystemError> {
        f(s).map_err(|refusal| SystemError::Refused {
            step: name.to_string(),
            refusal,
        })?;
        log.push(format!("{name}: ok"));
        Ok(())
    };
    for h in [old, live, new] {
        step(&mut s, &format!("install_app({h})"), &|s| s.install_app(h))?;
        step(&mut s, &format!("install_applet({h})"), &|s| {
            s.install_applet(h)
        })?;
        for k in CertKind::ALL {
            let n = |what: &str| format!("{what}({h}, {k:?})");
            step(&mut s, &n("apply"), &|s| s.apply(h, k))?;
            step(&mut s, &n("generate_key"), &|s| s.generate_key(h))?;
            step(&mut s, &n("ca_issue"), &|s| s.ca_issue(h))?;
            step(&mut s, &n("write_cert"), &|s| s.write_cert(h))?;
            step(&mut s, &n("set_user_pin"), &|s| s.set_user_pin(h))?;
        }
    }
    // Model change: the deletion pushes to phone h0.
    while !s.pending_pushes().is_empty() {
        step(&mut s, "deliver_push(0) to h0", &|s| s.deliver_push(0))?;
    }
    step(&mut s, "suspend(p0, Auth)", &|s| {
        s.suspend(p0, CertKind::Auth)
    })?;
    step(&mut s, "revoke_with_card(p0, Sign)", &|s| {
        s.revoke_with_card(p0, CertKind::Sign)
    })?;
    step(&mut s, "deliver_push(0) to h2", &|s| s.deliver_push(0))?;

    let write = |name: &str, text: &str| -> Result<PathBuf, SystemError> {
        let path = out_dir.join(name);
        crate::fsio::write_atomic(&path, text.as_bytes()).map_err(SystemError::Io)?;
        Ok(path)
    };
    let ca = write("ca.pem", &s.ca().root_pem().map_err(SystemError::Ca)?)?;
    let crl = s.publish_crl().map_err(SystemError::Ca)?;
    let crl_time_unix = crl.this_update.unix_secs();
    let crl_path = write("crl.pem", &crl.to_pem().map_err(SystemError::Ca)?)?;
    let mut certs = Vec::new();
    for record in s.ca().registry().records() {
        let (state, live) = match record.status {
            CertStatus::Active => ("valid", true),
            CertStatus::Suspended { .. } => ("suspended", false),
            CertStatus::Revoked { .. } => ("revoked", false),
            CertStatus::Expired { .. } => ("expired", false),
        };
        let name = match record.subject {
            crate::ca::CertSubject::CardSigning { generation: 0 } => {
                format!("card-{}-{state}.pem", record.person)
            }
            crate::ca::CertSubject::CardSigning { generation } => {
                format!("card-{}-gen{generation}-{state}.pem", record.person)
            }
            crate::ca::CertSubject::Phone { kind, phone, .. } => {
                let k = match kind {
                    CertKind::Auth => "auth",
                    CertKind::Sign => "sign",
                };
                format!("phone-{phone}-{k}-{state}.pem")
            }
        };
        let pem = cert::certificate_pem(&record.der).map_err(SystemError::Ca)?;
        certs.push(DemoFile {
            path: write(&name, &pem)?,
            serial: record.serial.0,
            live,
        });
        debug_assert_eq!(s.status(record.serial).is_good(), live);
    }
    log.push(format!(
        "wrote {} certificates, ca.pem and crl.pem (thisUpdate {} unix) to {}",
        certs.len(),
        crl_time_unix,
        out_dir.display()
    ));
    Ok(DemoReport {
        ca,
        crl: crl_path,
        certs,
        crl_time_unix,
        log,
    })
}

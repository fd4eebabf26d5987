//! `phone-jpki ca serve`: the CA's publication point over HTTP on loopback, so a relying
//! party finds the CRL and the CA certificate from a certificate's cRLDistributionPoints and
//! authorityInfoAccess alone (`openssl verify -crl_download`).

use clap::Subcommand;
use phone_jpki_impl::ca::cert::{CA_CERT_URL, CRL_URL, PUBLICATION_ADDR};
use phone_jpki_impl::ca::publish::Publication;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CaCmd {
    /// Serve `DIR/crl.pem` and `DIR/ca.pem` (a `demo --out DIR`) as DER at the URLs the
    /// certificates name; runs until stopped. First stdout line: one JSON object.
    Serve {
        /// The demo output directory.
        #[arg(long)]
        dir: PathBuf,
        /// Listening address (the certificates name 127.0.0.1:8780).
        #[arg(long, default_value = PUBLICATION_ADDR)]
        addr: String,
    },
}

pub fn run(cmd: CaCmd) -> Result<ExitCode, String> {
    match cmd {
        CaCmd::Serve { dir, addr } => {
            let publication = Publication::from_dir(&dir).map_err(|e| format!("--dir {e}"))?;
            let listener = TcpListener::bind(&addr)
                .map_err(|e| format!("--addr {addr}: cannot listen: {e}"))?;
            let bound = listener
                .local_addr()
                .map_err(|e| format!("--addr {addr}: {e}"))?;
            let line = serde_json::json!({
                "http": bound.to_string(),
                "crl_url": CRL_URL,
                "ca_url": CA_CERT_URL,
                "dir": dir.display().to_string(),
            });
            let mut out = std::io::stdout();
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("stdout: {e}"))?;
            if bound.to_string() != PUBLICATION_ADDR {
                eprintln!(
                    "phone-jpki ca serve: warning: the certificates name {PUBLICATION_ADDR}, \
                     this server listens on {bound}"
                );
            }
            publication.serve(&listener);
            Ok(ExitCode::SUCCESS)
        }
    }
}

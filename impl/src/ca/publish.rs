//! The CA's publication point (RFC 5280 §4.2.1.13 cRLDistributionPoints, §4.2.2.1
//! authorityInfoAccess caIssuers): a minimal HTTP/1.x server on loopback answering `GET` and
//! `HEAD` for [`cert::CRL_URL`]'s path (`application/pkix-crl`, DER) and
//! [`cert::CA_CERT_URL`]'s path (`application/pkix-cert`, DER), so that a relying party
//! (`openssl verify -crl_download`) finds the CRL from the certificate alone.
//!
//! Everything else gets a status line naming what was wrong: `400` for a request head that is
//! not `METHOD SP PATH SP HTTP/1.x` (or longer than [`MAX_HEAD`]), `405` for another method,
//! `404` for another path. One request per connection (`Connection: close`).

use super::cert;
use std::fmt;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

/// The longest request head accepted (bytes).
pub const MAX_HEAD: usize = 8192;

/// What the publication point serves: the CA certificate and the CRL, DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The CA certificate.
    pub ca_der: Vec<u8>,
    /// The current CRL.
    pub crl_der: Vec<u8>,
}

/// Why the publication could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishError(pub String);

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PublishError {}

fn pem_file(path: &Path, label: &str) -> Result<Vec<u8>, PublishError> {
    let text = crate::fsio::read_capped_text(path).map_err(PublishError)?;
    let (found, der) = der::pem::decode_vec(text.as_bytes())
        .map_err(|e| PublishError(format!("{}: not PEM: {e}", path.display())))?;
    if found != label {
        return Err(PublishError(format!(
            "{}: PEM label {found}, expected {label}",
            path.display()
        )));
    }
    Ok(der)
}

impl Publication {
    /// Load `ca.pem` and `crl.pem` from a demo output directory.
    pub fn from_dir(dir: &Path) -> Result<Publication, PublishError> {
        Ok(Publication {
            ca_der: pem_file(&dir.join("ca.pem"), "CERTIFICATE")?,
            crl_der: pem_file(&dir.join("crl.pem"), "X509 CRL")?,
        })
    }

    /// The HTTP response to one request head (everything up to the blank line).
    pub fn respond(&self, head: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(head);
        let line = text.lines().next().unwrap_or("");
        let parts: Vec<&str> = line.split(' ').collect();
        let (method, target) = match parts.as_slice() {
            [m, t, v] if v.starts_with("HTTP/1.") && t.starts_with('/') => (*m, *t),
            _ => {
                return plain(
                    "400 Bad Request",
                    &format!("bad request line {line:?}: expected METHOD /path HTTP/1.x\n"),
                )
            }
        };
        if method != "GET" && method != "HEAD" {
            return plain(
                "405 Method Not Allowed",
                &format!("method {method} not allowed: GET or HEAD\n"),
            );
        }
        let path = target.split('?').next().unwrap_or(target);
        let (body, kind) = if path == url_path(cert::CRL_URL) {
            (&self.crl_der, "application/pkix-crl")
        } else if path == url_path(cert::CA_CERT_URL) {
            (&self.ca_der, "application/pkix-cert")
        } else {
            return plain(
                "404 Not Found",
                &format!(
                    "no {path} here: {} and {} are\n",
                    url_path(cert::CRL_URL),
                    url_path(cert::CA_CERT_URL)
                ),
            );
        };
        let mut out = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        if method == "GET" {
            out.extend_from_slice(body);
        }
        out
    }

    /// Answer one connection: read the request head (at most [`MAX_HEAD`] bytes, 5 s), write
    /// the response, close.
    pub fn handle(&self, stream: &mut TcpStream) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        let response = loop {
            if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
                break self.respond(&head);
            }
            if head.len() > MAX_HEAD {
                break plain(
                    "400 Bad Request",
                    &format!("request head over {MAX_HEAD} bytes\n"),
                );
            }
            match stream.read(&mut buf)? {
                0 => break self.respond(&head),
                n => head.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            }
        };
        stream.write_all(&response)?;
        stream.flush()
    }

    /// Serve `listener` forever (each connection's error is reported on stderr).
    pub fn serve(&self, listener: &TcpListener) {
        for conn in listener.incoming() {
            let result = conn.and_then(|mut s| self.handle(&mut s));
            if let Err(e) = result {
                eprintln!("phone-jpki ca serve: connection: {e}");
            }
        }
    }
}

/// The path part of one of our `http://host:port/path` URLs.
fn url_path(url: &str) -> &str {
    url.strip_prefix("http://")
        .and_then(|rest| rest.find('/').and_then(|i| rest.get(i..)))
        .unwrap_or("/")
}

fn plain(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{Ca, LogicalTime};
    use crate::crypto::SeededKeyPool;
    use der::{Decode, Encode};
    use x509_cert::der::oid::AssociatedOid;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    use x509_cert::ext::pkix::{
        AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, CrlDistributionPoints,
        SubjectKeyIdentifier,
    };
    use x509_cert::Certificate;

    fn pub_() -> Publication {
        Publication {
            ca_der: b"CA".to_vec(),
            crl_der: b"CRL!".to_vec(),
        }
    }

    fn status(resp: &[u8]) -> String {
        String::from_utf8_lossy(resp)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    #[test]
    fn serves_crl_and_ca_and_names_what_is_wrong() {
        let p = pub_();
        let r = p.respond(b"GET /crl.der HTTP/1.0\r\nHost: x\r\n\r\n");
        assert_eq!(status(&r), "HTTP/1.0 200 OK");
        assert!(r.ends_with(b"\r\n\r\nCRL!"));
        assert!(String::from_utf8_lossy(&r).contains("application/pkix-crl"));
        let r = p.respond(b"GET /ca.der HTTP/1.1\r\n\r\n");
        assert!(r.ends_with(b"\r\n\r\nCA"));
        let r = p.respond(b"HEAD /ca.der HTTP/1.1\r\n\r\n");
        assert!(r.ends_with(b"Content-Length: 2\r\nConnection: close\r\n\r\n"));
        for (req, code, says) in [
            (&b"GET /other HTTP/1.0\r\n\r\n"[..], "404", "no /other here"),
            (b"POST /crl.der HTTP/1.0\r\n\r\n", "405", "method POST"),
            (b"GET crl.der HTTP/1.0\r\n\r\n", "400", "bad request line"),
            (b"\x00\xff garbage\r\n\r\n", "400", "bad request line"),
            (b"", "400", "bad request line"),
        ] {
            let r = String::from_utf8_lossy(&p.respond(req)).into_owned();
            assert!(r.starts_with(&format!("HTTP/1.0 {code}")), "{req:?}: {r}");
            assert!(r.contains(says), "{req:?}: {r}");
        }
    }

    #[test]
    fn over_tcp_and_an_oversized_head_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let p = pub_();
        let server = std::thread::spawn(move || {
            for _ in 0..2 {
                let (mut s, _) = listener.accept().unwrap();
                p.handle(&mut s).unwrap();
            }
        });
        let get = |req: &[u8]| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(req).unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).unwrap();
            out
        };
        assert!(get(b"GET /crl.der HTTP/1.0\r\n\r\n").ends_with(b"CRL!"));
        let mut big = b"GET /crl.der HTTP/1.0\r\nX: ".to_vec();
        big.extend(vec![b'a'; MAX_HEAD + 10]);
        assert!(status(&get(&big)).starts_with("HTTP/1.0 400"));
        server.join().unwrap();
    }

    /// The certificates point at this server: CRL DP and AIA caIssuers in end-entity
    /// certificates, AKI = SKI on the root.
    #[test]
    fn certificates_carry_the_publication_urls_and_the_root_its_aki() {
        let mut keys = SeededKeyPool::new(77);
        let mut ca = Ca::new(&mut keys, LogicalTime(0)).unwrap();
        let root = ca.root_certificate().clone();
        let ext = |c: &Certificate, oid| {
            c.tbs_certificate
                .extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == oid)
                .map(|e| e.extn_value.as_bytes().to_vec())
        };
        let ski = SubjectKeyIdentifier::from_der(&ext(&root, SubjectKeyIdentifier::OID).unwrap())
            .unwrap();
        let aki =
            AuthorityKeyIdentifier::from_der(&ext(&root, AuthorityKeyIdentifier::OID).unwrap())
                .unwrap();
        assert_eq!(aki.key_identifier, Some(ski.0));
        assert_eq!(ext(&root, CrlDistributionPoints::OID), None);
        let issued = ca
            .issue_card_cert(
                crate::ca::PersonId(0),
                &crate::crypto::KeySource::generate(&mut keys)
                    .unwrap()
                    .to_public_key(),
                LogicalTime(0),
            )
            .unwrap();
        let leaf = Certificate::from_der(&issued.der).unwrap();
        let dp = CrlDistributionPoints::from_der(&ext(&leaf, CrlDistributionPoints::OID).unwrap())
            .unwrap();
        let uri = |g: &GeneralName| match g {
            GeneralName::UniformResourceIdentifier(u) => u.to_string(),
            other => panic!("not a URI: {other:?}"),
        };
        match &dp.0[0].distribution_point {
            Some(DistributionPointName::FullName(names)) => {
                assert_eq!(uri(&names[0]), cert::CRL_URL)
            }
            other => panic!("{other:?}"),
        }
        let aia = AuthorityInfoAccessSyntax::from_der(
            &ext(&leaf, AuthorityInfoAccessSyntax::OID).unwrap(),
        )
        .unwrap();
        assert_eq!(aia.0[0].access_method.to_string(), "1.3.6.1.5.5.7.48.2");
        assert_eq!(uri(&aia.0[0].access_location), cert::CA_CERT_URL);
        assert_eq!(url_path(cert::CRL_URL), "/crl.der");
        // What the server hands out for those paths is the CA's own DER.
        let p = Publication {
            ca_der: ca.root_der().to_vec(),
            crl_der: ca.issue_crl(LogicalTime(1)).unwrap().der().to_vec(),
        };
        let r = p.respond(b"GET /ca.der HTTP/1.0\r\n\r\n");
        assert!(r.ends_with(&root.to_der().unwrap()));
    }
}

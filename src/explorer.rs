//! `phone-jpki explore`: the project's own Explorer, a small HTTP server on loopback. URLs
//! name a path by action labels (`/path/InstallApp(h0)/Apply(h0,auth)?world=reference`), one
//! click per step; the page is self-contained (no scripts or styles from elsewhere).
//!
//! The address is bound once, here: a busy or bad `--addr` is an error (exit 2), with no
//! window between a probe and the real bind (issue 16, finding 7).

use crate::explorer_api::{config_of, view, Request, Runs};
use crate::links::{config_flags, decode, explorer_link, parse_query, query};
use phone_jpki_model::{Action, Config};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

const PAGE: &str = include_str!("explorer_page.html");

/// Bind `addr` (once) and serve until the process ends; `path` is opened first.
pub fn serve(addr: &str, c: &Config, path: &[Action]) -> Result<(), String> {
    let flags = config_flags(c)?;
    let listener =
        TcpListener::bind(addr).map_err(|e| format!("--addr {addr}: cannot listen there: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("--addr {addr}: {e}"))?;
    let bound = bound.to_string();
    // A closed stdout (a reader that went away) must not stop the server.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "Explorer on http://{bound}/ (Ctrl-C to stop)");
    let _ = writeln!(out, "{}", explorer_link(&bound, c, path)?);
    let _ = out.flush();
    let runs = Arc::new(Runs::default());
    let landing = Arc::new(format!(
        "/path{}?{}",
        path.iter()
            .map(|a| format!("/{}", crate::links::encode_label(&a.to_string())))
            .collect::<String>(),
        query(&flags)
    ));
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let (runs, landing) = (runs.clone(), landing.clone());
        std::thread::spawn(move || {
            let _ = handle(conn, &runs, &landing);
        });
    }
    Ok(())
}

fn handle(mut conn: TcpStream, runs: &Runs, landing: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Headers are not needed; read them so the client sees a clean close.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let (route, q) = target.split_once('?').unwrap_or((target, ""));
    let (status, ctype, body) = route_request(method, route, q, runs, landing);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{}\r\n",
        body.len(),
        if status.starts_with("302") {
            format!("Location: {landing}\r\n")
        } else {
            String::new()
        }
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body.as_bytes())?;
    conn.flush()
}

fn request(route_rest: &str, q: &str) -> Result<Request, String> {
    let labels = route_rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Request {
        flags: parse_query(q)?,
        labels,
    })
}

fn route_request(
    method: &str,
    route: &str,
    q: &str,
    runs: &Runs,
    _landing: &str,
) -> (&'static str, &'static str, String) {
    const JSON: &str = "application/json";
    let err = |e: String| ("400 Bad Request", JSON, json!({ "error": e }).to_string());
    match (method, route) {
        ("GET", "/") => ("302 Found", "text/plain", String::new()),
        ("GET", r) if r == "/path" || r.starts_with("/path/") => {
            ("200 OK", "text/html; charset=utf-8", PAGE.to_string())
        }
        ("GET", r) if r.starts_with("/api/view") => {
            match request(&r["/api/view".len()..], q).and_then(|r| view(&r)) {
                Ok(v) => ("200 OK", JSON, v.to_string()),
                Err(e) => err(e),
            }
        }
        (m, "/api/run") if m == "GET" || m == "POST" => {
            let r = match request("", q) {
                Ok(r) => r,
                Err(e) => return err(e),
            };
            let c = match config_of(&r) {
                Ok(c) => c,
                Err(e) => return err(e),
            };
            let key = config_flags(&c).map(|f| query(&f)).unwrap_or_default();
            if m == "POST" {
                runs.start(&c, &key);
            }
            ("200 OK", JSON, runs.status(&c, &key).to_string())
        }
        _ => (
            "404 Not Found",
            "text/plain",
            format!("no page {route}: paths start with /path/"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_address_is_an_error_not_a_panic() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let e = serve(&addr, &Config::reference(), &[]).unwrap_err();
        assert!(
            e.starts_with(&format!("--addr {addr}: cannot listen there")),
            "{e}"
        );
        let e = serve("not-an-address", &Config::reference(), &[]).unwrap_err();
        assert!(
            e.starts_with("--addr not-an-address: cannot listen there"),
            "{e}"
        );
    }

    #[test]
    fn routes_answer_pages_views_and_errors() {
        let runs = Runs::default();
        let (s, _, _) = route_request("GET", "/", "", &runs, "/path?world=reference");
        assert!(s.starts_with("302"));
        let (s, t, body) =
            route_request("GET", "/path/InstallApp(h0)", "world=reference", &runs, "");
        assert_eq!((s, t), ("200 OK", "text/html; charset=utf-8"));
        assert!(body.contains("<title>phone-jpki Explorer</title>"));
        let (s, _, body) = route_request(
            "GET",
            "/api/view/InstallApp(h0)",
            "world=reference",
            &runs,
            "",
        );
        assert_eq!(s, "200 OK");
        assert!(body.contains("\"label\":\"InstallApp(h0)\""));
        let (s, _, body) = route_request("GET", "/api/view/Find(h0)", "world=reference", &runs, "");
        assert!(s.starts_with("400"));
        assert!(body.contains("h0 is not lost"), "{body}");
        let (_, _, body) = route_request("GET", "/api/run", "world=reference", &runs, "");
        assert_eq!(body, "{\"state\":\"idle\"}");
        let (s, _, _) = route_request("GET", "/nope", "", &runs, "");
        assert!(s.starts_with("404"));
    }
}

//! `phone-jpki`: model checking, exploration, SCP03 vectors and the demo scenario.

mod alternatives;
mod ca_cmd;
mod card_cmd;
mod check_cmd;
mod distributed_cmd;
mod explorer;
mod explorer_api;
mod links;
mod matrix;
mod pathfile;
mod pathview;
mod picture;
mod report;
mod variants;
mod whynot;

use clap::{Parser, Subcommand};
use phone_jpki_model::check::{check, CheckOptions};
use phone_jpki_model::policy::Choice;
use phone_jpki_model::{Config, Kind, PersonId};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod interop;
mod itf;

#[derive(Parser)]
#[command(
    name = "phone-jpki",
    version,
    about = "Reference semantics for JPKI certificates on smartphones"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct WorldArgs {
    /// Starting point: `deep` (2 persons, 3 phones, both kinds, 2 detours), `reference` (the
    /// same with 1 detour: the smallest world deciding every property), `single` (1 person,
    /// 1 phone, auth, no world budgets), `new-phone` (1 person moves both kinds to a second
    /// phone, the cards' 3/5 PIN tries, no detour) or `storyline` (the new-phone world with one
    /// detour: every seed storyline fits; too large for CI); the flags below override its
    /// fields.
    #[arg(long, default_value = "deep")]
    world: String,
    /// Persons in the world.
    #[arg(long)]
    persons: Option<u8>,
    /// Phones in the world.
    #[arg(long)]
    phones: Option<u8>,
    /// Certificate kinds: auth, sign or both.
    #[arg(long)]
    kinds: Option<String>,
    /// Wrong-PIN tries before blocking (both kinds).
    #[arg(long)]
    pin_tries: Option<u8>,
    /// Phone certs per person and kind.
    #[arg(long)]
    max_issuances: Option<u8>,
    /// Card signing cert generations per person.
    #[arg(long)]
    max_card_generations: Option<u8>,
    /// App installations per phone.
    #[arg(long)]
    max_app_installs: Option<u8>,
    /// Hand-overs per phone.
    #[arg(long)]
    max_handovers: Option<u8>,
    /// Detours (loss, network loss, revocation, wrong PIN, ...) in the whole world, or `none`.
    #[arg(long)]
    max_events: Option<String>,
    /// Issuance sessions in flight at once in the whole world, or `none` (one per phone).
    #[arg(long)]
    max_sessions: Option<String>,
    /// Phone certs issued in the whole world, or `none`.
    #[arg(long)]
    max_certs: Option<String>,
    /// THREAT-PIN-KNOWN: the persons whose PINs everyone else knows, `p0,p1`, or `none`.
    #[arg(long)]
    pin_known: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Exhaustive check of every property; exit 0 only if complete and all as expected.
    Check {
        #[command(flatten)]
        world: WorldArgs,
        /// A non-default policy variant (repeatable); `--policy list` lists them.
        #[arg(long)]
        policy: Vec<String>,
        /// Worker threads.
        #[arg(long)]
        threads: Option<usize>,
        /// Visit one state per symmetry class.
        #[arg(long)]
        symmetry: bool,
        /// Give up (incomplete) after this many unique states.
        #[arg(long)]
        max_states: Option<usize>,
        /// Give up (incomplete) after this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// With --policy: exit 1 on any broken property, even the ones the variant is meant
        /// to break (by default a variant that breaks exactly those exits 0).
        #[arg(long)]
        strict: bool,
        /// Also write an HTML page with every path as pictures.
        #[arg(long)]
        html: Option<PathBuf>,
        #[command(flatten)]
        cluster: distributed_cmd::ClusterArgs,
        /// Also write every counterexample and example as ITF (`DIR/<property>.itf.json`).
        #[arg(long)]
        itf: Option<PathBuf>,
    },
    /// Every policy variant against every property: the design-space table.
    Matrix {
        #[command(flatten)]
        world: WorldArgs,
        #[arg(long)]
        json: bool,
        /// Variants checked at once (default: the machine's cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Give up (UNDECIDED) on a variant after this many unique states.
        #[arg(long)]
        max_states: Option<usize>,
        /// Give up (UNDECIDED) on what is left after this many seconds for the whole matrix.
        #[arg(long)]
        timeout: Option<u64>,
    },
    /// Serve the Explorer on the model: paths by action labels, properties on the shown
    /// state, refusals and their reasons, pictures (see README).
    Explore {
        #[command(flatten)]
        world: WorldArgs,
        /// A non-default policy variant (repeatable).
        #[arg(long)]
        policy: Vec<String>,
        #[arg(long, default_value = links::DEFAULT_ADDR)]
        addr: String,
        /// Open this path first: a trace, a JSON action list, or action labels one a line.
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Write the design report (report.html, report.md, img/) for a study group.
    Report {
        #[command(flatten)]
        world: WorldArgs,
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// Variants checked at once (default: the machine's cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Test vectors.
    Vectors {
        #[command(subcommand)]
        which: VectorsCmd,
    },
    /// Check a trace (docs/trace.schema.json) against the model, step by step.
    ///
    /// Exit codes: 0 the trace conforms; 1 it diverges (the first divergence is printed: its
    /// line, the model's and the trace's outcome and facts, the model's state); 2 the input
    /// is malformed (not found, not JSON, no header, wrong format, unknown action, id out of
    /// range: the message names the line, and the column for JSON syntax).
    Replay {
        /// The trace, JSON Lines (`-` for standard input).
        trace: PathBuf,
        /// One JSON object instead of text (errors too).
        #[arg(long)]
        json: bool,
        /// Report every divergence, not only the first (the model goes on from its own state).
        #[arg(long)]
        keep_going: bool,
    },
    /// Drive our implementation along a trace's actions (in the trace's configuration) and
    /// write the trace it answers: outcomes and facts as the implementation showed them.
    Record {
        /// The trace whose actions to drive (`-` for standard input).
        trace: PathBuf,
        /// Write here (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of the implementation's keys.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Convert a trace to the current format version (phone-jpki-trace/2), every
    /// configuration field spelled out.
    Upgrade {
        /// The trace (`-` for standard input).
        trace: PathBuf,
        /// Write here (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Our implementation as a driver process: the driver protocol (docs/DRIVER.md) on
    /// standard input and output.
    Driver,
    /// Check that a conformance report (`conform --report`) was made against this model.
    VerifyReport {
        /// The report's JSON file.
        file: PathBuf,
    },
    /// Drive the implementation against the model in lockstep (replay, random, every edge);
    /// exit 1 on any divergence, with its report.
    Conform {
        /// World: reference, deep or single.
        #[arg(long, default_value = "reference")]
        world: String,
        /// Detours in the whole world, or `none` (overrides the world's).
        #[arg(long)]
        max_events: Option<String>,
        /// Random sequences to run (default 100 when --exhaustive is not given).
        #[arg(long)]
        random: Option<usize>,
        /// Longest random sequence.
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// Cover every edge of the model graph.
        #[arg(long)]
        exhaustive: bool,
        /// Seed of the random choices and of the implementation's keys.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Worker threads of the exhaustive run.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Stop the exhaustive run (incomplete) after this many states.
        #[arg(long)]
        max_states: Option<usize>,
        /// Stop the exhaustive run (incomplete) after this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
        /// Action-list JSON files to replay first (repeatable).
        #[arg(long)]
        replay: Vec<PathBuf>,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Drive this command (run by `sh -c`) over the driver protocol (docs/DRIVER.md)
        /// instead of our implementation in process.
        #[arg(long)]
        driver: Option<String>,
        /// Run one golden-vector case per edge class.
        #[arg(long)]
        classes: bool,
        /// Coverage-guided walks through every edge class (for worlds too large to replay
        /// every edge); --max-states and --timeout bound it.
        #[arg(long)]
        cover_classes: bool,
        /// Write a conformance report: FILE (JSON) and FILE with .md (Markdown).
        #[arg(long)]
        report: Option<PathBuf>,
        /// A policy the implementation realises (`default`, or an alternative such as
        /// revoke-auth-card); model-only ones are refused.
        #[arg(long, default_value = "default")]
        policy: String,
    },
    /// Run the demo scenario and write PEM files (see README).
    Demo {
        #[arg(long)]
        out: PathBuf,
    },
    /// A phone's SE as a virtual smart card for PC/SC middleware (vsmartcard vpcd).
    #[command(subcommand)]
    Card(card_cmd::CardCmd),
    /// The CA's publication point (CRL and CA certificate over HTTP on loopback).
    #[command(subcommand)]
    Ca(ca_cmd::CaCmd),
}

#[derive(Subcommand)]
enum VectorsCmd {
    /// Write golden vectors: trace files that together take every edge of the world's state
    /// graph, and manifest.json (counts per action and R-ID). Same bytes on every run.
    Export {
        /// Output directory (created).
        dir: PathBuf,
        /// `reference` (default), `single` or `deep` (deep is large).
        #[arg(long, default_value = "reference")]
        world: String,
        /// Take every edge, not one per edge class (reference: ~76,000 files, ~220 MB).
        #[arg(long)]
        all_edges: bool,
        /// `jsonl` (traces, default) or `itf` (Informal Trace Format, `*.itf.json`).
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// Detours in the whole world, or `none` (overrides the world's).
        #[arg(long)]
        max_events: Option<String>,
    },
    /// Run SCP03 vector files (shared/vectors/scp03 format), host and card side.
    Scp03 {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `--pin-known`: `none`, or persons `p0,p1` (each once, in any order; kept sorted).
fn parse_pin_known(v: &str) -> Result<Vec<PersonId>, String> {
    if v == "none" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in v.split(',') {
        let n = part
            .strip_prefix('p')
            .and_then(|n| n.parse::<u8>().ok())
            .ok_or_else(|| {
                format!("--pin-known: expected persons like p0,p1 or none, got {part:?} in {v:?}")
            })?;
        if out.contains(&PersonId(n)) {
            return Err(format!("--pin-known: p{n} is named twice in {v:?}"));
        }
        out.push(PersonId(n));
    }
    out.sort();
    Ok(out)
}

fn config(w: &WorldArgs, policies: &[String]) -> Result<Config, String> {
    let mut c = match w.world.as_str() {
        "deep" => Config::deep(),
        "reference" => Config::reference(),
        "single" => Config::single(),
        "new-phone" => Config::new_phone(),
        "storyline" => Config::storyline(),
        other => {
            return Err(format!(
                "--world: expected deep, reference, single, new-phone or storyline, got {other:?}"
            ))
        }
    };
    if let Some(kinds) = &w.kinds {
        c.kinds = match kinds.as_str() {
            "auth" => vec![Kind::Auth],
            "sign" => vec![Kind::Sign],
            "both" => vec![Kind::Auth, Kind::Sign],
            other => {
                return Err(format!(
                    "--kinds: expected auth, sign or both, got {other:?}"
                ))
            }
        };
    }
    // A world-wide bound: a number, or `none` for unbounded.
    let bound = |flag: &str, field: &mut Option<u8>, v: &Option<String>| -> Result<(), String> {
        if let Some(v) = v {
            *field = match v.as_str() {
                "none" => None,
                n => Some(n.parse().map_err(|_| {
                    format!("{flag}: expected a number 0..=255 or none, got {n:?}")
                })?),
            };
        }
        Ok(())
    };
    bound("--max-events", &mut c.max_events, &w.max_events)?;
    bound("--max-sessions", &mut c.max_sessions, &w.max_sessions)?;
    bound("--max-certs", &mut c.max_certs, &w.max_certs)?;
    let set = |field: &mut u8, v: Option<u8>| {
        if let Some(v) = v {
            *field = v;
        }
    };
    set(&mut c.persons, w.persons);
    if let Some(v) = &w.pin_known {
        c.pin_known = parse_pin_known(v)?;
        if let Some(p) = c.pin_known.iter().find(|p| p.0 >= c.persons) {
            return Err(format!(
                "--pin-known: {p} is not a person of the world (--persons {})",
                c.persons
            ));
        }
    } else {
        // THREAT-PIN-KNOWN names persons of the world; fewer persons keep those that remain.
        let persons = c.persons;
        c.pin_known.retain(|p| p.0 < persons);
    }
    set(&mut c.phones, w.phones);
    set(&mut c.max_card_generations, w.max_card_generations);
    set(&mut c.max_issuances, w.max_issuances);
    set(&mut c.max_app_installs, w.max_app_installs);
    set(&mut c.max_handovers, w.max_handovers);
    if let Some(t) = w.pin_tries {
        c.pin_tries = [t, t];
    }
    for p in policies {
        let v = Choice::from_name(p).ok_or_else(|| {
            let names: Vec<_> = Choice::all().iter().map(|v| v.name()).collect();
            format!(
                "--policy: unknown variant {p:?}; known: {}",
                names.join(", ")
            )
        })?;
        c = c.with_choice(v);
    }
    c.validate().map_err(|e| format!("configuration: {e}"))?;
    Ok(c)
}

fn run() -> Result<ExitCode, String> {
    let cli = Cli::parse();
    // A team's driver process may exit at any time: writing to it must fail with an error
    // the driver protocol reports (exit 2), not kill this process, so SIGPIPE stays ignored.
    if !matches!(
        cli.command,
        Command::Conform {
            driver: Some(_),
            ..
        }
    ) {
        restore_sigpipe();
    }
    match cli.command {
        Command::Check {
            world,
            policy,
            threads,
            symmetry,
            max_states,
            timeout,
            json,
            strict,
            html,
            cluster,
            itf,
        } => {
            if policy.iter().any(|p| p == "list") {
                print!("{}{}", variants::list(), alternatives::list());
                return Ok(ExitCode::SUCCESS);
            }
            let c = config(&world, &policy)?;
            let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let mut opts = CheckOptions {
                symmetry,
                max_states,
                timeout: timeout.map(Duration::from_secs),
                progress_line: live,
                ..CheckOptions::default()
            };
            if let Some(t) = threads {
                opts.threads = t.max(1);
            }
            if cluster.processes.is_some() {
                let vs = check_cmd::variants(&policy);
                return distributed_cmd::run(&c, &opts, &cluster, &vs, json, strict);
            }
            let r = check(&c, &opts, &mut |p| {
                if !live {
                    eprintln!(
                        "depth {:3}  {:>10} states  {:.1} s",
                        p.depth, p.unique_states, p.seconds
                    )
                }
            });
            if let Some(file) = html {
                report::write_atomic(&file, report::check_html(&c, &r).as_bytes())?;
            }
            if let Some(dir) = itf {
                itf::write_check(&c, &r, &dir)?;
            }
            Ok(check_cmd::finish(
                &c,
                &r,
                &check_cmd::variants(&policy),
                json,
                strict,
            ))
        }
        Command::Matrix {
            world,
            json,
            threads,
            max_states,
            timeout,
        } => {
            let base = config(&world, &[])?;
            let limits = (max_states, timeout.map(Duration::from_secs));
            let rows = matrix::run_within(&base, threads.unwrap_or_else(cores), true, limits);
            // The seeds' design alternatives (ALT-*), apart from the fault variants.
            let alts = alternatives::run(&base, threads.unwrap_or_else(cores), limits);
            if json {
                let mut v = matrix::json(&rows);
                if let serde_json::Value::Array(a) = &mut v {
                    a.extend(alternatives::json(&rows[0].report, &alts));
                }
                println!("{v}");
            } else {
                print!("{}", matrix::text(&rows));
                print!("{}", alternatives::table(&rows[0].report, &alts));
            }
            Ok(
                if rows.iter().all(|r| r.report.complete) && alts.iter().all(|(_, r)| r.complete) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                },
            )
        }
        Command::Explore {
            world,
            policy,
            addr,
            path,
        } => {
            let c = config(&world, &policy)?;
            let (c, actions) = match path {
                Some(p) => pathfile::read(&p, &c)?,
                None => (c, Vec::new()),
            };
            explorer::serve(&addr, &c, &actions)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            world,
            out,
            threads,
        } => {
            let base = config(&world, &[])?;
            println!(
                "{}",
                report::run(&base, &out, threads.unwrap_or_else(cores))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            trace,
            json,
            keep_going,
        } => Ok(interop::replay_cmd(&trace, json, keep_going)),
        Command::Record { trace, out, seed } => {
            Ok(interop::record_cmd(&trace, out.as_deref(), seed))
        }
        Command::Upgrade { trace, out } => Ok(interop::upgrade_cmd(&trace, out.as_deref())),
        Command::Driver => Ok(interop::driver_cmd()),
        Command::VerifyReport { file } => Ok(interop::verify_report_cmd(&file)),
        Command::Vectors {
            which:
                VectorsCmd::Export {
                    dir,
                    world,
                    all_edges,
                    format,
                    max_events,
                },
        } => export_cmd(&dir, &world, all_edges, &format, max_events),
        Command::Vectors {
            which: VectorsCmd::Scp03 { files },
        } => {
            // A vector that fails: exit 1 (stdout); a file that is not a vector file: exit 2
            // (stderr), whatever the other files gave.
            let (mut ok, mut malformed) = (true, false);
            for f in &files {
                match phone_jpki_impl::scp03::vectors::run_vector_file(f) {
                    Ok(r) => {
                        ok &= r.passed();
                        println!("{}: {r}", f.display());
                    }
                    Err(e) => {
                        malformed = true;
                        eprintln!("phone-jpki: {}: {e}", f.display());
                    }
                }
            }
            Ok(if malformed {
                ExitCode::from(2)
            } else if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Conform {
            world,
            max_events,
            random,
            steps,
            exhaustive,
            seed,
            threads,
            max_states,
            timeout,
            replay,
            json,
            driver,
            classes,
            cover_classes,
            report,
            policy,
        } => {
            let w = WorldArgs {
                world: world.clone(),
                persons: None,
                phones: None,
                kinds: None,
                pin_tries: None,
                max_issuances: None,
                max_card_generations: None,
                max_app_installs: None,
                max_handovers: None,
                max_events,
                max_sessions: None,
                max_certs: None,
                pin_known: None,
            };
            let mut c = config(&w, &[])?;
            c.policy = phone_jpki_checks::policy::by_name(&policy)
                .map_err(|e| format!("--policy: {e}"))?;
            let opts = phone_jpki_checks::conform::ConformOptions {
                world,
                replay,
                random: random.unwrap_or(if exhaustive || cover_classes { 0 } else { 100 }),
                steps,
                exhaustive,
                seed,
                threads,
                max_states,
                timeout: timeout.map(Duration::from_secs),
                json,
                driver,
                classes,
                cover_classes,
            };
            let (text, ok, figures) = phone_jpki_checks::conform::conform_json(&c, &opts)?;
            print!("{text}");
            if let Some(file) = report {
                interop::write_report(&file, &figures, ok)?;
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Card(cmd) => card_cmd::run(cmd),
        Command::Ca(cmd) => ca_cmd::run(cmd),
        Command::Demo { out } => {
            std::fs::create_dir_all(&out).map_err(|e| format!("--out {}: {e}", out.display()))?;
            let r = phone_jpki_impl::demo::demo(&out).map_err(|e| format!("demo: {e}"))?;
            println!("{}", phone_jpki_impl::demo::KEY_WARNING);
            println!("CA:  {}", r.ca.display());
            println!("CRL: {}", r.crl.display());
            for f in &r.certs {
                println!(
                    "{} serial {} {}",
                    f.path.display(),
                    f.serial,
                    if f.live { "live" } else { "revoked/held" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `phone-jpki vectors export`.
fn export_cmd(
    dir: &std::path::Path,
    world: &str,
    all_edges: bool,
    format: &str,
    max_events: Option<String>,
) -> Result<ExitCode, String> {
    if !matches!(format, "jsonl" | "itf") {
        return Err(format!("--format: expected jsonl or itf, got {format:?}"));
    }
    use phone_jpki_model::vectors::Coverage;
    let c = config(
        &WorldArgs {
            world: world.to_string(),
            persons: None,
            phones: None,
            kinds: None,
            pin_tries: None,
            max_issuances: None,
            max_card_generations: None,
            max_app_installs: None,
            max_handovers: None,
            max_events,
            max_sessions: None,
            max_certs: None,
            pin_known: None,
        },
        &[],
    )?;
    let cov = if all_edges {
        Coverage::AllEdges
    } else {
        Coverage::EdgeClasses
    };
    // The output location is checked before the (possibly long) export; files are
    // written atomically, so a full disk leaves no partial file.
    phone_jpki_impl::fsio::prepare_output_dir(dir)?;
    let mut x = phone_jpki_model::vectors::export(&c, cov);
    if format == "itf" {
        x.files = itf::vector_files(&x.files)?;
    }
    let mut bytes = 0usize;
    for (name, text) in &x.files {
        let p = dir.join(name);
        phone_jpki_impl::fsio::write_atomic(&p, text.as_bytes())?;
        bytes += text.len();
    }
    let m = &x.manifest;
    println!(
        "{} cases, {} steps, {} bytes in {}; {} states, {} edges ({} state-changing, {} accepted, {} refused), {} edge classes, {} edges taken",
        m.files,
        m.steps,
        bytes,
        dir.display(),
        m.states,
        m.edges.total,
        m.edges.state_changing,
        m.edges.accepted,
        m.edges.refused,
        m.classes,
        m.edges.covered
    );
    Ok(ExitCode::SUCCESS)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() -> ExitCode {
    match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("phone-jpki: {e}");
            ExitCode::from(2)
        }
    }
}

/// A closed pipe (`phone-jpki check | head`) ends the process quietly, as for any Unix tool,
/// instead of `println!` panicking on the broken pipe: Rust ignores SIGPIPE by default.
/// Not for `conform --driver`, which writes to a child process and must see its EPIPE.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

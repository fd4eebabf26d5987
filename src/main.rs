//! `phone-jpki`: model checking, exploration, SCP03 vectors and the demo scenario.

mod alternatives;

use clap::{Parser, Subcommand};
use phone_jpki_model::check::{check, CheckOptions, CheckReport};
use phone_jpki_model::explore::JpkiModel;
use phone_jpki_model::policy::Choice;
use phone_jpki_model::{Config, Kind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// same with 1 detour: the smallest world deciding every property) or `single` (1 person,
    /// 1 phone, auth, no world budgets) or `storyline` (every seed storyline fits: 4 certs, 3
    /// detours, the cards' PIN tries; too large for CI); the flags below override its fields.
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
    },
    /// Every policy variant against every property: the design-space table.
    Matrix {
        #[command(flatten)]
        world: WorldArgs,
        #[arg(long)]
        json: bool,
    },
    /// Serve the Stateright Explorer on the model.
    Explore {
        #[command(flatten)]
        world: WorldArgs,
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: String,
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
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
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
    },
    /// Run the demo scenario and write PEM files (see README).
    Demo {
        #[arg(long)]
        out: PathBuf,
    },
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
    },
    /// Run SCP03 vector files (shared/vectors/scp03 format), host and card side.
    Scp03 {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn config(w: &WorldArgs, policies: &[String]) -> Result<Config, String> {
    let mut c = match w.world.as_str() {
        "deep" => Config::deep(),
        "reference" => Config::reference(),
        "single" => Config::single(),
        "storyline" => Config::storyline(),
        other => {
            return Err(format!(
                "--world: expected deep, reference, single or storyline, got {other:?}"
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
    // THREAT-PIN-KNOWN names persons of the world; fewer persons keep those that remain.
    let persons = c.persons;
    c.pin_known.retain(|p| p.0 < persons);
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

fn print_table(r: &CheckReport) {
    println!(
        "{} unique states, {} generated, depth {}, {:.1} s, {}",
        r.unique_states,
        r.states,
        r.max_depth,
        r.seconds,
        if r.complete {
            "complete".to_string()
        } else {
            format!("INCOMPLETE ({:?})", r.cut)
        }
    );
    for p in &r.properties {
        let verdict = if p.holds { "ok" } else { "FAILED" };
        println!("{verdict:6} {:9?} {}", p.expectation, p.name);
        if let Some(path) = &p.path {
            if !p.holds || p.name.starts_with("SCN") || p.name.starts_with("RISK") {
                for (i, a) in path.iter().enumerate() {
                    println!("         {}. {a}", i + 1);
                }
            }
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            world,
            policy,
            threads,
            symmetry,
            max_states,
            timeout,
            json,
        } => {
            if policy.iter().any(|p| p == "list") {
                print!("{}", alternatives::policy_list());
                return Ok(ExitCode::SUCCESS);
            }
            let c = config(&world, &policy)?;
            let mut opts = CheckOptions {
                symmetry,
                max_states,
                timeout: timeout.map(Duration::from_secs),
                ..CheckOptions::default()
            };
            if let Some(t) = threads {
                opts.threads = t.max(1);
            }
            let r = check(&c, &opts, &mut |p| {
                eprintln!(
                    "depth {:3}  {:>10} states  {:.1} s",
                    p.depth, p.unique_states, p.seconds
                )
            });
            if json {
                let props: Vec<_> = r
                    .properties
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name,
                            "expectation": p.expectation,
                            "holds": p.holds,
                            "path": p.path.as_ref().map(|v| v.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
                        })
                    })
                    .collect();
                let out = serde_json::json!({
                    "complete": r.complete,
                    "unique_states": r.unique_states,
                    "states": r.states,
                    "max_depth": r.max_depth,
                    "seconds": r.seconds,
                    "properties": props,
                });
                println!("{out}");
            } else {
                print_table(&r);
            }
            Ok(if r.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Matrix { world, json } => {
            let base = config(&world, &[])?;
            let mut rows = Vec::new();
            let mut all_complete = true;
            // The fault variants (the model's self-test) and the seeds' alternatives (ALT-*).
            let variants: Vec<Option<Choice>> = std::iter::once(None)
                .chain(Choice::all().into_iter().map(Some))
                .collect();
            for v in &variants {
                let c = match v {
                    Some(v) => base.clone().with_choice(*v),
                    None => base.clone(),
                };
                let r = check(&c, &CheckOptions::default(), &mut |_| {});
                all_complete &= r.complete;
                rows.push((*v, r));
            }
            if json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|(v, r)| {
                        serde_json::json!({
                            "policy": v.map_or("default", |v| v.name()),
                            "kind": v.map(|v| v.kind()),
                            "sentence": v.map(|v| v.sentence()),
                            "expected": v.map(|v| v.expected()),
                            "measured": v.map(|_| phone_jpki_model::policy::measure(&rows[0].1, r)),
                            "complete": r.complete,
                            "properties": r.properties.iter().map(|p| serde_json::json!({
                                "name": p.name, "holds": p.holds,
                                "path_len": p.path.as_ref().map(|x| x.len()),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                let ids: Vec<String> = rows[0]
                    .1
                    .properties
                    .iter()
                    .filter(|p| !p.name.starts_with("ACT-"))
                    .map(|p| p.name.split(':').next().unwrap_or("").to_string())
                    .collect();
                println!(
                    "policy \\ property: holds (ok) / broken (len of shortest counterexample)"
                );
                for (v, r) in &rows {
                    if matches!(v, Some(Choice::Alternative(_))) {
                        continue;
                    }
                    let name = v.map_or("default", |v| v.name());
                    let cells: Vec<String> = r
                        .properties
                        .iter()
                        .filter(|p| !p.name.starts_with("ACT-"))
                        .zip(&ids)
                        .map(|(p, id)| match (&p.holds, &p.path) {
                            (true, _) => format!("{id}=ok"),
                            (false, Some(path)) => format!("{id}=BROKEN({})", path.len()),
                            (false, None) => format!("{id}=UNREACHED"),
                        })
                        .collect();
                    println!("{name:26} {}", cells.join(" "));
                }
                let alts: Vec<(Choice, CheckReport)> = rows
                    .iter()
                    .filter_map(|(v, r)| v.map(|v| (v, r.clone())))
                    .collect();
                print!("{}", alternatives::alternatives_table(&rows[0].1, &alts));
            }
            Ok(if all_complete {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Explore { world, addr } => {
            let c = config(&world, &[])?;
            use stateright::Model;
            // stateright's serve() panics on an address it cannot bind: check it first so a
            // bad or busy --addr is a plain error.
            match std::net::TcpListener::bind(addr.as_str()) {
                Ok(probe) => drop(probe),
                Err(e) => return Err(format!("--addr {addr}: cannot listen there: {e}")),
            }
            println!("Stateright Explorer on http://{addr} (Ctrl-C to stop)");
            // serve() answers requests until the process is stopped.
            let _checker = JpkiModel { config: c }.checker().serve(addr.as_str());
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        Command::Replay { trace, json } => replay_cmd(&trace, json),
        Command::Vectors {
            which:
                VectorsCmd::Export {
                    dir,
                    world,
                    all_edges,
                },
        } => export_cmd(&dir, &world, all_edges),
        Command::Vectors {
            which: VectorsCmd::Scp03 { files },
        } => {
            let mut ok = true;
            for f in &files {
                match phone_jpki_impl::scp03::vectors::run_vector_file(f) {
                    Ok(r) => {
                        ok &= r.passed();
                        println!("{}: {r}", f.display());
                    }
                    Err(e) => {
                        ok = false;
                        println!("{}: ERROR {e}", f.display());
                    }
                }
            }
            Ok(if ok {
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
            };
            let c = config(&w, &[])?;
            let opts = phone_jpki_checks::conform::ConformOptions {
                world,
                replay,
                random: random.unwrap_or(if exhaustive { 0 } else { 100 }),
                steps,
                exhaustive,
                seed,
                threads,
                max_states,
                timeout: timeout.map(Duration::from_secs),
                json,
            };
            let (text, ok) = phone_jpki_checks::conform::conform(&c, &opts)?;
            print!("{text}");
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Demo { out } => {
            std::fs::create_dir_all(&out).map_err(|e| format!("--out {}: {e}", out.display()))?;
            let r = phone_jpki_impl::demo::demo(&out).map_err(|e| format!("demo: {e}"))?;
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

/// `phone-jpki replay`: 0 conforms, 1 diverges, 2 malformed.
fn replay_cmd(path: &std::path::Path, json: bool) -> Result<ExitCode, String> {
    use phone_jpki_model::trace::{parse, replay, Verdict};
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| format!("stdin: {e}"))?;
        b
    } else {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let t = match parse(&bytes) {
        Ok(t) => t,
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"verdict": "malformed", "line": e.line(), "message": e.to_string(), "error": e})
                );
            } else {
                eprintln!("phone-jpki: {}: {e}", path.display());
            }
            return Ok(ExitCode::from(2));
        }
    };
    match replay(&t) {
        Verdict::Conforms(n) => {
            if json {
                println!("{}", serde_json::json!({"verdict": "conforms", "steps": n}));
            } else {
                println!("{}: conforms ({n} steps)", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Verdict::Diverges(d) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"verdict": "diverges", "divergence": d})
                );
            } else {
                print!("{}: {d}", path.display());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `phone-jpki vectors export`.
fn export_cmd(dir: &std::path::Path, world: &str, all_edges: bool) -> Result<ExitCode, String> {
    use phone_jpki_model::vectors::Coverage;
    let c = match world {
        "reference" => Config::reference(),
        "single" => Config::single(),
        "deep" => Config::deep(),
        other => {
            return Err(format!(
                "--world: expected reference, single or deep, got {other:?}"
            ))
        }
    };
    let cov = if all_edges {
        Coverage::AllEdges
    } else {
        Coverage::EdgeClasses
    };
    let x = phone_jpki_model::vectors::export(&c, cov);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut bytes = 0usize;
    for (name, text) in &x.files {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
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

fn main() -> ExitCode {
    match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("phone-jpki: {e}");
            ExitCode::from(2)
        }
    }
}

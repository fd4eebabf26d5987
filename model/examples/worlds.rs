//! Measure a world once: `cargo run --release -p phone-jpki-model --example worlds -- NAME
//! [SYMMETRY]` prints the state count, time, peak memory and every verdict (scripts only; no
//! test pins these figures).

use phone_jpki_model::check::{check, CheckOptions};
use phone_jpki_model::Config;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("reference", |s| s.as_str());
    let config = match name {
        "reference" => Config::reference(),
        "deep" => Config::deep(),
        "single" => Config::single(),
        "new-phone" => Config::new_phone(),
        "storyline" => Config::storyline(),
        other => {
            eprintln!(
                "worlds: unknown world {other:?} (reference, deep, single, new-phone, storyline)"
            );
            std::process::exit(2);
        }
    };
    let opts = CheckOptions {
        symmetry: args.get(1).is_some_and(|s| s == "sym"),
        ..CheckOptions::default()
    };
    let r = check(&config, &opts, &mut |p| {
        eprintln!(
            "depth {} states {} {:.1}s",
            p.depth, p.unique_states, p.seconds
        )
    });
    println!(
        "{name}: complete={} unique_states={} edges={} depth={} seconds={:.1} peak_rss_kib={}",
        r.complete,
        r.unique_states,
        r.states,
        r.max_depth,
        r.seconds,
        peak_rss_kib()
    );
    for p in &r.properties {
        println!(
            "  {} {} {}",
            if p.holds { "ok  " } else { "FAIL" },
            p.name.split(':').next().unwrap_or(""),
            p.path.as_ref().map_or(String::new(), |path| path
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" "))
        );
    }
}

/// Peak resident set of this process (Linux `VmHWM`), 0 where unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

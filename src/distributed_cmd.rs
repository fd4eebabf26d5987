//! `check --processes N --process I --hosts FILE`: the check across processes on timely
//! dataflow (see `phone_jpki_model::engine::distributed`); process 0 prints the report.

use phone_jpki_model::check::CheckOptions;
use phone_jpki_model::engine::distributed::{self, Cluster};
use phone_jpki_model::{Config, Variant};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Run across this many processes (with --process and --hosts); `--threads` workers each.
    #[arg(long)]
    pub processes: Option<usize>,
    /// This process's index, 0..processes (process 0 prints the report).
    #[arg(long)]
    pub process: Option<usize>,
    /// A file of one `host:port` per line, process 0 first (timely's hosts file).
    #[arg(long)]
    pub hosts: Option<PathBuf>,
}

pub fn run(
    c: &Config,
    opts: &CheckOptions,
    args: &ClusterArgs,
    vs: &[Variant],
    json: bool,
    strict: bool,
) -> Result<ExitCode, String> {
    let processes = args.processes.unwrap_or(1);
    let process = args.process.unwrap_or(0);
    if processes == 0 {
        return Err("--processes: expected at least 1".into());
    }
    if process >= processes {
        return Err(format!("--process: expected 0..{processes}, got {process}"));
    }
    let hosts = match &args.hosts {
        Some(file) => distributed::read_hosts(file)?,
        None if processes == 1 => vec!["127.0.0.1:0".to_string()],
        None => return Err("--hosts: needed with --processes above 1".into()),
    };
    if hosts.len() != processes {
        return Err(format!(
            "--hosts: {} lines for --processes {processes}",
            hosts.len()
        ));
    }
    let cluster = Cluster {
        hosts,
        process,
        threads: opts.threads,
    };
    // timely's networking prints its connection notes on standard output; keep that for the
    // report alone.
    let report = {
        let _quiet = StdoutToStderr::new();
        distributed::run(c, opts, &cluster)?
    };
    match report {
        Some(r) => Ok(crate::check_cmd::finish(c, &r, vs, json, strict)),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// While alive, standard output goes to standard error.
struct StdoutToStderr(Option<i32>);

impl StdoutToStderr {
    fn new() -> StdoutToStderr {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // SAFETY: dup/dup2 on the process's own standard descriptors; no Rust object owns
        // fd 1, and the saved copy is restored and closed in drop.
        let saved = unsafe { libc::dup(1) };
        if saved < 0 || unsafe { libc::dup2(2, 1) } < 0 {
            return StdoutToStderr(None);
        }
        StdoutToStderr(Some(saved))
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        if let Some(saved) = self.0 {
            // SAFETY: as in new; `saved` is the descriptor dup returned there.
            unsafe {
                libc::dup2(saved, 1);
                libc::close(saved);
            }
        }
    }
}

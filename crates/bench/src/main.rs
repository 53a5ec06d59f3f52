//! `livestream-bench`: measures the brief's performance budgets (§6) on this
//! machine with the real binaries and servers, compares our capture with
//! OBS Studio and screen recording, and times the audience's round trip.
//! Each probe runs several times in its own temp dir; the report gives
//! every figure as min / median / max over the runs.
//!
//! Prints the report as JSON on stdout and a table on stderr, and writes
//! both, with plots, to `--out`. Run it through `scripts/bench.sh`, which
//! builds the binaries first.

mod plot;
mod probes;
mod report;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use crate::report::ProbeResult;

/// Measures the brief's budgets, the comparison with OBS Studio and screen
/// recording, and the audience's round trip.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Runs of each probe (the long `drops` stream runs once).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Length of the `drops` stream, in seconds.
    #[arg(long, default_value_t = 300)]
    long: u64,
    /// Length of each measuring window of the other probes, in seconds.
    #[arg(long, default_value_t = 10)]
    window: u64,
    /// Chat posts per second into the room of the `room fanout` probes.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    room_posts: u32,
    /// Gifts each run of the `audience round trip` probe times.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..))]
    gifts: u16,
    /// Only the probes whose name contains one of these (repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// List the probes and exit.
    #[arg(long)]
    list: bool,
    /// Where the report (report.json, report.md) and the plots go.
    #[arg(long, default_value = "bench-report")]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let probes: Vec<_> = probes::all()
        .into_iter()
        .filter(|p| args.only.is_empty() || args.only.iter().any(|o| p.name.contains(o.as_str())))
        .collect();
    if args.list || probes.is_empty() {
        for probe in &probes {
            println!("{}: {}", probe.name, probe.what);
        }
        if probes.is_empty() {
            eprintln!("livestream-bench: no probe matches {:?}", args.only);
            return std::process::ExitCode::from(2);
        }
        return std::process::ExitCode::SUCCESS;
    }
    if let Err(err) = std::fs::create_dir_all(&args.out) {
        eprintln!("livestream-bench: {}: {err}", args.out.display());
        return std::process::ExitCode::FAILURE;
    }
    // A failing run's panic message goes into the report (and the progress
    // line); the default hook would print it, with a backtrace, in between.
    std::panic::set_hook(Box::new(|_| {}));
    let settings = probes::Settings {
        long_seconds: args.long,
        window_seconds: args.window,
        room_posts_per_second: args.room_posts,
        round_trip_gifts: usize::from(args.gifts),
    };
    let results: Vec<ProbeResult> = probes
        .iter()
        .map(|probe| run_probe(probe, &settings, if probe.once { 1 } else { args.runs }))
        .collect();

    let report = report::to_json(&machine(), &results);
    let table = report::table(&results);
    let written = [
        ("report.json", format!("{report:#}\n")),
        ("report.md", table.clone()),
    ]
    .into_iter()
    .map(|(file, text)| std::fs::write(args.out.join(file), text).map(|()| file.to_owned()))
    .collect::<Result<Vec<_>, _>>();
    let plots = plot::all(&args.out, &results);
    eprintln!("\n{table}");
    println!("{report}");
    match (written, plots) {
        (Ok(mut files), Ok(plots)) => {
            files.extend(plots);
            eprintln!("written to {}: {}", args.out.display(), files.join(", "));
            if results.iter().any(|r| !r.errors.is_empty()) {
                eprintln!("livestream-bench: some runs failed (see the table)");
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        (Err(err), _) => {
            eprintln!("livestream-bench: writing the report: {err}");
            std::process::ExitCode::FAILURE
        }
        (_, Err(err)) => {
            eprintln!("livestream-bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a probe `runs` times, each in a fresh temp dir; a run that panics is
/// recorded as failed with its message, and the others go on.
fn run_probe(probe: &probes::Probe, settings: &probes::Settings, runs: usize) -> ProbeResult {
    let mut result = ProbeResult {
        name: probe.name.clone(),
        what: probe.what.to_owned(),
        runs: Vec::new(),
        errors: Vec::new(),
    };
    for n in 1..=runs {
        eprint!("{}: run {n}/{runs} … ", probe.name);
        let _ = std::io::stderr().flush();
        let started = Instant::now();
        let outcome = tempfile::Builder::new()
            .prefix("livestream-bench.")
            .tempdir()
            .map_err(|err| format!("temp dir: {err}"))
            .and_then(|dir| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (probe.run)(dir.path(), settings)
                }))
                .map_err(|panic| {
                    // Keep a failed run's logs for a look.
                    format!(
                        "{} (logs in {})",
                        panic_message(panic.as_ref()),
                        dir.keep().display()
                    )
                })
            });
        let secs = started.elapsed().as_secs_f64();
        match outcome {
            Ok(measured) => {
                eprintln!("{secs:.1} s");
                result.runs.push(measured);
            }
            Err(message) => {
                eprintln!("failed after {secs:.1} s: {message}");
                result.errors.push(message);
            }
        }
    }
    result
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".into())
}

/// What the figures were measured on.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map(|kb| (kb / 1024.0 / 1024.0).round());
    serde_json::json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
        "memory_gib": memory_gib,
        "build": "dev profile; dependencies and the plugin at opt-level 3 (as a game builds them)",
        "lp_num_threads": std::env::var("LP_NUM_THREADS").ok(),
    })
}

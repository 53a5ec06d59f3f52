//! The runner's command line: it lists its probes, and refuses a filter that
//! matches none. (Also makes `cargo test --workspace` build the binary that
//! `scripts/bench.sh` runs.)

use std::process::Command;

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_livestream-bench"))
}

#[test]
fn lists_every_probe() {
    let output = bench().arg("--list").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for probe in [
        "capture 640x360",
        "capture 1280x720",
        "ipc",
        "host 1280x720",
        "host 1920x1080",
        "latency 1280x720",
        "switch 1280x720",
        "av offset",
        "drops",
        "three ways",
        "audience round trip",
        "room fanout 1000 1 node in-memory",
    ] {
        assert!(
            text.contains(&format!("{probe}: ")),
            "{probe} missing from:\n{text}"
        );
    }
}

#[test]
fn an_unknown_probe_is_refused() {
    let output = bench().args(["--only", "nonsense"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no probe matches"));
}

//! The capture benchmark runs from a bundle made by `scripts/bench-bundle.sh`,
//! copied elsewhere and started with a scrubbed environment: what a GPU box
//! without our packages gets.

use std::process::Command;

use livestream_e2e::binary;
use livestream_testkit::script;

/// Libraries the bundle leaves to the machine: glibc's and the compiler
/// runtime's, which the machine's own GPU driver must share (the same list
/// as `scripts/bench-bundle.sh`).
const MACHINE_LIBRARIES: &[&str] = &[
    "linux-vdso.so.1",
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libresolv.so.2",
    "libutil.so.1",
    "libgcc_s.so.1",
];

#[test]
fn the_capture_probe_runs_from_a_bundle_with_nothing_installed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let built = binary("demo-dodge");
    let bin_dir = built.parent().expect("target/<profile>");
    let made = dir.path().join("made");
    let script = script("bench-bundle.sh");
    let status = Command::new(&script)
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg(&made)
        .status()
        .expect("run scripts/bench-bundle.sh");
    assert!(status.success(), "bench-bundle.sh: {status}");
    // A copy, as it would arrive on another machine.
    let bundle = dir.path().join("copied");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&made)
        .arg(&bundle)
        .status()
        .expect("cp");
    assert!(status.success());
    std::fs::remove_dir_all(&made).expect("remove the original");

    let libs: Vec<_> = std::fs::read_dir(bundle.join("lib"))
        .expect("bundle/lib")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert!(libs.iter().any(|lib| lib.ends_with("libvulkan.so.1")));
    let ldd = Command::new("ldd")
        .env("LD_LIBRARY_PATH", bundle.join("lib"))
        .arg(bundle.join("bin/demo-dodge"))
        .arg(bundle.join("bin/livestream-bench"))
        .args(&libs)
        .output()
        .expect("ldd");
    let ldd = String::from_utf8_lossy(&ldd.stdout);
    for line in ldd.lines().filter(|line| line.contains("=>")) {
        let name = line.split_whitespace().next().unwrap_or_default();
        assert!(
            line.contains(bundle.to_str().expect("utf-8 temp dir"))
                || MACHINE_LIBRARIES.contains(&name),
            "not from the bundle: {line}"
        );
    }

    let report = dir.path().join("report");
    let run = Command::new(bundle.join("run.sh"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", dir.path())
        .current_dir(dir.path())
        .args(["--only", "capture 640x360", "--runs", "1", "--out"])
        .arg(&report)
        .output()
        .expect("run.sh");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "run.sh failed: {stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .expect("report.json");
    let probe = &json["probes"]["capture 640x360"];
    let ratio = probe["figures"]["ratio_on_off"]["median"]
        .as_f64()
        .unwrap_or_else(|| panic!("no capture ratio: {probe}"));
    assert!(ratio > 0.5 && ratio < 3.0, "ratio {ratio}");
    assert_eq!(probe["figures"]["bytes_per_pixel"]["median"], 1.5);
    // `name, device type, driver`: lavapipe here, a GPU on a GPU box; a CPU
    // adapter converts on the CPU, a GPU in its shader.
    let adapter = probe["notes"]["render_adapter"][0].as_str().unwrap_or("");
    let device_type = ["Cpu", "DiscreteGpu", "IntegratedGpu", "VirtualGpu", "Other"]
        .into_iter()
        .find(|kind| adapter.contains(&format!(", {kind}, ")));
    assert!(device_type.is_some(), "adapter: {adapter:?}");
    let site = if device_type == Some("Cpu") {
        "CPU"
    } else {
        "GPU"
    };
    assert_eq!(
        probe["notes"]["conversion"],
        serde_json::json!([site]),
        "adapter: {adapter:?}"
    );
}

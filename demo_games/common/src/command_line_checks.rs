//! Checks of a demo game's command line, for each game's integration tests
//! (which also make `cargo test --workspace` build the game binaries that
//! the end-to-end suite, `tests/`, runs). `game` is the binary's path.

use std::process::Command;

/// Bad flags get a clear message and exit status 2, never a panic or a window.
pub fn bad_flags_are_refused_clearly(game: &str) {
    for (args, expected) in [
        (&["--size", "10x10"][..], "each side must be 16..=7680"),
        (&["--size", "wide"][..], "expected WxH"),
        (&["--fps", "0"][..], "fps must be 1..=240"),
        (&["--duration=-3"][..], "duration must be seconds"),
    ] {
        let output = Command::new(game)
            .args(args)
            .output()
            .expect("run the game");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// `--help` lists the flags the host, the demo and the tests rely on.
pub fn help_lists_the_flags(game: &str) {
    let output = Command::new(game)
        .arg("--help")
        .output()
        .expect("run the game");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    for flag in ["--headless", "--size", "--fps", "--duration", "--name"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

/// The command-line tests of the demo game whose binary is `$binary`
/// (e.g. `"demo-snake"`): put it in the game's `tests/command_line.rs`.
#[macro_export]
macro_rules! command_line_tests {
    ($binary:literal) => {
        #[test]
        fn bad_flags_are_refused_clearly() {
            $crate::command_line_checks::bad_flags_are_refused_clearly(env!(concat!(
                "CARGO_BIN_EXE_",
                $binary
            )));
        }

        #[test]
        fn help_lists_the_flags() {
            $crate::command_line_checks::help_lists_the_flags(env!(concat!(
                "CARGO_BIN_EXE_",
                $binary
            )));
        }
    };
}

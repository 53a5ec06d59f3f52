//! `demo-dodge`'s command line.

#[path = "../../shared/command_line_tests.rs"]
mod command_line_tests;

const GAME: &str = env!("CARGO_BIN_EXE_demo-dodge");

#[test]
fn bad_flags_are_refused_clearly() {
    command_line_tests::bad_flags_are_refused_clearly(GAME);
}

#[test]
fn help_lists_the_flags() {
    command_line_tests::help_lists_the_flags(GAME);
}

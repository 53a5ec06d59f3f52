//! `demo-snake`'s command line.

use demo_common::command_line_checks;

const GAME: &str = env!("CARGO_BIN_EXE_demo-snake");

#[test]
fn bad_flags_are_refused_clearly() {
    command_line_checks::bad_flags_are_refused_clearly(GAME);
}

#[test]
fn help_lists_the_flags() {
    command_line_checks::help_lists_the_flags(GAME);
}

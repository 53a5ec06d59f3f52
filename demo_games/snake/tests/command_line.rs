//! `demo-snake`'s command line.

demo_common::command_line_tests!("demo-snake");

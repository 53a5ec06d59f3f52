//! `demo-dodge`'s command line.

demo_common::command_line_tests!("demo-dodge");

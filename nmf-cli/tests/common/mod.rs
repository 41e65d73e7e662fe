//! Helpers shared by the end-to-end tests of the `nmf` binary.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `nmf` binary built for these tests.
pub fn nmf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nmf"))
        .args(args)
        .output()
        .expect("nmf runs")
}

/// A path below the repository root.
pub fn repo(rel: &str) -> String {
    format!("{}/../{}", env!("CARGO_MANIFEST_DIR"), rel)
}

/// A file's text, or a panic naming the file.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Asserts success, showing stderr otherwise.
pub fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

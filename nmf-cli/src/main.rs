//! `nmf`: the command line of nmf-rs. See `nmf --help` and CONTRACT.md.

use std::process::ExitCode;

use clap::Parser as _;
use nmf_cli::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as clap formats them.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // Usage errors: one line, exit 2 (clap's own report spans several lines).
            let text = e.render().to_string();
            let reason: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:"))
                .collect();
            eprintln!("nmf: error: {}", reason.join(" ").trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    // A panic is a bug, never the user's fault: report it in one line, exit 1.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let loc = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("nmf: internal error: {msg}{loc}");
    }));
    let outcome = std::panic::catch_unwind(|| match cli.command {
        Command::Fit(args) => nmf_cli::fit::run(&args),
        Command::Transform(args) => nmf_cli::transform::run(&args),
        Command::Simulate(args) => nmf_cli::simulate::run(&args),
        Command::Compare(args) => nmf_cli::compare::run(&args),
        Command::Contrast(args) => nmf_cli::contrast::run(&args),
        Command::Rank(args) => nmf_cli::rank::run(&args),
    });
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("nmf: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
        Err(_) => ExitCode::from(1),
    }
}

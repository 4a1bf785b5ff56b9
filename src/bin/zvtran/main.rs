//! The `zvtran` command line.

mod probe;
mod text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A pure-Rust ZeroMQ stack.
#[derive(Debug, Parser)]
#[command(name = "zvtran", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Probe(probe::Args),
}

/// Exit statuses shared by every subcommand.
pub mod exit {
    /// A runtime failure: the peer refused us, the address is in use, and so on.
    pub const FAILURE: u8 = 1;
    /// A usage error (clap also exits 2 for its own).
    pub const USAGE: u8 = 2;
    /// Nothing arrived in time.
    pub const TIMEOUT: u8 = 3;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Probe(args) => probe::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("zvtran: {message}");
            ExitCode::from(code)
        }
    }
}

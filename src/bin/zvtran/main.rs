//! The `zvtran` command line.

mod beacon;
mod cat;
mod keygen;
mod perf;
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
    Beacon(beacon::Args),
    Cat(cat::Args),
    Keygen(keygen::Args),
    Perf(perf::Args),
    Probe(probe::Args),
}

/// Writes a line to stderr, ignoring a closed stderr: a tool must not panic because whoever
/// read its diagnostics went away.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
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
        Command::Beacon(args) => beacon::run(args),
        Command::Cat(args) => cat::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Perf(args) => perf::run(args),
        Command::Probe(args) => probe::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            note!("zvtran: {message}");
            ExitCode::from(code)
        }
    }
}

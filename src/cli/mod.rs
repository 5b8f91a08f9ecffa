//! Command-line interface: one `clap` subcommand per verb.
//!
//! # Layout
//! - `proof` — `meridian proof verify`, the offline proof checker of PROOFS.md.
//! - `serve` — `meridian serve`, the whole hub on embedded defaults.
//! - `log` — `meridian log inspect`.

mod log;
mod proof;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Meridian — an internet-of-blockchains hub.
#[derive(Debug, Parser)]
#[command(name = "meridian", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with proof documents offline.
    #[command(subcommand)]
    Proof(proof::ProofCommand),
    /// Run the hub: every chain, city relay, the commit log and the reference chain.
    Serve(serve::ServeArgs),
    /// Inspect the commit log.
    #[command(subcommand)]
    Log(log::LogCommand),
}

/// Parse the command line and run the chosen verb; the exit code is the verb's.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Proof(cmd) => proof::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Log(cmd) => log::run(cmd),
    }
}

//! Command-line interface: one `clap` subcommand per verb.
//!
//! # Layout
//! - `proof` — `meridian proof verify`, the offline proof checker of PROOFS.md.
//! - `serve` — `meridian serve`, the whole hub on embedded defaults.
//! - `log` — `meridian log inspect`.
//! - `client` — `meridian send`, `meridian status` (over the HTTP API).
//! - `config` — `meridian config check`.

mod client;
mod config;
mod log;
mod proof;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// 32 bytes written as 64 hex digits, optionally after `0x` (a transfer id, a relay-set hash).
fn hex32(s: &str) -> Option<[u8; 32]> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.len() != 64 {
        return None;
    }
    hex::decode(digits).ok()?.try_into().ok()
}

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
    /// Send a transfer between two configured chains through a running hub (against the
    /// built-in mock chains the hub makes the source-chain lock itself).
    Send(client::SendArgs),
    /// Show a transfer's status and timeline.
    Status(client::StatusArgs),
    /// Check the configuration files.
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Parse the command line and run the chosen verb; the exit code is the verb's.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Proof(cmd) => proof::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Log(cmd) => log::run(cmd),
        Command::Send(args) => client::send(args),
        Command::Status(args) => client::status(args),
        Command::Config(cmd) => config::run(cmd),
    }
}

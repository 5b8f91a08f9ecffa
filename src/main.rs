//! The `meridian` binary: the command-line edge of the hub. Errors become `anyhow` here and
//! nowhere else.

#![forbid(unsafe_code)]

mod cli;

#[allow(unused_imports)]
use meridian as _;

fn main() -> std::process::ExitCode {
    cli::run()
}

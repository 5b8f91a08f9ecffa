//! The `meridian` binary: the command-line edge of the hub. Errors become `anyhow` here and
//! nowhere else.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}

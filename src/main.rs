//! The `meridian` binary: the command-line edge of the hub. Errors become `anyhow` here and
//! nowhere else.

#![forbid(unsafe_code)]

mod cli;

// glibc malloc spent ~12% of the hub's CPU under load (consolidating freed request buffers
// across worker threads); mimalloc's per-thread heaps avoid that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}

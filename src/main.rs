//! The `meridian` binary: the command-line edge of the hub. Errors become `anyhow` here and
//! nowhere else.

#![forbid(unsafe_code)]

mod cli;

// glibc malloc spent ~12% of the hub's CPU under load (consolidating request buffers freed on
// other threads than allocated them); jemalloc's thread caches and arenas avoid that.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}

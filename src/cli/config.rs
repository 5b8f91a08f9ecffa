//! `meridian config check`: load every configuration file as `serve` would.

use clap::Subcommand;
use meridian::config::{load_tenants, Config};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check hub.toml, cities.toml, chains/*.toml and tenants.toml; a bad file is reported
    /// with the file, the key and the reason (exit 2).
    Check {
        /// Configuration directory (default: ./config, else config/ beside the binary).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(cmd: ConfigCommand) -> ExitCode {
    match cmd {
        ConfigCommand::Check { config } => {
            let dir = Config::locate(config.as_deref());
            let c = match Config::load(&dir) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let t = match load_tenants(&dir) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            println!(
                "ok: {}: listen {}, {} cities, {} chains, {} tenants{}",
                dir.display(),
                c.hub.hub.listen,
                c.cities.len(),
                c.chains.len(),
                t.tenants.len(),
                if t.admin_key_sha256.is_some() {
                    ", admin key set"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
    }
}

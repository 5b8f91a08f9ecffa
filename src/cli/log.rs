//! `meridian log inspect`: print the commit log's entries and the reference chain's head.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use meridian::config::Config;
use meridian::log::{decode_record, CommitLog, ReadOnlyLog};
use meridian::record::LogRecord;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print the log's entries (one line each) and the reference chain's head.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Data directory (default: hub.toml `hub.data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Configuration directory.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// First sequence number to print.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Most entries to print.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

pub fn run(cmd: LogCommand) -> ExitCode {
    let LogCommand::Inspect(args) = cmd;
    match inspect(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => {
            let dir = Config::locate(args.config.as_deref());
            Config::load(&dir)?.hub.hub.data_dir
        }
    };
    let path = data_dir.join("log.redb");
    if !path.is_file() {
        anyhow::bail!("no commit log at {}", path.display());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Read only: nothing in the data directory is written or created.
        let log =
            ReadOnlyLog::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let state = meridian::hub::replay(&log).await?;
        let entries = log.read(args.from, args.limit).await?;
        for (seq, bytes) in &entries {
            let rec: LogRecord = decode_record(bytes).with_context(|| format!("record {seq}"))?;
            println!("{seq:>10}  {:<16} {}", rec.kind(), describe(&rec));
        }
        println!("entries: {}", state.next_seq());
        println!("messages: {}", state.message_count());
        match state.blocks().last() {
            Some(b) => println!(
                "refchain head: height {} hash 0x{} log {}..{} root 0x{} {}",
                b.header.height,
                hex::encode(b.header.hash()),
                b.header.log_start,
                b.header.log_end,
                hex::encode(b.header.entries_root),
                if b.qc.is_some() {
                    "finalized"
                } else {
                    "awaiting quorum"
                }
            ),
            None => println!("refchain head: none"),
        }
        Ok(())
    })
}

fn describe(r: &LogRecord) -> String {
    match r {
        LogRecord::Accepted { msg, .. } => format!(
            "{} {}→{} nonce {} {} {} from {} to {}",
            msg.id,
            msg.source,
            msg.destination,
            msg.route_nonce,
            msg.amount,
            super::client::printable(&msg.asset),
            super::client::printable(&msg.sender),
            super::client::printable(&msg.recipient)
        ),
        LogRecord::BlockSealed { header } => format!(
            "height {} log {}..{} root 0x{}",
            header.height,
            header.log_start,
            header.log_end,
            hex::encode(header.entries_root)
        ),
        LogRecord::BlockFinalized { qc, .. } => format!(
            "height {} with {} signatures",
            qc.height,
            qc.signatures.len()
        ),
        LogRecord::Delivered { id, .. }
        | LogRecord::TimedOut { id, .. }
        | LogRecord::Refunded { id, .. } => id.to_string(),
        LogRecord::DeliveredBatch { items, .. } => match items.as_slice() {
            [(first, _), .., (last, _)] => format!("{} messages, {first} … {last}", items.len()),
            [(only, _)] => format!("1 message, {only}"),
            [] => "no messages".into(),
        },
        LogRecord::LightClient { chain, state } => format!("{chain} ({} bytes)", state.len()),
        LogRecord::RelaySetAdopted { relays } => format!(
            "{} relays, set hash {}",
            relays.len(),
            hex::encode(
                meridian::refchain::RelaySet {
                    relays: relays.clone()
                }
                .hash()
            )
        ),
    }
}

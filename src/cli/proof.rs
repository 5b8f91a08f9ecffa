//! `meridian proof verify FILE|-`: read one JSON proof document and say whether its claim holds.
//!
//! Contract (PROOFS.md): `valid` on stdout and exit 0; `invalid: <reason>` on stdout and exit 1;
//! `error: <reason>` on stderr and exit 2 for a document that cannot be read as a claim.

use clap::Subcommand;
use meridian::refchain::finality;
use meridian_proofs::hash::Hash32;
use meridian_proofs::{verify_document, Verdict};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Largest document read, so a stray `meridian proof verify /dev/zero` ends with an error.
const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Check one proof document: prints `valid` (exit 0), `invalid: REASON` (exit 1),
    /// or `error: REASON` on stderr (exit 2) for a malformed document.
    ///
    /// Formats: rfc6962, rfc6962-consistency, eth-header, eth-mpt, fisco-v2, fisco-v3,
    /// eosio-legacy, eosio-savanna, xuper, fabric-block, xrpl-ledger-header, xrpl-shamap,
    /// and meridian-finality (a message's finality proof from the hub).
    ///
    /// A meridian-finality document carries the relay set that signed it: its hash is printed
    /// on stderr, and `--relay-set` refuses any other set.
    Verify {
        /// The JSON document to check, or `-` for standard input.
        file: PathBuf,
        /// meridian-finality only: the hash of the relay set you trust (64 hex digits,
        /// optionally after 0x; the hub's `relay_set_hash`). Without it, any self-consistent
        /// relay set is accepted, including one the document's author made up.
        #[arg(long, value_name = "HEX", value_parser = parse_relay_set)]
        relay_set: Option<Hash32>,
    },
}

/// A relay-set hash: 64 hex digits, optionally after `0x`.
fn parse_relay_set(s: &str) -> Result<Hash32, String> {
    super::hex32(s).ok_or_else(|| "not 64 hex digits".into())
}

pub fn run(cmd: ProofCommand) -> ExitCode {
    match cmd {
        ProofCommand::Verify { file, relay_set } => verify(&file, relay_set.as_ref()),
    }
}

fn verify(file: &PathBuf, trusted: Option<&Hash32>) -> ExitCode {
    let text = match read_input(file) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    // The hub's own finality proofs need the hub's types (headers, quorum certificates).
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        if value.get("format").and_then(|f| f.as_str()) == Some(finality::FORMAT) {
            let doc = match finality::parse_document(value) {
                Ok(d) => d,
                Err(e) => return fail(&e),
            };
            // stdout is the verdict alone; the anchor goes beside it.
            eprintln!(
                "relay set {} ({} relays){}",
                hex::encode(doc.relay_set_hash()),
                doc.relays.len(),
                if trusted.is_some() {
                    ""
                } else {
                    "; not pinned: pass --relay-set HEX to require the set you trust"
                }
            );
            let verdict = match trusted {
                Some(t) => doc.verify_trusted(t),
                None => doc.verify(),
            };
            return match verdict {
                Ok(()) => {
                    println!("valid");
                    ExitCode::SUCCESS
                }
                Err(reason) => {
                    println!("invalid: {reason}");
                    ExitCode::from(1)
                }
            };
        }
    }
    if trusted.is_some() {
        return fail("--relay-set applies only to meridian-finality documents");
    }
    match verify_document(&text) {
        Ok(Verdict::Valid) => {
            println!("valid");
            ExitCode::SUCCESS
        }
        Ok(Verdict::Invalid(reason)) => {
            println!("invalid: {reason}");
            ExitCode::from(1)
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("error: {reason}");
    ExitCode::from(2)
}

fn read_input(file: &PathBuf) -> Result<String, String> {
    let mut bytes = Vec::new();
    let res = if file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_DOCUMENT_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut bytes))
    };
    res.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "{} is larger than {MAX_DOCUMENT_BYTES} bytes",
            file.display()
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.display()))
}
